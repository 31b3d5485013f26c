import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Whole sweeps over real trees with real processes spawned as the harness spawns them.
final class SweeperProcessTests: TreeTestCase {

    /// A running task whose wrapper runs `command`, as the harness records it.
    private func start(_ id: String, _ command: String, extra: [(String, String)] = []) throws -> HarnessProcess {
        let process = try HarnessProcess(command: command, directory: session, taskID: id)
        processes.append(process)
        try BundleFixture.write(session, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "running", startedAt: process.startedAt, childPID: process.pid, pgid: process.pid, extra: extra))
        return process
    }

    func testExitZeroIsFinalizedCompletedFromTheMarker() throws {
        let process = try start("bgb-00000001", "echo hi", extra: [("x_newer_harness", "{\"n\": 1764000000000123, \"f\": 1.50}")])
        poll("marker") { BundleFixture.exists(session + "/bgb-00000001.exit") }
        XCTAssertTrue(process.waitUntilExited())
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.finalize), 1)
        let text = BundleFixture.read(session + "/bgb-00000001.json") ?? ""
        let json = parse(session + "/bgb-00000001.json")
        XCTAssertEqual(json["status"] as? String, "completed")
        XCTAssertEqual(json["exit_code"] as? Int, 0)
        XCTAssertTrue(json["child_pid"] is NSNull)
        XCTAssertEqual(json["pgid"] as? Int, Int(process.pid))
        XCTAssertTrue(json["status_reason"] is NSNull, "running + marker has no reason")
        XCTAssertTrue(text.contains("\"x_newer_harness\": {\n    \"n\": 1764000000000123,\n    \"f\": 1.50\n  }"), text)
        XCTAssertEqual(run.result.exitCode, 0)
    }

    /// Issue 11.7: the harness trims whatever it reads; a code padded with more than 4 KiB
    /// of blanks is still its marker.
    func testAMarkerPaddedWithKilobytesOfWhitespaceIsStillAMarker() throws {
        let process = try start("bgb-0000001a", "true")
        poll("marker") { BundleFixture.exists(session + "/bgb-0000001a.exit") }
        XCTAssertTrue(process.waitUntilExited())
        try BundleFixture.write(session, "bgb-0000001a.exit", "\n" + String(repeating: " ", count: 8_000) + "4" + String(repeating: "\t", count: 100))
        XCTAssertEqual(try sweep(root.path, policy: immediate()).count(.finalize), 1)
        XCTAssertEqual(parse(session + "/bgb-0000001a.json")["exit_code"] as? Int, 4)
    }

    func testExitNIsFailedWithThatCode() throws {
        let process = try start("bgb-00000002", "(exit 7)")
        poll("marker") { BundleFixture.exists(session + "/bgb-00000002.exit") }
        XCTAssertTrue(process.waitUntilExited())
        _ = try sweep(root.path, policy: immediate())
        let json = parse(session + "/bgb-00000002.json")
        XCTAssertEqual(json["status"] as? String, "failed")
        XCTAssertEqual(json["exit_code"] as? Int, 7)
    }

    func testAFreshMarkerWaitsForTheFinalizeGrace() throws {
        let process = try start("bgb-00000003", "true")
        poll("marker") { BundleFixture.exists(session + "/bgb-00000003.exit") }
        XCTAssertTrue(process.waitUntilExited())
        let run = try sweep(root.path)  // default grace 5 s: the live harness's turn
        XCTAssertEqual(run.count(.finalize), 0)
        XCTAssertEqual(parse(session + "/bgb-00000003.json")["status"] as? String, "running")
        XCTAssertNotNil(run.result.counters.nextDue)
    }

    func testKilledWithSIGKILLIsFailedWithoutMarker() throws {
        let process = try start("bgb-00000004", "sleep 30; sleep 30")
        poll("the wrapper's child") { hasChild(process.pid) }
        kill(-process.pid, SIGKILL)
        XCTAssertTrue(process.waitUntilExited())  // left a zombie, with a zombie child: gone
        // Members of a killed group die one by one: the task is gone once all have.
        let table = try ProcessTable()
        poll("every member of the group to be dead") { table.probe(group: process.pid) != .live }
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.finalize), 1)
        let json = parse(session + "/bgb-00000004.json")
        XCTAssertEqual(json["status"] as? String, "failed")
        XCTAssertEqual(json["status_reason"] as? String, "process exited without exit marker")
        XCTAssertTrue(json["exit_code"] is NSNull)
    }

    func testAStillRunningTaskIsLeftByteIdentical() throws {
        _ = try start("bgb-00000005", "sleep 30")
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(run.result.counters.bundles, 1)
        XCTAssertEqual(run.result.counters.actions.values.reduce(0, +), 0)
    }

    func testKillingWithTheOwnerGoneWritesTheKilledMarker() throws {
        let process = try HarnessProcess(command: "sleep 30", directory: session, taskID: "bgb-00000006")
        processes.append(process)
        try BundleFixture.write(session, "bgb-00000006.json", BundleFixture.schema4(
            taskID: "bgb-00000006", status: "killing", startedAt: process.startedAt, childPID: process.pid, pgid: process.pid))
        kill(-process.pid, SIGKILL)
        XCTAssertTrue(process.waitUntilExited())
        process.reap()
        let table = try ProcessTable()
        poll("every member of the group to be dead") { table.probe(group: process.pid) != .live }
        let run = try sweep(root.path, policy: immediate())
        XCTAssertEqual(run.count(.writeKillMarker), 1)
        XCTAssertEqual(BundleFixture.read(session + "/bgb-00000006.exit"), "killed")
        let json = parse(session + "/bgb-00000006.json")
        XCTAssertEqual(json["status"] as? String, "killed")
        XCTAssertEqual(json["status_reason"] as? String, "killed while owner was gone")
    }

    func testAReusedPidDoesNotKeepADeadTaskRunning() throws {
        // The task started 10 min ago; its recorded pid now names a process that just started.
        let impostor = try HarnessProcess(arguments: ["/bin/sleep", "30"])
        processes.append(impostor)
        try BundleFixture.write(session, "bgb-00000007.json", BundleFixture.schema4(
            taskID: "bgb-00000007", status: "running", startedAt: impostor.startedAt - 600_000,
            childPID: impostor.pid, pgid: impostor.pid))
        _ = try sweep(root.path, policy: immediate())
        XCTAssertEqual(parse(session + "/bgb-00000007.json")["status"] as? String, "failed")
        XCTAssertEqual(kill(impostor.pid, 0), 0, "the impostor is never signalled")
    }

    func testEnforcedTimeoutTerminatesTheGroup() throws {
        let process = try HarnessProcess(command: "sleep 60", directory: session, taskID: "bgb-00000008")
        processes.append(process)
        try BundleFixture.write(session, "bgb-00000008.json", BundleFixture.schema4(
            taskID: "bgb-00000008", status: "running", startedAt: process.startedAt - 5_000,
            childPID: process.pid, pgid: process.pid, timeoutMs: 1_000))
        var policy = immediate()
        policy.enforceTimeouts = true
        let run = try sweep(root.path, policy: policy)
        XCTAssertEqual(run.count(.terminateGroup), 1)
        XCTAssertTrue(process.waitUntilExited(), "the task's process was terminated")
        let json = parse(session + "/bgb-00000008.json")
        XCTAssertEqual(json["status"] as? String, "timed_out")
        XCTAssertEqual(json["exit_code"] as? Int, 124)
        XCTAssertEqual(json["status_reason"] as? String, "timed out (enforced by taskreaper)")
    }

    func testTimeoutsAreNotEnforcedByDefault() throws {
        let process = try HarnessProcess(command: "sleep 60", directory: session, taskID: "bgb-00000009")
        processes.append(process)
        try BundleFixture.write(session, "bgb-00000009.json", BundleFixture.schema4(
            taskID: "bgb-00000009", status: "running", startedAt: process.startedAt - 5_000,
            childPID: process.pid, pgid: process.pid, timeoutMs: 1_000))
        _ = try sweep(root.path, policy: immediate())
        XCTAssertEqual(kill(process.pid, 0), 0)
        XCTAssertEqual(parse(session + "/bgb-00000009.json")["status"] as? String, "running")
    }

    func testAStrayTempOfALiveWriterIsKeptAndOfAGoneWriterRemoved() throws {
        let gone = try HarnessProcess.exited()
        try BundleFixture.write(session, ".bgb-0000000a.json.tmp.\(gone.pid).bgb-0000000a", "{", ageMs: 120_000)
        try BundleFixture.write(session, "bgb-0000000b.exit.tmp.\(gone.pid)", "0", ageMs: 120_000)
        try BundleFixture.write(session, ".bgb-0000000d.json.tmp.\(gone.pid).bgb-0000000d", "{", ageMs: 10_000)
        // A live writer that started just now, writing files whose mtime it set 2 min into
        // the past (a writer may set or keep an old mtime): alive, whatever the mtime says
        // and however long the machine has been up. (This used PID 1, and failed whenever
        // PID 1 had started less than 2 min before: on a freshly booted CI machine.)
        let writer = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        processes.append(writer)
        try BundleFixture.write(session, ".bgb-0000000c.json.tmp.\(writer.pid).bgb-0000000c", "{", ageMs: 120_000)
        try BundleFixture.write(session, "bgb-0000000e.exit.tmp.\(writer.pid)", "0", ageMs: 120_000)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeStrayTemp), 2)
        XCTAssertFalse(BundleFixture.exists(session + "/.bgb-0000000a.json.tmp.\(gone.pid).bgb-0000000a"))
        XCTAssertFalse(BundleFixture.exists(session + "/bgb-0000000b.exit.tmp.\(gone.pid)"))
        XCTAssertTrue(BundleFixture.exists(session + "/.bgb-0000000c.json.tmp.\(writer.pid).bgb-0000000c"), "writer alive")
        XCTAssertTrue(BundleFixture.exists(session + "/bgb-0000000e.exit.tmp.\(writer.pid)"), "writer alive")
        XCTAssertTrue(BundleFixture.exists(session + "/.bgb-0000000d.json.tmp.\(gone.pid).bgb-0000000d"), "younger than 1 min")
        // Once the writer is gone, its old temps go too.
        writer.stop()
        let after = try sweep(root.path)
        XCTAssertEqual(after.count(.removeStrayTemp), 2)
        XCTAssertFalse(BundleFixture.exists(session + "/.bgb-0000000c.json.tmp.\(writer.pid).bgb-0000000c"))
    }
}
