import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Issue 11.5, names are bytes: sessions, harness directories, temps and quarantined entries
/// whose names are not UTF-8 are handled by the rules every other name gets, reached by their
/// exact bytes and reported in their escaped form (`\xNN`, `FileName`). Two such names that
/// decode to one lossy String used to alias one directory, reconciled twice at once.
final class ByteNameTests: TreeTestCase {
    var tree: String { root.path + "/opencode/bash-tasks" }

    /// A session built under a UTF-8 name (Foundation's paths), then renamed to `bytes`:
    /// a delivered bundle past the retention, and a running task whose process is gone.
    private func makeSession(_ bytes: [UInt8], gone: HarnessProcess) throws {
        let staging = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "staging")
        let old = BundleFixture.nowMs() - 2 * BundleFixture.hour
        try BundleFixture.writeBundle(in: staging, taskID: "bgb-00000001",
                                      json: BundleFixture.schema4(taskID: "bgb-00000001", status: "completed", startedAt: old,
                                                                  completionDelivered: true, exitCode: 0),
                                      members: [(.stdout, "out"), (.exit, "0")], ageMs: 2 * BundleFixture.hour)
        try BundleFixture.writeBundle(in: staging, taskID: "bgb-00000002",
                                      json: BundleFixture.schema4(taskID: "bgb-00000002", status: "running", startedAt: gone.startedAt,
                                                                  childPID: gone.pid, pgid: gone.pid))
        XCTAssertTrue(RawPath.rename(Array(staging.utf8), RawPath.path(tree, bytes)))
    }

    private func sessions(_ run: SweepRun, _ kind: ActionKind) -> [String] {
        run.log.actions(kind).compactMap { $0["TASKREAPER_SESSION"]?.description }.sorted()
    }

    /// Both decode to "\u{FFFD}\u{FFFD}": each is its own session, reconciled once.
    func testSessionsNamedInBytesAreReconciledEachOnceAndNamedEscaped() throws {
        let gone = try HarnessProcess.exited()
        try makeSession([0xff, 0xfe], gone: gone)
        try makeSession([0xff, 0xfd], gone: gone)
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.error), 0)
        XCTAssertEqual(sessions(run, .finalize), ["\\xff\\xfd", "\\xff\\xfe"], "each finalized once, the reports differ")
        XCTAssertEqual(sessions(run, .removeBundle), ["\\xff\\xfd", "\\xff\\xfe"])
        XCTAssertEqual(Set(run.log.actions(.finalize).compactMap { $0["TASKREAPER_PATH"]?.description }),
                       [tree + "/\\xff\\xfe/bgb-00000002.json", tree + "/\\xff\\xfd/bgb-00000002.json"])
        for bytes: [UInt8] in [[0xff, 0xfe], [0xff, 0xfd]] {
            let record = RawPath.json(RawPath.path(tree, bytes, Array("bgb-00000002.json".utf8)))
            XCTAssertEqual(record?["status"] as? String, "failed")
            XCTAssertEqual(record?["status_reason"] as? String, "process exited without exit marker")
            for member in ["json", "stdout", "exit"] {
                XCTAssertFalse(RawPath.exists(RawPath.path(tree, bytes, Array("bgb-00000001.\(member)".utf8))), member)
            }
        }
        // Dry run of the next pass: nothing left to do there.
        XCTAssertEqual(try sweep(root.path, policy: immediate()).count(.finalize), 0)
    }

    func testADryRunOverNamesInBytesTouchesNothing() throws {
        let gone = try HarnessProcess.exited()
        try makeSession([0xff, 0xfe], gone: gone)
        XCTAssertTrue(RawPath.write(RawPath.path(session, [0x2e, 0xff] + Array(".json.tmp.\(gone.pid).bgb-1".utf8)), "{", ageMs: BundleFixture.hour))
        let before = RawPath.snapshot(root.path)
        let run = try sweep(root.path, policy: immediate(), dryRun: true)
        XCTAssertEqual(run.count(.finalize), 1)
        XCTAssertEqual(run.count(.removeBundle), 1)
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertEqual(RawPath.snapshot(root.path), before, "byte-identical")
    }

    func testAnEmptySessionNamedInBytesIsRemovedOnceOld() throws {
        let empty = RawPath.path(tree, [0xc3, 0x28])
        XCTAssertTrue(RawPath.makeDirectory(empty))
        XCTAssertTrue(RawPath.setModified(empty, ageMs: 2 * BundleFixture.hour))
        let run = try sweep(root.path)
        XCTAssertEqual(run.log.actions(.removeSessionDir).compactMap { $0["TASKREAPER_PATH"]?.description }, [tree + "/\\xc3("])
        XCTAssertFalse(RawPath.exists(empty))
    }

    /// `.<name>.tmp.<pid>.<id>`: `<name>` is free, so a temp can be named in bytes; it is
    /// judged by the rule's age and writer as any other.
    func testAStrayTempNamedInBytesIsRemovedWhenOldAndKeptWhenYoung() throws {
        let gone = try HarnessProcess.exited()
        let old = RawPath.path(session, [0x2e, 0xc3, 0x28] + Array(".json.tmp.\(gone.pid).bgb-1".utf8))
        let young = RawPath.path(session, [0x2e, 0xff] + Array(".json.tmp.\(gone.pid).bgb-1".utf8))
        XCTAssertTrue(RawPath.write(old, "{", ageMs: 2 * 60_000))
        XCTAssertTrue(RawPath.write(young, "{"))
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.error), 0)
        XCTAssertEqual(run.log.actions(.removeStrayTemp).compactMap { $0["TASKREAPER_PATH"]?.description },
                       [session + "/.\\xc3(.json.tmp.\(gone.pid).bgb-1"])
        XCTAssertFalse(RawPath.exists(old))
        XCTAssertTrue(RawPath.exists(young), "a minute has not passed")
        XCTAssertEqual(run.count(.removeSessionDir), 0, "the young temp keeps its session")
    }

    /// Any directory of a root is a harness's, whatever its name; a name in bytes has no
    /// aft.db rows (the harness names its rows with strings), but its tree is reconciled.
    func testATreeUnderAHarnessDirectoryNamedInBytesIsReconciled() throws {
        let gone = try HarnessProcess.exited()
        try makeSession([0x30], gone: gone)
        XCTAssertTrue(RawPath.rename(Array((root.path + "/opencode").utf8), RawPath.path(root.path, [0x6f, 0xff])))
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.error), 0)
        XCTAssertEqual(run.log.actions(.finalize).compactMap { $0["TASKREAPER_HARNESS"]?.description }, ["o\\xff"])
        XCTAssertEqual(run.log.actions(.removeBundle).compactMap { $0["TASKREAPER_PATH"]?.description },
                       [root.path + "/o\\xff/bash-tasks/0/bgb-00000001.json"])
        XCTAssertEqual(RawPath.json(RawPath.path(root.path, [0x6f, 0xff], Array("bash-tasks/0/bgb-00000002.json".utf8)))?["status"] as? String, "failed")
    }

    /// The harness itself quarantines names that are not UTF-8 (`<name>.invalid-<16 hex>`).
    func testQuarantinedEntriesNamedInBytesExpire() throws {
        let quarantine = root.path + "/opencode/bash-tasks-quarantine"
        try FileManager.default.createDirectory(atPath: quarantine, withIntermediateDirectories: true)
        let sessionQuarantine = RawPath.path(quarantine, [0xfe])
        XCTAssertTrue(RawPath.makeDirectory(sessionQuarantine))
        let entry = RawPath.path(quarantine, [0xfe], [0xff] + Array(".invalid-0123456789abcdef".utf8))
        let notOurs = RawPath.path(quarantine, [0xfe], [0xff] + Array(".notes".utf8))
        XCTAssertTrue(RawPath.write(entry, "x", ageMs: 40 * 24 * BundleFixture.hour))
        XCTAssertTrue(RawPath.write(notOurs, "x", ageMs: 40 * 24 * BundleFixture.hour))
        let run = try sweep(root.path)
        XCTAssertEqual(run.log.actions(.removeQuarantined).compactMap { $0["TASKREAPER_PATH"]?.description },
                       [quarantine + "/\\xfe/\\xff.invalid-0123456789abcdef"])
        XCTAssertFalse(RawPath.exists(entry))
        XCTAssertTrue(RawPath.exists(notOurs), "not a quarantine name: never touched")
    }

    /// A task id of 200 bytes: the temps of its rewrite used to repeat the id and pass
    /// NAME_MAX (255) from about 115 bytes on; the task was never finalized.
    func testALongTaskIDIsFinalized() throws {
        let gone = try HarnessProcess.exited()
        let id = "bgb-" + String(repeating: "a", count: 196)
        XCTAssertEqual(id.utf8.count, 200)
        try BundleFixture.write(session, id + ".json", BundleFixture.schema4(taskID: id, status: "running", startedAt: gone.startedAt,
                                                                           childPID: gone.pid, pgid: gone.pid))
        let killing = "bgb-" + String(repeating: "k", count: 196)
        try BundleFixture.write(session, killing + ".json", BundleFixture.schema4(taskID: killing, status: "killing", startedAt: gone.startedAt,
                                                                                childPID: gone.pid, pgid: gone.pid))
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.error), 0)
        XCTAssertEqual(parse(session + "/\(id).json")["status"] as? String, "failed")
        XCTAssertEqual(parse(session + "/\(killing).json")["status"] as? String, "killed")
        XCTAssertEqual(BundleFixture.read(session + "/\(killing).exit"), "killed", "the kill marker's temp fits too")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: session).filter { $0.hasPrefix(".") }, [], "no temp left")
    }
}
