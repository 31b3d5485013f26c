import Foundation
import TaskReaperCore
@testable import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// CONTRACT §5 liveness with real processes spawned the way the harness spawns them
/// (`setsid /bin/sh -c <wrapper>`). PID 1 on these machines reaps orphans late (about a
/// second, sometimes much longer) or never: a test that kills a task with a child leaves
/// that child a zombie for a while, so few do, and none relies on how long it stays one.
final class ProcessTableTests: XCTestCase {
    var table: ProcessTable!
    var directory: TemporaryDirectory!
    var processes: [HarnessProcess] = []
    let taskID = "bgb-00000001"

    override func setUpWithError() throws {
        table = try ProcessTable()
        directory = try TemporaryDirectory()
    }

    override func tearDown() {
        processes.forEach { $0.stop() }  // SIGKILL to each group we started, reap its leader
        processes = []
        directory = nil
    }

    private var marker: String { directory.path + "/\(taskID).exit" }

    private func spawn(_ command: String) throws -> HarnessProcess {
        let process = try HarnessProcess(command: command, directory: directory.path, taskID: taskID)
        processes.append(process)
        return process
    }

    /// A wrapper blocked in the shell itself (open of a FIFO nobody writes): a live task
    /// with no child process, so killing it leaves no orphan zombie behind.
    private func spawnChildless(_ prefix: String = "") throws -> HarnessProcess {
        let fifo = directory.path + "/fifo"
        if access(fifo, F_OK) != 0 { XCTAssertEqual(mkfifo(fifo, 0o600), 0) }
        return try spawn("\(prefix)read line < \(shellQuote(fifo))")
    }

    private func document(childPID: Int32?, pgid: Int32?, startedAt: UInt64) throws -> TaskDocument {
        let text = BundleFixture.schema4(taskID: taskID, status: "running", startedAt: startedAt, childPID: childPID, pgid: pgid)
        return try TaskDocument(parsing: Array(text.utf8))
    }

    private func document(for process: HarnessProcess, startedAt: UInt64? = nil) throws -> TaskDocument {
        try document(childPID: process.pid, pgid: process.pid, startedAt: startedAt ?? process.startedAt)
    }

    /// /proc's start time is btime (1 s granularity) + ticks: within the slack of the
    /// moments before the spawn (`process.startedAt`) and after it (now), however long the
    /// spawn or the test took in between.
    private func assertStartTime(_ startedAt: UInt64, of process: HarnessProcess, file: StaticString = #filePath, line: UInt = #line) {
        let slack: UInt64 = 2_500, after = BundleFixture.nowMs()
        XCTAssertGreaterThanOrEqual(startedAt + slack, process.startedAt, "not before the spawn", file: file, line: line)
        XCTAssertLessThanOrEqual(startedAt, after + slack, "not after it", file: file, line: line)
    }

    private func liveness(_ process: HarnessProcess, startedAt: UInt64? = nil) throws -> Liveness {
        table.liveness(of: try document(for: process, startedAt: startedAt), policy: Policy())
    }

    // MARK: Alive

