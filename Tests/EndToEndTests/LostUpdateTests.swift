import Foundation
import TaskReaperTestSupport
import XCTest

/// Issue 11.2 end to end: the harness renames its newer JSON over the task at the last moment
/// before our replace (held there by `scripts/fault/writer-at-open.py`: fanotify pauses our
/// last look at the file until the harness's rename is done). With check-then-rename our
/// finalization of the older version replaced it (a lost update); now the harness's version
/// stays and the decision is made again from it.
final class LostUpdateTests: XCTestCase {
    var root: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    /// A running task whose process is gone and which has no marker (we finalize it failed),
    /// then a sweep during which the harness writes `harnessVersion(pid)` just before our replace.
    private func sweepRacingTheHarness(to harnessVersion: (Int32) -> String) throws -> (dir: String, run: TaskReaperBinary.Run) {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let gone = try HarnessProcess.exited()
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: BundleFixture.nowMs() - 60_000,
            childPID: gone.pid, pgid: gone.pid))
        let newer = try BundleFixture.write(root.path, "harness-version", harnessVersion(gone.pid))
        let writer = try FaultScript.start("writer-at-open.py", [dir + "/bgb-00000001.json", newer], until: "ready")
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--finalize-grace", "0s", "--log-target", "stderr"])
        XCTAssertEqual(writer.wait(), 0, "the harness's rename came at our last look: \(writer.text)")
        XCTAssertEqual(run.status, 0, run.stderr)
        return (dir, run)
    }

    func testTheHarnessesCompletedVersionIsNotReplacedByOurFailedOne() throws {
        let harnessVersion = BundleFixture.schema4(taskID: "bgb-00000001", status: "completed",
                                                  startedAt: BundleFixture.nowMs() - 60_000, exitCode: 0,
                                                  extra: [("written_by", "\"harness\"")])
        let (dir, run) = try sweepRacingTheHarness { _ in harnessVersion }
        XCTAssertEqual(BundleFixture.read(dir + "/bgb-00000001.json"), harnessVersion, "the harness's version is not lost")
        XCTAssertEqual(run.actions("finalize").count, 0, "decided again from the harness's completed state: nothing to do")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temp left")
    }

    func testTheDecisionIsMadeAgainFromTheHarnessesKillingVersion() throws {
        let (dir, run) = try sweepRacingTheHarness { pid in
            BundleFixture.schema4(taskID: "bgb-00000001", status: "killing", startedAt: BundleFixture.nowMs() - 60_000,
                                  childPID: pid, pgid: pid, extra: [("written_by", "\"harness\"")])
        }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/bgb-00000001.json"))) as? [String: Any])
        XCTAssertEqual(json["status"] as? String, "killed", "from the harness's killing, not our stale failed")
        XCTAssertEqual(json["written_by"] as? String, "harness")
        XCTAssertEqual(run.actions("finalize").first?["from"] as? String, "killing")
    }
}
