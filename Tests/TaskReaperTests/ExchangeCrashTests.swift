import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Issue 11.2 after a crash: a taskreaper killed between its exchange and the put-back leaves
/// our finalization at the JSON and the harness's newer version in our temp. A plain
/// stray-temp removal would lose that version; the sweep's stray-temp rule settles the temp
/// by its name instead (StrayTempSettlement.swift).
final class ExchangeCrashTests: XCTestCase {
    var root: TemporaryDirectory!
    var dir: String!
    var session: DirectoryHandle!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        session = try DirectoryHandle.open(root: dir)
    }

    /// What a crash right after our commit exchange leaves: our finalized version `B` at the
    /// JSON, `displaced` in the temp of a taskreaper that is gone (or, `ours`, of this very
    /// process: a put-back that gave up). Returns the temp's name.
    private func crashAfterTheExchange(displaced: String, ours: Bool = false, ageMs: UInt64 = 2 * BundleFixture.hour) throws -> String {
        let startedAt = BundleFixture.nowMs() - 60_000
        _ = try BundleFixture.write(dir, "A", BundleFixture.schema4(taskID: "bgb-00000001", status: "running", startedAt: startedAt))
        _ = try BundleFixture.write(dir, "B", BundleFixture.schema4(taskID: "bgb-00000001", status: "failed", startedAt: startedAt,
                                                                    extra: [("written_by", "\"taskreaper\"")]))
        _ = try BundleFixture.write(dir, "C", BundleFixture.schema4(taskID: "bgb-00000001", status: "completed", startedAt: startedAt,
                                                                    exitCode: 0, extra: [("written_by", "\"harness\"")]))
        let intent = ExchangeIntent(.commit, put: FileDigest(try XCTUnwrap(try session.status("B"))),
                                    expect: FileDigest(try XCTUnwrap(try session.status("A"))))
        let gone = try HarnessProcess.exited()
        let temp = ".bgb-00000001.json.tmp.\(ours ? getpid() : gone.pid).x\(intent.hex)"
        XCTAssertEqual(rename(dir + "/B", dir + "/bgb-00000001.json"), 0)
        XCTAssertEqual(rename(dir + "/" + displaced, dir + "/" + temp), 0)
        try BundleFixture.setModified(dir + "/" + temp, ageMs: ageMs)
        for name in ["A", "C"] { _ = unlink(dir + "/" + name) }
        return temp
    }

    func testTheHarnessesNewerVersionInOurTempIsPutBack() throws {
        let temp = try crashAfterTheExchange(displaced: "C")
        let run = try sweep(root.path, policy: immediate())
        let json = parse(dir + "/bgb-00000001.json")
        XCTAssertEqual(json["written_by"] as? String, "harness", "the harness's version is back")
        XCTAssertEqual(json["status"] as? String, "completed")
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        let message = run.log.records.withLock { $0.map(\.1) }.first { $0.contains(temp) } ?? ""
        XCTAssertTrue(message.contains("the newer version it held is back at"), message)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["bgb-00000001.json"])
    }

    func testTheOldContentInOurTempIsRemovedAndOurFinalizationStays() throws {
        _ = try crashAfterTheExchange(displaced: "A")
        let run = try sweep(root.path, policy: immediate())
        let json = parse(dir + "/bgb-00000001.json")
        XCTAssertEqual(json["written_by"] as? String, "taskreaper", "our committed finalization stays")
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertEqual(run.count(.finalize), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["bgb-00000001.json"])
    }

    func testAStepLeftByThisVeryProcessIsSettledByItsNextLook() throws {
        // watch is long-lived: its own pid is alive, yet nothing of it is in flight by the time
        // the stray-temp rule looks at the session.
        let temp = try crashAfterTheExchange(displaced: "C", ours: true)
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(parse(dir + "/bgb-00000001.json")["written_by"] as? String, "harness")
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertFalse(BundleFixture.exists(dir + "/" + temp))
    }

    func testDryRunOnlySaysSo() throws {
        let temp = try crashAfterTheExchange(displaced: "C")
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path, policy: immediate(), dryRun: true)
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertTrue(BundleFixture.exists(dir + "/" + temp))
    }

    /// The same crash in a task directory (CONTRACT §7.5): the step temp is `.aft-tmp-<hex>`
    /// in control/; the harness's newer record it holds is put back.
    func testATaskDirectoryRecordHeldInOurControlTempIsPutBack() throws {
        let id = TaskDirectoryFixture.id(1)
        let task = try TaskDirectoryFixture.write(in: dir, taskID: id, record: nil)
        let control = try DirectoryHandle.open(root: task + "/control")
        let startedAt = BundleFixture.nowMs() - 60_000
        let old = TaskDirectoryFixture.record(taskID: id, status: "running", startedAt: startedAt)
        let ours = TaskDirectoryFixture.record(taskID: id, status: "fate_unknown", startedAt: startedAt, extra: [("written_by", "\"taskreaper\"")])
        let theirs = TaskDirectoryFixture.record(taskID: id, status: "completed", startedAt: startedAt, exitCode: 0, extra: [("written_by", "\"harness\"")])
        _ = try BundleFixture.write(task + "/control", "A", old)
        _ = try BundleFixture.write(task + "/control", "B", ours)
        _ = try BundleFixture.write(task + "/control", "C", theirs)
        let intent = ExchangeIntent(.commit, put: FileDigest(try XCTUnwrap(try control.status("B"))),
                                    expect: FileDigest(try XCTUnwrap(try control.status("A"))))
        let temp = ".aft-tmp-" + intent.hex
        XCTAssertEqual(rename(task + "/control/B", task + "/control/metadata.json"), 0)
        XCTAssertEqual(rename(task + "/control/C", task + "/control/" + temp), 0)
        _ = unlink(task + "/control/A")
        // The crash was two minutes ago: a control temp is judged by its ctime too (which a
        // setModified cannot set back), so the pass runs two minutes later instead.
        let later = BundleFixture.nowMs() + 2 * 60_000
        let run = try sweep(root.path, policy: immediate(), clock: { later })
        let json = parse(task + "/control/metadata.json")
        XCTAssertEqual(json["written_by"] as? String, "harness", "the harness's record is back")
        XCTAssertEqual(json["status"] as? String, "completed")
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertFalse(BundleFixture.exists(task + "/control/" + temp))
    }
}
