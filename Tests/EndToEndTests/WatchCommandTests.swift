import Foundation
import TaskReaperTestSupport
import XCTest

/// `taskreaper watch` as a real process over real trees, with real tasks.
final class WatchCommandTests: XCTestCase {
    var root: TemporaryDirectory!
    /// The watcher's log, notify and control sockets: beside the root, never in it.
    var scratch: TemporaryDirectory!
    var logPath: String!
    var watcher: HarnessProcess?
    /// What the watcher sent up to READY=1.
    var startMessages: [String] = []
    var tasks: [HarnessProcess] = []

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        scratch = try TemporaryDirectory("taskreaper-watch")
        logPath = scratch.path + "/watch.log"
    }

    override func tearDown() {
        if testRun?.hasSucceeded == false { print("watcher log:\n" + log) }  // the watcher's own account
        watcher?.stop()
        tasks.forEach { $0.stop() }
        scratch.remove()
    }

    private var log: String { BundleFixture.read(logPath) ?? "" }

    /// Starts the watcher and waits for its first pass to finish (READY=1 on a notify socket).
    @discardableResult
    private func startWatch(_ extra: [String] = [], environment: [String] = [], notify: NotifySocket? = nil) throws -> HarnessProcess {
        let daemon = try WatchDaemon(root: root.path, controlSocket: scratch.path + "/ctl.sock", log: logPath,
                                     notify: notify ?? NotifySocket(path: scratch.path + "/notify"), extra: extra, environment: environment)
        watcher = daemon.process
        startMessages = daemon.startMessages
        return daemon.process
    }

    private func session(_ harness: String = "opencode", _ name: String = "0123456789abcdef") throws -> String {
        try BundleFixture.sessionDirectory(root: root.path, harness: harness, session: name)
    }

    /// A running task as the harness records it, its wrapper running `command`.
    private func task(_ id: String, in dir: String, _ command: String) throws -> HarnessProcess {
        let process = try RunningBundle.start(id, in: dir, command)
        tasks.append(process)
        return process
    }

    private func status(_ path: String) -> String? { RunningBundle.status(path) }

    func testAMarkerIsFinalizedOneGraceLater() throws {
        // No safety rescan: once the wrapper has exited nothing happens in the tree any more,
        // so only the deadline the watcher set for the end of the grace can finalize it.
        try startWatch(["--finalize-grace", "300ms", "--rescan-interval", "infinity"])
        let dir = try session()
        let process = try task("bgb-00000001", in: dir, "sleep 0.2; (exit 3)")
        poll("the marker") { BundleFixture.exists(dir + "/bgb-00000001.exit") }
        let early = status(dir + "/bgb-00000001.json")
        let lookedAt = Int(BundleFixture.nowMs())  // after the read: the read was earlier still
        var markerWritten = stat()
        lstat(dir + "/bgb-00000001.exit", &markerWritten)
        let markerMs = Int(markerWritten.st_mtim.tv_sec) * 1000 + Int(markerWritten.st_mtim.tv_nsec) / 1_000_000
        // Only a look taken within the grace says anything (a slow test may look later).
        if lookedAt < markerMs + 300 { XCTAssertEqual(early, "running", "not before the grace") }
        poll("finalization at the end of the grace") { status(dir + "/bgb-00000001.json") == "failed" }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/bgb-00000001.json"))) as? [String: Any]
        XCTAssertEqual(json?["exit_code"] as? Int, 3)
        let finishedAt = try XCTUnwrap(json?["finished_at"] as? Int)
        XCTAssertGreaterThanOrEqual(finishedAt - markerMs, 300, "finalized only once the marker was 300 ms old")
        _ = process
    }

    func testAWrapperKilledWithSIGKILLIsFinalizedWithoutWaiting() throws {
        let notify = try NotifySocket(path: scratch.path + "/notify")
        // No safety rescan, and the group recheck (30 s, for groups without a pidfd) is longer
        // than the wait below: only the task's pidfd can tell the watcher of the kill in time.
        try startWatch(["--rescan-interval", "infinity"], notify: notify)
        var messages: [String] = []
        let dir = try session()
        let process = try task("bgb-00000002", in: dir, "sleep 60")
        // The watcher has looked at the live task once it says so in STATUS (a pidfd held).
        poll("the watcher to hold the task's pidfd") {
            messages += notify.receive()
            return messages.contains { $0.contains("1 processes watched") }
        }
        kill(-process.pid, SIGKILL)
        poll("finalization after SIGKILL, noticed through the pidfd", timeout: 20) { status(dir + "/bgb-00000002.json") == "failed" }
    }

    func testAFinalizationUpdatesTheHarnessRowAsItHappens() throws {
        let db = try HarnessDatabase.create(root: root.path)
        let dir = try session()
        let process = try task("bgb-00000012", in: dir, "sleep 60")
        try db.insert(harness: "opencode", sessionID: "ses_test", taskID: "bgb-00000012", status: "running", pid: Int64(process.pid))
        try startWatch()
        kill(-process.pid, SIGKILL)
        poll("the row to follow the finalization", timeout: 5) {
            (try? db.row(harness: "opencode", sessionID: "ses_test", taskID: "bgb-00000012"))??.status == "failed"
        }
        XCTAssertEqual(status(dir + "/bgb-00000012.json"), "failed")
        XCTAssertNil(try db.row(harness: "opencode", sessionID: "ses_test", taskID: "bgb-00000012")?.pid)
        XCTAssertTrue(log.contains("running -> failed: process exited without exit marker; aft.db row updated"), log)
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    func testNewHarnessAndSessionDirectoriesArePickedUp() throws {
        try startWatch()
        // A harness directory that did not exist when the watcher started, then a session in it.
        let dir = try session("newharness", "00000000000000aa")
        try BundleFixture.write(dir, "bgb-00000003.stdout", "out", ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(dir, "bgb-00000003.json", BundleFixture.schema4(
            taskID: "bgb-00000003", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        poll("the delivered bundle in a new harness directory to be removed") { !BundleFixture.exists(dir) }
        // A legacy tree created later too.
        let legacy = try BundleFixture.sessionDirectory(root: root.path, harness: nil, session: "00000000000000bb")
        try BundleFixture.write(legacy, "bgb-00000004.json", BundleFixture.schema4(
            taskID: "bgb-00000004", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        poll("the legacy bundle to be removed") { !BundleFixture.exists(legacy + "/bgb-00000004.json") }
    }

    func testADeliveryFlipLeadsToRemovalAfterTheRetention() throws {
        try startWatch(["--retention", "600ms"])
        let dir = try session()
        // Undelivered, and already as old as the retention when it appears.
        let undelivered = BundleFixture.schema4(taskID: "bgb-00000005", status: "completed", startedAt: 1, exitCode: 0)
        try BundleFixture.write(dir, "bgb-00000005.json", undelivered, ageMs: 600)
        try BundleFixture.write(dir, "bgb-00000005.stdout", "out")
        // A delivered bundle written after it, so younger: once the watcher has removed this
        // one, the retention is over for the undelivered one too, by the watcher's own clock.
        try BundleFixture.write(dir, "bgb-00000015.json", BundleFixture.schema4(
            taskID: "bgb-00000015", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0))
        poll("the delivered bundle's removal after the retention") { !BundleFixture.exists(dir + "/bgb-00000015.json") }
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000005.json"), "past the retention, an undelivered bundle stays")
        // The harness tells the agent and rewrites the JSON (update_task).
        let flipped = Date()
        let delivered = BundleFixture.schema4(taskID: "bgb-00000005", status: "completed", startedAt: 1,
                                              completionDelivered: true, exitCode: 0)
        try BundleFixture.write(dir, ".bgb-00000005.json.tmp.1.bgb-00000005", delivered)
        rename(dir + "/.bgb-00000005.json.tmp.1.bgb-00000005", dir + "/bgb-00000005.json")
        poll("removal after the retention") { !BundleFixture.exists(dir + "/bgb-00000005.json") }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(flipped), 0.55)
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000005.stdout"))
    }

    func testSIGTERMExitsZeroPromptlyAndNotifiesSystemd() throws {
        let socket = try NotifySocket(path: scratch.path + "/notify")
        let process = try startWatch(environment: ["WATCHDOG_USEC=200000"], notify: socket)
        var messages: [String] = []
        poll("two watchdog pings at half of WATCHDOG_USEC") {
            messages += socket.receive()
            return messages.filter { $0 == "WATCHDOG=1" }.count >= 2
        }
        XCTAssertTrue(startMessages.contains { $0.contains("READY=1") && $0.contains("STATUS=") }, "\(startMessages)")
        process.signal(SIGTERM)
        XCTAssertEqual(process.waitForExitStatus(timeout: 5), 0)
        messages += socket.receive()
        XCTAssertTrue(messages.contains("STOPPING=1"), "\(messages)")
        watcher = nil
    }

    func testAQueueOverflowLeadsToARescanThatConverges() throws {
        let process = try startWatch()
        let dir = try session()
        // Once this bundle is gone the session is watched: then the flood is seen (or lost).
        try BundleFixture.write(dir, "keep.txt", "not ours: the session is never empty")
        try BundleFixture.write(dir, "bgb-00000009.json", BundleFixture.schema4(
            taskID: "bgb-00000009", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        poll("the session to be watched") { !BundleFixture.exists(dir + "/bgb-00000009.json") }
        // Pause the reader and queue more events than inotify keeps (max_queued_events).
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "16384") ?? 16384
        kill(process.pid, SIGSTOP)
        for i in 0..<(limit / 2 + 100) {
            // Two events each (create, close_write): stray notes the sweep does not remove.
            try BundleFixture.write(dir, "note-\(i).txt", "")
        }
        for i in 0..<20 {
            try BundleFixture.write(dir, "bgb-1000\(String(format: "%04d", i)).json", BundleFixture.schema4(
                taskID: "bgb-1000\(String(format: "%04d", i))", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
                ageMs: 2 * BundleFixture.hour)
        }
        kill(process.pid, SIGCONT)
        poll("the overflow rescan", timeout: 20) { log.contains("inotify queue overflow") }
        poll("every delivered bundle removed", timeout: 20) {
            // The session stays (keep.txt): a listing that fails is not "nothing left".
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return false }
            return names.contains("keep.txt") && names.allSatisfy { !$0.hasSuffix(".json") }
        }
    }

    /// A first pass reconciles its sessions a chunk of 1 024 at a time: over more than two
    /// chunks, every session is looked at (its delivered bundle removed) and watched by READY=1.
    func testAFirstPassOverSeveralChunksReconcilesAndWatchesEverySession() throws {
        let count = 2_100
        var dirs: [String] = []
        for index in 0..<count {
            let dir = try session("opencode", String(format: "%016x", index))
            try BundleFixture.write(dir, "keep.txt", "not ours: the session is never empty")
            try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
                taskID: "bgb-00000001", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
                ageMs: 2 * BundleFixture.hour)
            dirs.append(dir)
        }
        try startWatch(["--rescan-interval", "infinity"])
        XCTAssertEqual(dirs.filter { BundleFixture.exists($0 + "/bgb-00000001.json") }, [], "every session looked at")
        let status = WatchDaemon.status(socket: scratch.path + "/ctl.sock")
        XCTAssertEqual(status?["sessions"] as? Int, count, "every session watched")
        XCTAssertEqual(status?["pending_deadlines"] as? Int, 0)
    }

    func testARootThatDisappearsAndComesBackIsWatchedAgain() throws {
        try startWatch()
        let rootPath = root.path
        try FileManager.default.removeItem(atPath: rootPath)
        try FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: false)
        let dir = try session("pi", "00000000000000cc")
        try BundleFixture.write(dir, "bgb-00000006.json", BundleFixture.schema4(
            taskID: "bgb-00000006", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        poll("the returned root to be reconciled") { !BundleFixture.exists(dir + "/bgb-00000006.json") }
    }

    // MARK: Task directories (CONTRACT §7)

    /// A running task directory whose process stays alive: only the io/ watch can see a
    /// marker written in place into io/exit (no rename, no pidfd exit, no deadline).
    func testAMarkerWrittenInPlaceIntoATaskDirectoryIsFinalized() throws {
        try startWatch(["--finalize-grace", "0", "--rescan-interval", "infinity"])
        let dir = try session()
        let (taskDir, process) = try RunningBundle.startDirectory(1, in: dir)
        tasks.append(process)
        try waitUntil("the watcher watches the task's io/") { self.watchCount() >= 6 }  // root, parent, harness, tree, session, control, io
        let inode = TaskDirectoryFixture.inode(taskDir + "/io/exit")
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: taskDir + "/io/exit"))
        handle.write(Data("5".utf8))
        try handle.close()
        poll("finalized from the marker written in place") { self.status(taskDir + "/control/metadata.json") == "failed" }
        XCTAssertEqual(TaskDirectoryFixture.inode(taskDir + "/io/exit"), inode)
        XCTAssertEqual(kill(process.pid, 0), 0, "the process is left alone")
    }

    /// The harness replaces a record inside control/ (its delivery ack): seen through the
    /// control/ watch, and the task directory goes once the retention is over.
    func testADeliveryAckInsideControlLeadsToRemoval() throws {
        try startWatch(["--retention", "200ms", "--rescan-interval", "infinity"])
        let dir = try session()
        let id = TaskDirectoryFixture.id(2)
        let taskDir = try TaskDirectoryFixture.write(in: dir, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "completed", startedAt: 1, exitCode: 0))
        try waitUntil("the watcher watches the task's control/") { self.watchCount() >= 5 }
        let delivered = TaskDirectoryFixture.record(taskID: id, status: "completed", startedAt: 1, delivered: true, exitCode: 0)
        try BundleFixture.write(taskDir + "/control", ".aft-tmp-" + String(repeating: "d", count: 32), delivered)
        rename(taskDir + "/control/.aft-tmp-" + String(repeating: "d", count: 32), taskDir + "/control/metadata.json")
        poll("the delivered task directory removed") { !BundleFixture.exists(taskDir) }
    }

    /// Issue 11.5: a session whose name is not UTF-8 appears in the tree (inotify names it in
    /// bytes), is watched, and a marker renamed into it later is seen by that watch alone
    /// (no rescan; the process stays alive, so no pidfd exit either).
    func testAMarkerInASessionNamedInBytesIsFinalized() throws {
        let tree = root.path + "/opencode/bash-tasks"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try startWatch(["--finalize-grace", "0", "--rescan-interval", "infinity"])
        let process = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        tasks.append(process)
        let staging = root.path + "/.staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try BundleFixture.write(staging, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: process.startedAt, childPID: process.pid, pgid: process.pid))
        let session = RawPath.path(tree, [0xff, 0xfe])
        XCTAssertTrue(RawPath.rename(Array(staging.utf8), session))
        try waitUntil("the watcher watches the session") { self.watchCount() >= 5 }  // root, parent, harness, tree, session
        try BundleFixture.write(root.path, ".marker", "4")
        XCTAssertTrue(RawPath.rename(Array((root.path + "/.marker").utf8), RawPath.path(tree, [0xff, 0xfe], Array("bgb-00000001.exit".utf8))))
        let record = RawPath.path(tree, [0xff, 0xfe], Array("bgb-00000001.json".utf8))
        poll("finalized from the marker") { RawPath.json(record)?["status"] as? String == "failed" }
        XCTAssertEqual(RawPath.json(record)?["exit_code"] as? Int, 4)
        XCTAssertTrue(log.contains("xff"), "named escaped in the log")
        XCTAssertFalse(log.contains("\u{FFFD}"), "never decoded lossily")
    }

    private func watchCount() -> Int {
        WatchDaemon.status(socket: scratch.path + "/ctl.sock")?["inotify_watches"] as? Int ?? 0
    }
}
