import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Task directories of the current harness (CONTRACT §7), swept with real processes
/// spawned as the harness spawns them (the exit code written in place into io/exit through
/// the inherited fd 3) and real trees; one test per row of §7.4 and per bad input.
final class SweeperDirectoryTests: TreeTestCase {

    /// A running task whose wrapper ran `command` and has exited (reaped: its pid is free).
    private func finishedTask(_ n: Int, command: String, schema: Int = 7) throws -> (id: String, dir: String) {
        let id = TaskDirectoryFixture.id(n)
        let dir = try TaskDirectoryFixture.write(in: session, taskID: id, record: nil)
        let process = try HarnessProcess(command: command, taskDirectory: dir)
        processes.append(process)
        try TaskDirectoryFixture.setRecord(dir, TaskDirectoryFixture.record(
            schema: schema, taskID: id, status: "running", startedAt: process.startedAt, childPID: process.pid))
        _ = process.waitForExitStatus(timeout: 10)
        return (id, dir)
    }

    private func record(_ dir: String) -> [String: Any] { parse(dir + "/control/metadata.json") }

    // MARK: §7.4 rows

    func testAMarkerWrittenInPlaceFinalizesAndKeepsTheSchema() throws {
        let task = try finishedTask(1, command: "(exit 3)")
        XCTAssertEqual(BundleFixture.read(task.dir + "/io/exit"), "3", "written through fd 3, no newline")
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.finalize), 1)
        let json = record(task.dir)
        XCTAssertEqual(json["status"] as? String, "failed")
        XCTAssertEqual(json["exit_code"] as? Int, 3)
        XCTAssertEqual(json["schema_version"] as? Int, 7, "a rewrite keeps the record's own schema")
        let callKey = json["call_key"] as? [String: Any]
        XCTAssertEqual(callKey?["key"] as? String, task.id, "unknown keys kept")
        XCTAssertEqual(callKey?["minted"] as? Bool, true)
        let text = try XCTUnwrap(BundleFixture.read(task.dir + "/control/metadata.json"))
        XCTAssertFalse(text.hasSuffix("\n"), "pretty-printed like the harness: no trailing newline")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: task.dir + "/control").sorted(),
                       ["command.sh", "environment.bin", "manifest.blake3", "metadata.json", "wrapper.sh"], "no temp left in control/")
    }

    func testAKilledMarkerIs137OnSchema7AndNullOnSchema6() throws {
        let seven = try finishedTask(2, command: "true", schema: 7)
        let six = try finishedTask(3, command: "true", schema: 6)
        // The wrapper appends its own code after "killed": write the harness's kill marker alone.
        for dir in [seven.dir, six.dir] { try Data("killed".utf8).write(to: URL(fileURLWithPath: dir + "/io/exit")) }
        _ = try sweep(root.path, policy: immediate())
        XCTAssertEqual(record(seven.dir)["status"] as? String, "killed")
        XCTAssertEqual(record(seven.dir)["exit_code"] as? Int, 137)
        XCTAssertEqual(record(six.dir)["status"] as? String, "killed")
        XCTAssertTrue(record(six.dir)["exit_code"] is NSNull)
    }

    func testARunningTaskGoneWithoutAMarkerIsFateUnknownNamingItsOutput() throws {
        let id = TaskDirectoryFixture.id(4)
        let dir = try TaskDirectoryFixture.write(in: session, taskID: id, record: nil)
        let process = try HarnessProcess.exited()
        try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            schema: 6, taskID: id, status: "running", startedAt: process.startedAt, childPID: process.pid))
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.finalize), 1)
        let json = record(dir)
        XCTAssertEqual(json["status"] as? String, "fate_unknown")
        XCTAssertTrue(json["exit_code"] is NSNull)
        XCTAssertEqual(json["status_reason"] as? String,
                       "task \(id): daemon restarted, process fate unknown, last output at \(dir)/io/stdout")
    }

    func testAKillingTaskGoneGetsItsKilledMarkerInPlace() throws {
        let id = TaskDirectoryFixture.id(5)
        let dir = try TaskDirectoryFixture.write(in: session, taskID: id, record: nil)
        let process = try HarnessProcess.exited()
        try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "killing", startedAt: process.startedAt, childPID: process.pid))
        let inode = TaskDirectoryFixture.inode(dir + "/io/exit")
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.writeKillMarker), 1)
        XCTAssertEqual(BundleFixture.read(dir + "/io/exit"), "killed")
        XCTAssertEqual(TaskDirectoryFixture.inode(dir + "/io/exit"), inode, "the same inode: written in place, never renamed")
        XCTAssertEqual(record(dir)["status"] as? String, "killed")
        XCTAssertEqual(record(dir)["status_reason"] as? String, "killed while owner was gone")
    }

    func testNoStaleAfterFromSchema5() throws {
        let id = TaskDirectoryFixture.id(6)
        let dir = try TaskDirectoryFixture.write(in: session, taskID: id, record: nil)
        let process = try HarnessProcess(command: "sleep 60", taskDirectory: dir)
        processes.append(process)
        // Started 25 h ago by its record, alive now: the 24 h rule would kill-mark it (schema 4).
        try TaskDirectoryFixture.setRecord(dir, TaskDirectoryFixture.record(
            taskID: id, status: "running", startedAt: process.startedAt, childPID: process.pid))
        var policy = immediate()
        policy.staleAfter = .after(1)  // 1 ms: anything would be stale under §5
        let run = try sweep(root.path, policy: policy)
        XCTAssertEqual(run.count(.finalize), 0)
        XCTAssertEqual(record(dir)["status"] as? String, "running")
        XCTAssertEqual(BundleFixture.read(dir + "/io/exit"), "")
    }

    // MARK: Removal

    func testADeliveredTaskDirectoryIsRemovedWhole() throws {
        let id = TaskDirectoryFixture.id(7)
        let dir = try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "completed", startedAt: 1, delivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        try FileManager.default.createDirectory(atPath: dir + "/io/.sandbox-tmp-1-2", withIntermediateDirectories: false)
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/io/.sandbox-tmp-1-2/f"))
        let outside = try TemporaryDirectory()
        defer { outside.remove() }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside.path + "/keep"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/io/link", withDestinationPath: outside.path)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeBundle), 1)
        XCTAssertFalse(BundleFixture.exists(dir))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path + "/opencode/bash-tasks"), [],
                       "no tombstone left, and the session left empty went too")
        XCTAssertEqual(BundleFixture.read(outside.path + "/keep"), "keep", "a link inside is removed, never followed")
    }

    func testAnInterruptedRemovalIsFinishedOnceAMinuteOld() throws {
        let old = session + "/.aft-tmp-" + String(repeating: "a", count: 32)
        let young = session + "/.aft-tmp-" + String(repeating: "b", count: 32)
        for tombstone in [old, young] {
            try FileManager.default.createDirectory(atPath: tombstone + "/io", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: tombstone + "/control", withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: tombstone + "/control/metadata.json"))
        }
        try BundleFixture.setModified(old, ageMs: 2 * 60_000)
        let harnessTemp = try BundleFixture.write(session, ".aft-tmp-" + String(repeating: "c", count: 32), "{", ageMs: 2 * BundleFixture.hour)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeStrayTemp), 1)
        XCTAssertFalse(BundleFixture.exists(old))
        XCTAssertTrue(BundleFixture.exists(young), "a removal may be in progress: not raced")
        XCTAssertTrue(BundleFixture.exists(harnessTemp), "the harness's temp files are never touched")
    }

    /// CONTRACT §7.7: the current harness creates tasks through its open session handle.
    func testASessionDirectoryHeldOpenIsKeptAndGoesOnceReleased() throws {
        let id = TaskDirectoryFixture.id(8)
        try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        let cwdHolder = try HarnessProcess(arguments: ["/bin/sh", "-c", "cd \(shellQuote(session)) && exec sleep 60"])
        processes.append(cwdHolder)
        try waitUntil("the holder is in the session directory") {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(cwdHolder.pid)/cwd")) == session
        }
        let first = try sweep(root.path)
        XCTAssertEqual(first.count(.removeBundle), 1)
        XCTAssertEqual(first.count(.removeSessionDir), 0, "held as a cwd")
        XCTAssertTrue(BundleFixture.exists(session))
        cwdHolder.stop()
        let fdHolder = try HarnessProcess(arguments: ["/bin/sh", "-c", "exec 3< \(shellQuote(session)); exec sleep 60"])
        processes.append(fdHolder)
        try waitUntil("the holder has the session directory open") {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(fdHolder.pid)/fd")) ?? []).contains {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(fdHolder.pid)/fd/\($0)")) == self.session
            }
        }
        var policy = Policy()
        policy.emptySessionAge = 0
        XCTAssertEqual(try sweep(root.path, policy: policy).count(.removeSessionDir), 0, "held as an O_DIRECTORY fd")
        fdHolder.stop()
        XCTAssertEqual(try sweep(root.path, policy: policy).count(.removeSessionDir), 1, "released: removed")
        XCTAssertFalse(BundleFixture.exists(session))
    }

    // MARK: Bad input

    func testBadTaskDirectoriesAreReportedAndLeft() throws {
        let outside = try TemporaryDirectory()
        defer { outside.remove() }
        // A task directory that is a symlink.
        try TaskDirectoryFixture.write(in: outside.path, taskID: TaskDirectoryFixture.id(10), record: TaskDirectoryFixture.record(
            taskID: TaskDirectoryFixture.id(10), status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        try FileManager.default.createSymbolicLink(atPath: session + "/" + TaskDirectoryFixture.id(10),
                                                   withDestinationPath: outside.path + "/" + TaskDirectoryFixture.id(10))
        // control/ that is a file.
        let badControl = session + "/" + TaskDirectoryFixture.id(11)
        try FileManager.default.createDirectory(atPath: badControl + "/io", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: badControl + "/control"))
        // metadata.json with two links.
        let twoLinks = try TaskDirectoryFixture.write(in: session, taskID: TaskDirectoryFixture.id(12), record: TaskDirectoryFixture.record(
            taskID: TaskDirectoryFixture.id(12), status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        try FileManager.default.linkItem(atPath: twoLinks + "/control/metadata.json", toPath: outside.path + "/second-link")
        // A FIFO as io/exit of a running task.
        let fifoTask = try TaskDirectoryFixture.write(in: session, taskID: TaskDirectoryFixture.id(13), record: TaskDirectoryFixture.record(
            taskID: TaskDirectoryFixture.id(13), status: "running", startedAt: BundleFixture.nowMs(), childPID: nil))
        try FileManager.default.removeItem(atPath: fifoTask + "/io/exit")
        XCTAssertEqual(mkfifo(fifoTask + "/io/exit", 0o600), 0)
        // A task_id that is not the directory's name.
        let mismatch = try TaskDirectoryFixture.write(in: session, taskID: TaskDirectoryFixture.id(14), record: TaskDirectoryFixture.record(
            taskID: TaskDirectoryFixture.id(99), status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        let before = BundleFixture.snapshot(root.path)
        let outsideBefore = BundleFixture.snapshot(outside.path)
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.result.exitCode, 0, "bad input is reported, not a failure")
        let corrupt = run.log.actions(.reportCorrupt).compactMap { $0["TASKREAPER_PATH"]?.description }
        XCTAssertTrue(corrupt.contains(session + "/" + TaskDirectoryFixture.id(10)), "\(corrupt)")
        XCTAssertTrue(corrupt.contains(badControl), "\(corrupt)")
        XCTAssertTrue(corrupt.contains(twoLinks), "\(corrupt)")
        XCTAssertTrue(corrupt.contains(fifoTask + "/io/exit"), "\(corrupt)")
        XCTAssertTrue(corrupt.contains(mismatch), "\(corrupt)")
        XCTAssertEqual(run.count(.removeBundle), 0)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "nothing in the tree changed")
        XCTAssertEqual(BundleFixture.snapshot(outside.path), outsideBefore, "nothing outside it either")
    }

    func testOneIdInBothLayoutsIsReportedAndNeitherTouched() throws {
        let id = TaskDirectoryFixture.id(20)
        try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(session, id + ".json", BundleFixture.schema4(taskID: id, status: "completed", startedAt: 1,
                                                                             completionDelivered: true), ageMs: 2 * BundleFixture.hour)
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path)
        XCTAssertEqual(run.log.actions(.reportCorrupt).first?["TASKREAPER_ERROR"]?.description, "duplicate flat and directory layouts")
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
    }

    func testAnIncompleteDirectoryIsLeftWhileInitialisingReportedThenQuarantined() throws {
        let young = session + "/" + TaskDirectoryFixture.id(30)
        let stale = session + "/" + TaskDirectoryFixture.id(31)
        let ancient = session + "/" + TaskDirectoryFixture.id(32)
        for (dir, age) in [(young, UInt64(60_000)), (stale, 10 * 60_000), (ancient, 25 * BundleFixture.hour)] {
            try FileManager.default.createDirectory(atPath: dir + "/control", withIntermediateDirectories: true)
            try BundleFixture.setModified(dir + "/control", ageMs: age)
        }
        let run = try sweep(root.path)
        let reported = run.log.actions(.reportCorrupt).compactMap { $0["TASKREAPER_PATH"]?.description }
        XCTAssertEqual(reported, [stale], "initialising is silent; past 5 min it is reported")
        XCTAssertEqual(run.count(.quarantine), 1)
        XCTAssertTrue(BundleFixture.exists(young))
        XCTAssertTrue(BundleFixture.exists(stale))
        XCTAssertFalse(BundleFixture.exists(ancient))
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: root.path + "/opencode/bash-tasks-quarantine/0123456789abcdef")
        XCTAssertEqual(quarantined.count, 1)
        XCTAssertNotNil(quarantined.first?.range(of: #"^bash-0000000000000020\.invalid-[0-9a-f]{16}$"#, options: .regularExpression), "\(quarantined)")
    }

    // MARK: Mixed trees

    func testADryRunOverAMixedTreeChangesNothingAndSaysEverything() throws {
        _ = try finishedTask(40, command: "true")
        try TaskDirectoryFixture.write(in: session, taskID: TaskDirectoryFixture.id(41), record: TaskDirectoryFixture.record(
            taskID: TaskDirectoryFixture.id(41), status: "completed", startedAt: 1, delivered: true), ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(session, "bgb-00000042.json", BundleFixture.schema4(taskID: "bgb-00000042", status: "completed", startedAt: 1,
                                                                                    completionDelivered: true), ageMs: 2 * BundleFixture.hour)
        let before = BundleFixture.snapshot(root.path)
        let dry = try sweep(root.path, policy: immediate(), dryRun: true)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(dry.count(.finalize), 1)
        XCTAssertEqual(dry.count(.removeBundle), 2)
        let real = try sweep(root.path, policy: immediate())
        XCTAssertEqual(real.count(.finalize), 1)
        XCTAssertEqual(real.count(.removeBundle), 2)
    }

    func testAReaderFloorAboveOursLeavesTheRootAlone() throws {
        _ = try finishedTask(50, command: "true")
        try Data(#"{"floor_schema": 1, "stores": {"bash_task": 8}}"#.utf8).write(to: URL(fileURLWithPath: root.path + "/reader-floor.json"))
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.skipReaderFloor), 1)
        XCTAssertEqual(run.count(.finalize), 0)
        XCTAssertEqual(run.result.exitCode, 0)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        try Data(#"{"floor_schema": 1, "stores": {"bash_task": 7}}"#.utf8).write(to: URL(fileURLWithPath: root.path + "/reader-floor.json"))
        XCTAssertEqual(try sweep(root.path, policy: immediate()).count(.finalize), 1, "a floor we implement: business as usual")
    }
}