    func testARunningTaskIsAlive() throws {
        let process = try spawn("sleep 30")
        XCTAssertEqual(process.pgid, process.pid, "the wrapper leads its own group, as the harness's setsid does")
        XCTAssertEqual(getsid(process.pid), process.pid)
        guard case .present(let startedAt?, let zombie) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("a running process must be present with a start time")
        }
        XCTAssertFalse(zombie)
        assertStartTime(startedAt, of: process)
        XCTAssertEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(try liveness(process), .alive)
    }

    func testALiveGroupMemberKeepsATaskAliveAfterItsLeaderDied() throws {
        // The leader exits, its background child lives on in the same group (this child is
        // PID 1's once the leader is reaped: killing it in tearDown leaves one zombie).
        let process = try spawn("sleep 30 & exit 0")
        XCTAssertTrue(process.waitUntilExited())
        process.reap()
        XCTAssertEqual(table.probe(pid: UInt32(process.pid)), .absent)
        XCTAssertEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(try liveness(process), .alive)
    }

    func testACommandNameWithParenthesesAndSpacesIsParsedFromTheLastParenthesis() throws {
        // comm is the executable's file name: one that looks like the end of the comm field
        // followed by a zombie state would fool a parser that stops at the first ')'.
        let link = directory.path + "/x) Z 1 1 (y"
        XCTAssertEqual(symlink("/bin/sleep", link), 0)
        let process = try HarnessProcess(arguments: [link, "30"])
        processes.append(process)
        try waitUntil("the exec") { (try? String(contentsOfFile: "/proc/\(process.pid)/comm", encoding: .utf8)) == "x) Z 1 1 (y\n" }
        guard case .present(let startedAt?, zombie: false) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("misparsed: \(table.probe(pid: UInt32(process.pid)))")
        }
        assertStartTime(startedAt, of: process)
        XCTAssertEqual(table.probe(group: process.pid), .live)
        XCTAssertEqual(try liveness(process), .alive)
    }

    func testAnotherUsersProcessIsAlive() throws {
        // EPERM, honestly: the task runs as nobody, and we probe with an effective uid that is
        // neither root nor nobody (so without CAP_KILL). seteuid keeps the saved uid 0, so
        // root comes back right after.
        let process = try HarnessProcess(arguments: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                                     "/bin/sleep", "30"])
        processes.append(process)
        try waitUntil("setpriv to exec sleep") {
            (try? String(contentsOfFile: "/proc/\(process.pid)/comm", encoding: .utf8)) == "sleep\n"
        }
        let document = try document(for: process)
        XCTAssertEqual(seteuid(65533), 0)
        let killResult = kill(process.pid, 0), killErrno = errno
        let pidProbe = table.probe(pid: UInt32(process.pid))
        let groupProbe = table.probe(group: process.pid)
        let verdict = table.liveness(of: document, policy: Policy())
        XCTAssertEqual(seteuid(0), 0)
        XCTAssertEqual(geteuid(), 0)
        XCTAssertEqual(killResult, -1)
        XCTAssertEqual(killErrno, EPERM, "the probe really met EPERM")
        guard case .present(_?, zombie: false) = pidProbe else { return XCTFail("EPERM is present, got \(pidProbe)") }
        XCTAssertEqual(groupProbe, .live)
        XCTAssertEqual(verdict, .alive)
    }

    // MARK: Gone

    func testATaskThatExitedAndWroteItsMarkerIsGone() throws {
        let process = try spawn("true")
        try waitUntil("the wrapper's marker") { BundleFixture.exists(marker) }
        XCTAssertEqual(BundleFixture.read(marker), "0")
        XCTAssertTrue(process.waitUntilExited())
        // Exited but not reaped: a zombie, which counts as gone.
        guard case .present(_, zombie: true) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("an exited, unreaped process is a zombie")
        }
        XCTAssertEqual(table.probe(group: process.pid), .onlyZombies)
        XCTAssertEqual(try liveness(process), .gone)
        process.reap()
        XCTAssertEqual(table.probe(pid: UInt32(process.pid)), .absent)
        XCTAssertEqual(table.probe(group: process.pid), .absent)
        XCTAssertEqual(try liveness(process), .gone)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp.") }, [],
                       "the marker's temp file was renamed away")
    }

    func testAFailingCommandWritesItsCodeAndCapturesOutput() throws {
        let process = try HarnessProcess(command: "echo out; echo err >&2; (exit 3)", directory: directory.path,
                                         taskID: taskID, captureOutput: true)
        processes.append(process)
        XCTAssertEqual(process.waitForExitStatus(timeout: 10), 0, "the wrapper itself succeeds")
        XCTAssertEqual(BundleFixture.read(marker), "3")
        XCTAssertEqual(BundleFixture.read(directory.path + "/\(taskID).stdout"), "out\n")
        XCTAssertEqual(BundleFixture.read(directory.path + "/\(taskID).stderr"), "err\n")
    }

    func testATaskKilledWithSIGKILLAndNotReapedIsAZombieAndGone() throws {
        let process = try spawnChildless()
        XCTAssertEqual(try liveness(process), .alive)
        process.kill9()
        XCTAssertTrue(process.waitUntilExited())
        guard case .present(_, zombie: true) = table.probe(pid: UInt32(process.pid)) else {
            return XCTFail("a killed, unreaped leader is a zombie")
        }
        XCTAssertEqual(table.probe(group: process.pid), .onlyZombies)
        XCTAssertEqual(try liveness(process), .gone)
        XCTAssertFalse(BundleFixture.exists(marker), "SIGKILL leaves no marker")
    }

    func testAGroupOfZombiesIsGone() throws {
        // Leader and command both dead, neither reaped (the command is PID 1's, which here
        // reaps late or never): kill(-pgid, 0) still succeeds. The contract's container case.
        let group = try ZombieGroup(directory: directory.path, taskID: taskID)
        processes.append(group.process)
        XCTAssertTrue([Character("Z"), nil].contains(processState(group.childPID)), "dead: a zombie, or already reaped by PID 1")
        XCTAssertEqual(kill(-group.pgid, 0), 0, "the group is still present for kill()")
        XCTAssertEqual(table.probe(group: group.pgid), .onlyZombies)
        XCTAssertEqual(try liveness(group.process), .gone)
        // The leader reaped, its zombie child still holds the group: still gone.
        group.process.reap()
        XCTAssertEqual(table.probe(pid: UInt32(group.pgid)), .absent)
        if processState(group.childPID) == "Z" {
            XCTAssertEqual(table.probe(group: group.pgid), .onlyZombies)
        }
        XCTAssertEqual(try liveness(group.process), .gone)
    }

    func testAReusedPidIsGone() throws {
        // The recorded pid now belongs to a process that started 10 minutes after the task.
        let process = try spawnChildless()
        XCTAssertEqual(try liveness(process, startedAt: process.startedAt - 10 * 60_000), .gone)
        // pgid == child_pid and the pid was reused: the group is gone too, even though a
        // live process leads a group of that number.
        XCTAssertEqual(table.probe(group: process.pid), .live)
        // Within the 30 s slack it is still the same process.
        XCTAssertEqual(try liveness(process, startedAt: process.startedAt - 5_000), .alive)
    }

    func testATaskFromBeforeBootIsGone() throws {
        let process = try spawnChildless()
        XCTAssertEqual(try liveness(process, startedAt: table.bootTime - 1_000), .gone)
    }

    func testATaskWithoutNumbersIsAliveUnlessFromBeforeBoot() throws {
        let now = BundleFixture.nowMs()
        XCTAssertEqual(table.liveness(of: try document(childPID: nil, pgid: nil, startedAt: now), policy: Policy()), .alive)
        XCTAssertEqual(table.liveness(of: try document(childPID: nil, pgid: nil, startedAt: table.bootTime - 1), policy: Policy()), .gone)
    }

    // MARK: Guards

    func testNumbersThatCanNeverNameATaskAreNeverSignalled() throws {
        // A group member of ours that would die of any stray SIGTERM/SIGKILL to our group.
        let ours = try HarnessProcess(arguments: ["/bin/sleep", "30"])
        processes.append(ours)
        // kill(0, 0) would probe our own group, kill(-1, 0) every process: both must be absent.
        XCTAssertEqual(table.probe(pid: 0), .absent)
        XCTAssertEqual(table.probe(pid: UInt32(Int32.max) + 1), .absent)
        XCTAssertEqual(table.probe(pid: UInt32.max), .absent, "would be kill(-1, 0)")
        XCTAssertEqual(table.probe(group: 1), .absent)
        XCTAssertEqual(table.probe(group: 0), .absent)
        XCTAssertEqual(table.probe(group: -1), .absent)
        XCTAssertEqual(table.probe(group: -getpid()), .absent)
        XCTAssertEqual(table.probe(group: Int32.min), .absent)
        XCTAssertEqual(table.liveness(of: try document(childPID: 0, pgid: 0, startedAt: BundleFixture.nowMs()), policy: Policy()), .gone)
        XCTAssertEqual(table.liveness(of: try document(childPID: nil, pgid: 1, startedAt: BundleFixture.nowMs()), policy: Policy()), .gone)
        XCTAssertTrue(table.writerIsGone(pid: 0, fileExistedBy: BundleFixture.nowMs()))
        XCTAssertTrue(table.writerIsGone(pid: -1, fileExistedBy: BundleFixture.nowMs()))
        // terminate: SIGTERM/SIGKILL to 0, -1, 1 would hit us, everyone, or init; our own
        // group is ours. No proof, so no signal, even when child_pid says the same.
        for pgid: Int32 in [1, 0, -1, -getpid(), Int32.min, getpgrp()] {
            let task = try document(childPID: pgid >= 0 ? pgid : nil, pgid: pgid, startedAt: BundleFixture.nowMs())
            guard case .refused = table.proveGroup(of: task, fileOwner: getuid(), policy: Policy()) else {
                return XCTFail("pgid \(pgid) proven")
            }
        }
        // Still here, and so are a process of ours and init.
        XCTAssertEqual(kill(getpid(), 0), 0)
        XCTAssertNotEqual(processState(ours.pid), "Z")
        XCTAssertEqual(kill(ours.pid, 0), 0)
        XCTAssertEqual(kill(1, 0), 0)
    }

    // MARK: proveGroup(of:) and terminate(_:)

    /// The group of a harness-style task of ours, proven as --enforce-timeouts proves it.
    private func proven(_ process: HarnessProcess) throws -> ProvenGroup {
        let verdict = table.proveGroup(of: try document(for: process), fileOwner: getuid(), policy: Policy())
        guard case .proven(let group) = verdict else { throw XCTSkip("not proven: \(verdict)") }
        return group
    }

    func testTheProofReadsTheLeaderFromProc() throws {
        let process = try spawn("sleep 60")
        let group = try proven(process)
        XCTAssertEqual(group.pgid, process.pid)
        XCTAssertEqual(group.leader.uid, getuid())
        XCTAssertEqual(group.leader.processGroup, process.pid)
        let start = try XCTUnwrap(group.leader.startedAt)
        XCTAssertLessThanOrEqual(start.distance(to: process.startedAt), 2 * .second, "/proc's start is the spawn time")
        // Another owner, a started_at off by more than the slack, a child_pid that is not the
        // leader, no leader at all: each refused.
        let task = try document(for: process)
        for (task, owner) in [(task, getuid() + 1), (try document(for: process, startedAt: process.startedAt - 31 * .second), getuid()),
                              (try document(childPID: getpid(), pgid: process.pid, startedAt: process.startedAt), getuid()),
                              (try document(childPID: nil, pgid: process.pid, startedAt: process.startedAt), getuid())] {
            guard case .refused = table.proveGroup(of: task, fileOwner: owner, policy: Policy()) else { return XCTFail("\(task)") }
        }
        process.stop()
        guard case .refused(let why) = table.proveGroup(of: task, fileOwner: getuid(), policy: Policy()) else { return XCTFail("proven") }
        XCTAssertTrue(why.contains("no process"), why)
    }

    func testNoSIGKILLOnceTheLeaderIsNotTheProvenOne() throws {
        // A harness (our child) whose task's wrapper exits on SIGTERM and is reaped by it, while
        // the wrapper's child ignores SIGTERM: the group lives on without the process the proof
        // named, so the SIGKILL after the grace must not be sent.
        let wrapper = "trap 'exit 0' TERM; (trap '' TERM; exec sleep 60) & wait"
        let harness = try HarnessProcess(arguments: ["/bin/sh", "-c", "/usr/bin/setsid /bin/sh -c \(shellQuote(wrapper)) & wait"])
        processes.append(harness)
        var leader: pid_t?
        try waitUntil("the task's wrapper and its child") {
            leader = children(of: harness.pid).first
            return leader.map(hasChild) ?? false
        }
        let pgid = try XCTUnwrap(leader)
        defer { kill(-pgid, SIGKILL) }
        let child = try XCTUnwrap(children(of: pgid).first)
        try waitUntil("the wrapper to lead its own group") { getpgid(pgid) == pgid }
        let task = try document(childPID: pgid, pgid: pgid, startedAt: BundleFixture.nowMs())
        guard case .proven(let group) = table.proveGroup(of: task, fileOwner: getuid(), policy: Policy()) else { return XCTFail("not proven") }
        XCTAssertEqual(table.terminate(group, grace: 1_000), .leaderChanged(termSent: true))
        XCTAssertNil(processState(pgid), "the wrapper exited and its harness reaped it")
        XCTAssertEqual(kill(child, 0), 0, "the surviving member was not SIGKILLed")
        XCTAssertNotEqual(processState(child), "Z")
    }

    func testTerminateEndsAWellBehavedGroupWithSIGTERM() throws {
        let process = try spawn("sleep 60")
        try waitUntil("the wrapper's child") { hasChild(process.pid) }
        XCTAssertEqual(table.terminate(try proven(process), grace: 5_000), .exitedAfterTERM)
        XCTAssertTrue(process.waitUntilExited())
        XCTAssertEqual(process.reap().map { $0 & 0x7f }, SIGTERM)
    }

    func testTerminateKillsAGroupThatIgnoresSIGTERM() throws {
        // `sleep` inherits the ignored SIGTERM: only SIGKILL ends the group.
        let process = try spawn("trap '' TERM; sleep 60; sleep 60")
        try waitUntil("the wrapper's child") { hasChild(process.pid) }
        let started = Date()
        XCTAssertEqual(table.terminate(try proven(process), grace: 300), .killed)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.3)
        XCTAssertTrue(process.waitUntilExited())
        XCTAssertEqual(process.reap().map { $0 & 0x7f }, SIGKILL)
        try waitUntil("the group to be only zombies or gone") { table.probe(group: process.pid) != .live }
    }

    func testTerminateLeavesAGroupOfZombiesAlone() throws {
        let process = try spawnChildless()
        let group = try proven(process)
        process.kill9()
        XCTAssertTrue(process.waitUntilExited())
        XCTAssertEqual(try proven(process), group, "a zombie leader still proves its group")
        XCTAssertEqual(table.terminate(group, grace: 1_000), .alreadyGone)
        process.reap()
        XCTAssertEqual(table.terminate(group, grace: 1_000), .alreadyGone)
    }

    // MARK: Temp-file writers

    func testWriterOfATempFile() throws {
        XCTAssertFalse(table.writerIsGone(pid: getpid(), fileExistedBy: BundleFixture.nowMs()))
        let process = try HarnessProcess(arguments: ["/bin/true"])
        processes.append(process)
        XCTAssertTrue(process.waitUntilExited())
        XCTAssertTrue(table.writerIsGone(pid: process.pid, fileExistedBy: BundleFixture.nowMs()), "a zombie writer is gone")
        process.reap()
        XCTAssertTrue(table.writerIsGone(pid: process.pid, fileExistedBy: BundleFixture.nowMs()))
        // A file written before our process started cannot be ours: the pid was reused.
        XCTAssertTrue(table.writerIsGone(pid: getpid(), fileExistedBy: 1_000))
    }

    // MARK: /proc/<pid>/stat parsing

    func testStatParsing() {
        func parse(_ line: String) -> ProcStat? {
            Array(line.utf8).withUnsafeBufferPointer { ProcStat.parse($0) }
        }
        let tail = "0 0 0 0 0 0 0 0 20 0 1 0 4242 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        XCTAssertEqual(parse("123 (sleep) S 1 123 123 0 -1 4194304 " + tail),
                       ProcStat(state: UInt8(ascii: "S"), pgrp: 123, threads: 1, startTicks: 4242))
        XCTAssertEqual(parse("123 (a) Z 9 9 (b) R 1 77 77 0 -1 4194304 " + tail)?.pgrp, 77, "comm holding ') Z 9 9 ('")
        XCTAssertEqual(parse("123 (a) Z 9 9 (b) R 1 77 77 0 -1 4194304 " + tail)?.state, UInt8(ascii: "R"))
        XCTAssertEqual(parse("123 (x y) Z 1 5 5 0 -1 4194304 " + tail)?.isDead, true)
        // A zombie leader whose other threads still run (main thread called pthread_exit).
        let threaded = "123 (node) Z 1 5 5 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 3 0 4242 0\n"
        XCTAssertEqual(parse(threaded)?.threads, 3)
        XCTAssertEqual(parse(threaded)?.isDead, false)
        XCTAssertNil(parse("123 (sleep) S 1 123"), "cut before field 22")
        XCTAssertNil(parse("123 sleep S 1 123 123 0 -1 4194304 " + tail), "no comm")
        XCTAssertNil(parse("123 (sleep) S 1 x 123 0 -1 4194304 " + tail), "pgrp not a number")
        XCTAssertNil(parse(""))
    }
}
