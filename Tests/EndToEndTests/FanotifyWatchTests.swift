import Foundation
import TaskReaperTestSupport
import XCTest

/// `taskreaper watch --events fanotify` as a real process, as root, over real trees on ext4
/// (/tmp) and tmpfs (/dev/shm): the same work as with inotify, from one file system mark.
final class FanotifyWatchTests: XCTestCase {
    var scratch: TemporaryDirectory!
    var daemons: [WatchDaemon] = []
    var logs: [String] = []
    var tasks: [HarnessProcess] = []

    override func setUpWithError() throws {
        // CapEff, bit 21: CAP_SYS_ADMIN (root in a container may lack it).
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let effective = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .flatMap { UInt64($0.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        guard effective & (1 << 21) != 0 else { throw XCTSkip("fanotify file system marks need CAP_SYS_ADMIN") }
        scratch = try TemporaryDirectory("taskreaper-fanotify")
    }

    override func tearDown() {
        if testRun?.hasSucceeded == false { logs.forEach { print("watcher log:\n" + (BundleFixture.read($0) ?? "")) } }
        daemons.forEach { $0.process.stop() }
        tasks.forEach { $0.stop() }
        scratch?.remove()
    }

    /// A root on each file system, each with its own watcher (`--events fanotify`).
    private func eachFileSystem(_ extra: [String], _ body: (_ root: String, _ daemon: WatchDaemon) throws -> Void) throws {
        for parent in ["/tmp", "/dev/shm"] where FileManager.default.fileExists(atPath: parent) {
            let root = try TemporaryDirectory("taskreaper-fanotify-root", in: parent)
            defer { root.remove() }
            try body(root.path, start(root.path, extra))
        }
    }

    private func start(_ root: String, _ extra: [String] = []) throws -> WatchDaemon {
        let n = daemons.count
        logs.append(scratch.path + "/watch-\(n).log")
        let daemon = try WatchDaemon(root: root, controlSocket: scratch.path + "/ctl-\(n).sock", log: logs[n],
                                     notify: NotifySocket(path: scratch.path + "/notify-\(n)"), extra: ["--events", "fanotify"] + extra)
        daemons.append(daemon)
        XCTAssertEqual(daemon.status()?["events"] as? String, "fanotify")
        XCTAssertEqual(daemon.status("fanotify_marks"), 1)
        return daemon
    }

    private func status(_ path: String) -> String? { RunningBundle.status(path) }

    /// A session that appears after the start; a task finalized from its marker (renamed
    /// into place, as the harness does); a delivered bundle removed at the end of its retention.
    func testANewSessionsMarkerIsFinalizedAndADeliveredBundleRemovedAtItsDeadline() throws {
        try eachFileSystem(["--finalize-grace", "0", "--retention", "300ms", "--rescan-interval", "infinity"]) { root, _ in
            let dir = try BundleFixture.sessionDirectory(root: root, harness: "opencode", session: "0123456789abcdef")
            tasks.append(try RunningBundle.start("bgb-00000001", in: dir, "sleep 0.2; (exit 3)"))
            poll("finalized from its marker (\(root))") { status(dir + "/bgb-00000001.json") == "failed" }
            let written = Date()
            try BundleFixture.write(dir, "bgb-00000002.json", BundleFixture.schema4(
                taskID: "bgb-00000002", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0))
            poll("the delivered bundle removed once its retention is over (\(root))") { !BundleFixture.exists(dir + "/bgb-00000002.json") }
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(written), 0.25, "not before its deadline")
        }
    }

    /// A task directory made after the start, its process alive: only the io/ directory's
    /// events can tell of the marker written in place into io/exit.
    func testATaskDirectorysMarkerWrittenInPlaceIsFinalized() throws {
        try eachFileSystem(["--finalize-grace", "0", "--rescan-interval", "infinity"]) { root, daemon in
            let dir = try BundleFixture.sessionDirectory(root: root, harness: "opencode", session: "0123456789abcdef")
            let (taskDir, process) = try RunningBundle.startDirectory(1, in: dir)
            tasks.append(process)
            // root, its parent, harness, tree, session, control/, io/
            try waitUntil("the watcher watches the task's io/ (\(root))") { daemon.status("watched_directories") >= 7 }
            XCTAssertEqual(daemon.status("inotify_watches"), 1, "only the root's parent is inotify's")
            let handle = try XCTUnwrap(FileHandle(forWritingAtPath: taskDir + "/io/exit"))
            handle.write(Data("5".utf8))
            try handle.close()
            poll("finalized from the marker written in place (\(root))") { status(taskDir + "/control/metadata.json") == "failed" }
            XCTAssertEqual(kill(process.pid, 0), 0, "the process is left alone")
        }
    }

    /// Work elsewhere on the same file system is heard (the mark is the whole file system)
    /// and dropped: no pass, nothing looked at.
    func testEventsElsewhereOnTheFileSystemWakeNoPass() throws {
        let root = try TemporaryDirectory("taskreaper-fanotify-root")
        defer { root.remove() }
        let daemon = try start(root.path, ["--rescan-interval", "infinity"])
        let metrics = { () -> [PrometheusText.Family]? in
            guard let run = try? TaskReaperBinary.run(["ctl", "--socket", daemon.controlSocket, "metrics"]) else { return nil }
            return try? PrometheusText.parse(run.stdout)
        }
        let passes = { metrics()?.value("taskreaper_passes_total") }
        let families = try XCTUnwrap(metrics())
        XCTAssertEqual(families.value("taskreaper_event_source", ["source": "fanotify"]), 1)
        XCTAssertEqual(families.value("taskreaper_fanotify_marks"), 1)
        let before = try XCTUnwrap(passes())
        let ignored = daemon.status("fanotify_events_ignored")
        let elsewhere = scratch.path + "/elsewhere"  // /tmp too: the same file system
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        for i in 0..<500 { try BundleFixture.write(elsewhere, "bgb-\(i).json", "{}") }
        try waitUntil("the 500 files' events heard and dropped") { daemon.status("fanotify_events_ignored") >= ignored + 500 }
        XCTAssertEqual(passes(), before, "no pass for another directory's events")
        XCTAssertGreaterThanOrEqual(metrics()?.value("taskreaper_fanotify_events_ignored_total") ?? 0, Double(ignored + 500))
    }

    /// A stopped watcher loses nothing: the queue is unlimited (a file-system-wide queue
    /// that overflowed would cost a rescan of everything each time), so more events than a
    /// default queue holds (16 384) are all there when it resumes, and no rescan is needed.
    func testMoreEventsThanADefaultQueueHoldsAreKeptWithoutARescan() throws {
        let root = try TemporaryDirectory("taskreaper-fanotify-root")
        defer { root.remove() }
        let daemon = try start(root.path, ["--rescan-interval", "infinity"])
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "0123456789abcdef")
        try BundleFixture.write(dir, "keep.txt", "not ours: the session is never empty")
        try waitUntil("the session watched") { daemon.status("sessions") == 1 }
        kill(daemon.process.pid, SIGSTOP)
        // One event a file (its create and close_write merge in the queue): 17 000 events.
        for i in 0..<17_000 { try BundleFixture.write(dir, "note-\(i).txt", "") }
        for i in 0..<20 {
            let id = "bgb-1000\(String(format: "%04d", i))"
            try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
                taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        }
        kill(daemon.process.pid, SIGCONT)
        poll("every delivered bundle removed", timeout: 20) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return false }
            return names.contains("keep.txt") && names.allSatisfy { !$0.hasSuffix(".json") }
        }
        XCTAssertFalse((BundleFixture.read(logs[0]) ?? "").contains("queue overflow"))
    }

    /// Asked for by name without CAP_SYS_ADMIN: a usage error that says why, before anything.
    func testFanotifyWithoutCapSysAdminIsAUsageError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("no setpriv") }
        let run = try Subprocess.run("/usr/bin/setpriv", ["--inh-caps=-sys_admin", "--bounding-set=-sys_admin",
                                                          TaskReaperBinary.url.path, "watch", "--root", scratch.path,
                                                          "--events", "fanotify", "--control-socket", "none"],
                                     environment: TaskReaperBinary.isolated())
        XCTAssertEqual(run.status, 2, run.stderrText)
        XCTAssertTrue(run.stderrText.contains("--events fanotify: ") && run.stderrText.contains("CAP_SYS_ADMIN"), run.stderrText)
        let bad = try TaskReaperBinary.run(["watch", "--root", scratch.path, "--events", "dnotify"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("expected auto, inotify or fanotify, found 'dnotify'"), bad.stderr)
    }

    /// `[Watch] Events=` in a configuration file; a bad value names its file and line.
    func testTheEventSourceFromTheConfigurationFile() throws {
        let etc = scratch.path + "/etc"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try BundleFixture.write(etc, "taskreaper.conf", "[Watch]\nEvents=fanotify\n")
        let root = try TemporaryDirectory("taskreaper-fanotify-root")
        defer { root.remove() }
        let daemon = try WatchDaemon(root: root.path, controlSocket: scratch.path + "/ctl.sock", log: scratch.path + "/watch.log",
                                     notify: NotifySocket(path: scratch.path + "/notify"),
                                     environment: ["TASKREAPER_CONFIG_DIRS=\(etc)"])
        daemons.append(daemon)
        XCTAssertEqual(daemon.status()?["events"] as? String, "fanotify")
        try BundleFixture.write(etc, "taskreaper.conf", "[Watch]\nEvents=yes\n")
        let bad = try TaskReaperBinary.run(["watch", "--root", root.path], environment: ["TASKREAPER_CONFIG_DIRS": etc])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("taskreaper.conf:2: [Watch] Events=yes: expected auto, inotify or fanotify"), bad.stderr)
    }
}
