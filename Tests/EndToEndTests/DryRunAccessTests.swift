import Foundation
import TaskReaperTestSupport
import XCTest

/// A dry run promises only what the real run could do (issue 13.5): run as another user
/// (nobody, through setpriv) on root's tree, every "would" becomes an error naming the
/// directory, and the dry run exits 1, as the real run would fail.
final class DryRunAccessTests: XCTestCase {
    var root: TemporaryDirectory!

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run a command as another user") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("no setpriv") }
        root = try TemporaryDirectory()
        chmod(root.path, 0o755)
    }

    private func tree() throws -> (flat: String, sticky: String) {
        let flat = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000001", json: BundleFixture.schema4(
            taskID: "bgb-00000001", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000002", json: BundleFixture.schema4(
            taskID: "bgb-00000002", status: "running", startedAt: BundleFixture.nowMs() - 60_000, childPID: 999_999, pgid: 999_999), ageMs: 60_000)
        // World-writable but sticky: nobody may create here, not remove root's files.
        let sticky = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000aa")
        try BundleFixture.writeBundle(in: sticky, taskID: "bgb-00000003", json: BundleFixture.schema4(
            taskID: "bgb-00000003", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        chmod(sticky, 0o1777)
        for path in [root.path + "/opencode", root.path + "/opencode/bash-tasks", flat, root.path + "/pi", root.path + "/pi/bash-tasks"] {
            chmod(path, 0o755)
        }
        for file in ["bgb-00000001.json", "bgb-00000002.json"] { chmod(flat + "/" + file, 0o644) }
        chmod(sticky + "/bgb-00000003.json", 0o644)
        return (flat, sticky)
    }

    func testADryRunAsAnotherUserReportsWhatTheRealRunCouldNotDo() throws {
        let (flat, sticky) = try tree()
        let before = BundleFixture.snapshot(root.path)
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TaskReaperBinary.url.path]
        let run = try Subprocess.run(asNobody[0], Array(asNobody.dropFirst()) + ["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"],
                                     environment: TaskReaperBinary.isolated(["PATH": "/usr/bin:/bin"]))
        let lines = TaskReaperBinary.Run(status: run.status, stdout: run.stdoutText, stderr: run.stderrText)
        XCTAssertEqual(run.status, 1, run.stderrText)
        let errors = lines.actions("error")
        XCTAssertEqual(Set(errors.compactMap { $0["task_id"] as? String }), ["bgb-00000001", "bgb-00000002", "bgb-00000003"], run.stdoutText)
        XCTAssertTrue(errors.contains { ($0["message"] as? String ?? "").contains("could not remove \(flat)/bgb-00000001.json: no write permission on \(flat): Permission denied") },
                      run.stdoutText)
        XCTAssertTrue(errors.contains { ($0["error"] as? String ?? "").contains("\(sticky) is sticky") }, run.stdoutText)
        XCTAssertEqual(lines.actions("remove_bundle").count, 0)
        XCTAssertEqual(lines.actions("finalize").count, 0)
        XCTAssertTrue(run.stderrText.contains("taskreaper: error"), "errors on stderr too: \(run.stderrText)")
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)

        // As root, the same dry run promises it all, and the real run keeps the promise.
        let dry = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertEqual(dry.actions("remove_bundle").count, 2)
        XCTAssertEqual(dry.actions("finalize").count, 1)
        let real = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr"])
        XCTAssertEqual(real.status, 0, real.stderr)
        XCTAssertEqual(real.actions("remove_bundle").count, 2)
    }
}
