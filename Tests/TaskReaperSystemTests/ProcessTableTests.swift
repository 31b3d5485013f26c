import Foundation
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// CONTRACT §5 liveness with real processes spawned the way the harness spawns them.
final class ProcessTableTests: XCTestCase {
    var table: ProcessTable!
    var directory: TemporaryDirectory!
    var processes: [HarnessProcess] = []

    override func setUpWithError() throws {
        table = try ProcessTable()
        directory = try TemporaryDirectory()
    }

    override func tearDown() {
        processes.forEach { $0.stop() }
        processes = []
    }

    private func spawn(_ command: String, id: String = "bgb-00000001") throws -> HarnessProcess {
        let process = try HarnessProcess(command: command, directory: directory.path, taskID: id)
        processes.append(process)
        return process
    }

    private func document(for process: HarnessProcess, startedAt: UInt64? = nil) throws -> TaskDocument {
        let text = BundleFixture.schema4(taskID: "bgb-00000001", status: "running", startedAt: startedAt ?? process.startedAt,
                                         childPID: process.pid, pgid: process.pid)
        return try TaskDocument(parsing: Array(text.utf8))
    }

    func testARunningTaskIsAlive() throws {
        let process = try spawn("sleep 30")
        XCTAssertEqual(process.pgid, process.pid, "the wrapper leads its own group, as the harness's setsid does")
        guard case .present(let startedAt?, let zombie) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("a running process must be present with a start time")
        }
        XCTAssertFalse(zombie)
        // /proc start time = btime (1 s granularity) + ticks: within a couple of seconds of the spawn.
        XCTAssertLessThan(abs(Int64(startedAt) - Int64(process.startedAt)), 2_500)
        XCTAssertEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(table.liveness(of: try document(for: process), policy: Policy()), .alive)
    }

    func testATaskThatExitedAndWroteItsMarkerIsGone() throws {
        let process = try spawn("true")
        let marker = directory.path + "/bgb-00000001.exit"
        poll("the wrapper's marker") { BundleFixture.exists(marker) }
        XCTAssertEqual(BundleFixture.read(marker), "0")
        XCTAssertTrue(process.waitUntilExited())
        // Exited but not reaped: a zombie, which counts as gone.
        guard case .present(_, zombie: true) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("an exited, unreaped process is a zombie")
        }
        XCTAssertEqual(table.probe(group: process.pid), .onlyZombies)
        XCTAssertEqual(table.liveness(of: try document(for: process), policy: Policy()), .gone)
        process.reap()
        XCTAssertEqual(table.probe(pid: UInt32(process.pid)), .absent)
        XCTAssertEqual(table.probe(group: process.pid), .absent)
        XCTAssertEqual(table.liveness(of: try document(for: process), policy: Policy()), .gone)
    }

    func testATaskKilledWithSIGKILLLeavesOnlyZombiesAndIsGone() throws {
        // The wrapper's child (sleep) is reparented to PID 1 when the group dies; PID 1 here
        // never reaps, so the group stays "present" as zombies: the contract's real case.
        let process = try spawn("sleep 30; sleep 30")
        poll("the wrapper's child") { hasChild(process.pid) }
        kill(-process.pid, SIGKILL)
        XCTAssertTrue(process.waitUntilExited())
        poll("every member to be a zombie") { table.probe(group: process.pid) != .live }
        XCTAssertNotEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(table.liveness(of: try document(for: process), policy: Policy()), .gone)
        XCTAssertFalse(BundleFixture.exists(directory.path + "/bgb-00000001.exit"), "SIGKILL leaves no marker")
    }

    func testALiveGroupMemberKeepsATaskAliveAfterItsLeaderDied() throws {
        // The leader exits, its background child lives on in the same group.
        let process = try spawn("sleep 30 & exit 0")
        XCTAssertTrue(process.waitUntilExited())
        process.reap()
        XCTAssertEqual(table.probe(pid: UInt32(process.pid)), .absent)
        XCTAssertEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(table.liveness(of: try document(for: process), policy: Policy()), .alive)
        kill(-process.pid, SIGKILL)
    }

    func testAReusedPidIsGone() throws {
        // The recorded pid now belongs to a process that started 10 minutes after the task.
        let process = try spawn("sleep 30")
        let old = try document(for: process, startedAt: process.startedAt - 10 * 60_000)
        XCTAssertEqual(table.liveness(of: old, policy: Policy()), .gone)
        // Within the 30 s slack it is still the same process.
        let recent = try document(for: process, startedAt: process.startedAt - 5_000)
        XCTAssertEqual(table.liveness(of: recent, policy: Policy()), .alive)
    }

    func testATaskFromBeforeBootIsGone() throws {
        let process = try spawn("sleep 30")
        let text = BundleFixture.schema4(taskID: "bgb-00000001", status: "running", startedAt: table.bootTime - 1_000,
                                         childPID: process.pid, pgid: process.pid)
        XCTAssertEqual(table.liveness(of: try TaskDocument(parsing: Array(text.utf8)), policy: Policy()), .gone)
    }

    func testNumbersThatCanNeverNameATaskAreNeverSignalled() {
        // kill(0, 0) would probe our own group and kill(-1, 0) every process: both must be absent.
        XCTAssertEqual(table.probe(pid: 0), .absent)
        XCTAssertEqual(table.probe(pid: UInt32(Int32.max) + 1), .absent)
        XCTAssertEqual(table.probe(group: 1), .absent)
        XCTAssertEqual(table.probe(group: 0), .absent)
        XCTAssertEqual(table.probe(group: -getpid()), .absent)
        XCTAssertEqual(table.terminate(group: 1, grace: 10), .alreadyGone)
    }

    func testTerminateEndsAWellBehavedGroupWithSIGTERM() throws {
        let process = try spawn("sleep 60")
        XCTAssertEqual(table.terminate(group: process.pid, grace: 2_000), .exitedAfterTERM)
        XCTAssertTrue(process.waitUntilExited(timeout: 1))
    }

    func testTerminateKillsAGroupThatIgnoresSIGTERM() throws {
        let process = try spawn("trap '' TERM; sleep 60; sleep 60")
        poll("the wrapper's child") { hasChild(process.pid) }
        let started = Date()
        XCTAssertEqual(table.terminate(group: process.pid, grace: 300), .killed)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.3)
        XCTAssertTrue(process.waitUntilExited(timeout: 2))
    }

    func testWriterOfATempFile() throws {
        XCTAssertFalse(table.writerIsGone(pid: getpid(), fileModified: BundleFixture.nowMs()))
        let process = try spawn("true")
        XCTAssertTrue(process.waitUntilExited())
        process.reap()
        XCTAssertTrue(table.writerIsGone(pid: process.pid, fileModified: BundleFixture.nowMs()))
        // Our own process is older than a file written now... but a file written before we
        // started cannot be ours: the pid was reused.
        XCTAssertTrue(table.writerIsGone(pid: getpid(), fileModified: 1_000))
    }
}
