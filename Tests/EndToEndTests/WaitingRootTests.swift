import Foundation
import TaskReaperTestSupport
import XCTest

/// `watch` started before any storage root exists (a fresh user enabling the units): it
/// must start, answer `ctl`, and pick roots up as they appear; and `ctl` never waits
/// unbounded. The binary as a real process, in a scratch HOME.
final class WaitingRootTests: XCTestCase {
    var scratch: TemporaryDirectory!
    var home: String!
    var socketPath: String!
    var logPath: String!
    var watcher: HarnessProcess?

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory("taskreaper-waiting")
        home = scratch.path + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        socketPath = scratch.path + "/ctl.sock"
        logPath = scratch.path + "/watch.log"
    }

    override func tearDown() {
        if testRun?.hasSucceeded == false { print("watcher log:\n" + (BundleFixture.read(logPath) ?? "")) }
        watcher?.stop()
        scratch.remove()
    }

    /// The environment of a fresh user: HOME the scratch home, no XDG or AFT variables.
    private var environment: [String] { ["PATH=/usr/bin:/bin", "HOME=\(home!)"] }

    /// Starts watch and waits for READY=1 (it must start although no root exists).
    private func startWatch(_ arguments: [String] = []) throws {
        let notify = try NotifySocket(path: scratch.path + "/notify")
        watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--log-target", "stderr",
                                                 "--control-socket", socketPath] + arguments,
                                     environment: environment + ["NOTIFY_SOCKET=\(notify.path)"], output: logPath)
        var messages: [String] = []
        try waitUntil("READY=1 with no root") {
            messages += notify.receive()
            if let pid = watcher?.pid, watcher?.waitForExit(deadline: Date()) == true {
                throw WatchExited(description: "watch \(pid) exited before READY=1: \(BundleFixture.read(logPath) ?? "")")
            }
            return messages.contains { $0.contains("READY=1") }
        }
        XCTAssertTrue(messages.contains { $0.contains("STATUS=0 roots; waiting for: ") }, "\(messages)")
    }

    private func ctl(_ request: String, _ extra: [String] = []) throws -> (status: Int32, answer: [String: Any], stderr: String) {
        let run = try TaskReaperBinary.run(["ctl", "--socket", socketPath] + extra + [request])
        let answer = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        return (run.status, answer, run.stderr)
    }

    /// A delivered bundle two hours old: the first pass over its root removes it.
    private func delivered(in root: String, _ id: String) throws -> String {
        let dir = try BundleFixture.sessionDirectory(root: root, harness: "pi")
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        return dir + "/\(id).json"
    }

    func testWithNoDefaultRootItStartsAnswersAndPicksUpTheRootWhenItAppears() throws {
        try startWatch()
        let expected = [home + "/.local/share/opencode/storage/plugin/aft", home + "/.pi/agent/aft",
                        home + "/.local/share/cortexkit/aft", home + "/.cache/aft"]
        let before = try ctl("status")
        XCTAssertEqual(before.status, 0, before.stderr)
        XCTAssertEqual(before.answer["roots_watched"] as? Int, 0)
        XCTAssertEqual(before.answer["waiting_for"] as? [String], expected)

        // ~/.cache does not exist either: watched from the home, then from ~/.cache.
        let json = try delivered(in: home + "/.cache/aft", "bgb-00000001")
        poll("the bundle in the new ~/.cache/aft to be removed") { !BundleFixture.exists(json) }
        let after = try ctl("status")
        XCTAssertEqual(after.answer["roots_watched"] as? Int, 1)
        XCTAssertEqual(after.answer["waiting_for"] as? [String], Array(expected.dropLast()))
        XCTAssertEqual(watcher?.waitForExit(deadline: Date()), false, "still running")
    }

    func testAMissingRootSeveralLevelsDownIsPickedUpAndFollowedWhenItGoesAndComesBack() throws {
        let root = scratch.path + "/a/b/c/root"
        try startWatch(["--root", root])
        XCTAssertEqual(try ctl("status").answer["waiting_for"] as? [String], [root])
        // One directory at a time, as a slow creator would: the watch moves down each time.
        for partial in ["/a", "/a/b", "/a/b/c"] {
            try FileManager.default.createDirectory(atPath: scratch.path + partial, withIntermediateDirectories: false)
        }
        let first = try delivered(in: root, "bgb-00000002")
        poll("the root's bundle to be removed") { !BundleFixture.exists(first) }
        XCTAssertEqual(try ctl("status").answer["roots_watched"] as? Int, 1)

        // The whole ancestry removed, then made again by `mkdir -p`: waited for, picked up.
        try FileManager.default.removeItem(atPath: scratch.path + "/a")
        poll("the root to be waited for again") { (try? ctl("status").answer["roots_watched"] as? Int) == 0 }
        let second = try delivered(in: root, "bgb-00000003")
        poll("the recreated root's bundle to be removed") { !BundleFixture.exists(second) }
    }

    func testCtlRescanAndSIGHUPLookForRoots() throws {
        let root = scratch.path + "/later"
        try startWatch(["--root", root, "--dry-run"])
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        let rescan = try ctl("rescan")
        XCTAssertEqual(rescan.status, 0, rescan.stderr)
        XCTAssertEqual(try ctl("status").answer["roots_watched"] as? Int, 1)
        watcher?.signal(SIGHUP)
        poll("a rescan for SIGHUP") { (BundleFixture.read(logPath) ?? "").contains("Looking at every tree again (SIGHUP)") }
        XCTAssertEqual(watcher?.waitForExit(deadline: Date()), false, "SIGHUP does not stop it")
    }

    func testARootThatCanNeverAppearIsAUsageError() throws {
        let file = scratch.path + "/file"
        FileManager.default.createFile(atPath: file, contents: Data())
        for root in [file, file + "/below"] {
            let run = try TaskReaperBinary.run(["watch", "--root", root, "--control-socket", "none"])
            XCTAssertEqual(run.status, 2, root)
            XCTAssertTrue(run.stderr.contains(root), run.stderr)
        }
    }

    /// A root that appears after the start on a read-only mount, as ProtectSystem=strict
    /// leaves it when it was not there to be bound by ReadWritePaths=: under systemd
    /// ($INVOCATION_ID) watch exits 75 saying why (Restart=on-failure gives it a fresh
    /// namespace); outside systemd it reports the error and goes on.
    private func watchInReadOnlyMount(underSystemd: Bool) throws -> (HarnessProcess, String) {
        let parent = scratch.path + "/ro"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false)
        let script = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\""
        var command = ["/usr/bin/unshare", "--mount", "/bin/sh", "-c", script, "sh", parent, "/usr/bin/env"]
        if underSystemd { command.append("INVOCATION_ID=0123456789abcdef0123456789abcdef") }
        command += [TaskReaperBinary.url.path, "watch", "--root", parent + "/root", "--log-target", "stderr",
                    "--control-socket", socketPath]
        let process = try HarnessProcess(arguments: command, environment: environment, output: logPath)
        watcher = process
        try waitUntil("the watcher to answer") { (try? ctl("status").status) == 0 }
        // Made outside the namespace (writable here), read-only in the watcher's mounts.
        _ = try delivered(in: parent + "/root", "bgb-0000r001")
        return (process, parent + "/root")
    }

    func testUnderSystemdARootAppearingReadOnlyEndsWatchWith75ForARestart() throws {
        let (process, root) = try watchInReadOnlyMount(underSystemd: true)
        XCTAssertEqual(process.waitForExitStatus(timeout: 10), 75, BundleFixture.read(logPath) ?? "")
        XCTAssertTrue((BundleFixture.read(logPath) ?? "").contains("Root \(root) appeared after the service started and is read-only"))
        XCTAssertFalse((BundleFixture.read(logPath) ?? "").contains("Could not remove"), "no pass over a root it cannot change")
    }

    func testOutsideSystemdAReadOnlyRootIsReportedAndWatchGoesOn() throws {
        let (process, root) = try watchInReadOnlyMount(underSystemd: false)
        poll("the read-only root reported") { (BundleFixture.read(logPath) ?? "").contains("Root \(root) is on a read-only mount") }
        XCTAssertEqual(try ctl("status").answer["roots_watched"] as? Int, 1)
        XCTAssertFalse(process.waitForExit(deadline: Date()), "still running")
    }

    // MARK: ctl never waits unbounded

    func testCtlGivesUpWithExit69WhenTheListenerNeverAnswers() throws {
        // A socket that is listened on but never served: what systemd holds for a socket
        // unit whose service fails to start.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        let started = Date()
        let run = try ctl("status", ["--timeout", "300ms"])
        XCTAssertEqual(run.status, 69, run.stderr)
        XCTAssertTrue(run.stderr.contains("no answer within 300 ms"), run.stderr)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.3, "it waited for the answer up to the timeout")
    }

    func testCtlExits69WithoutADaemonAnd2ForABadTimeout() throws {
        let none = try ctl("status")
        XCTAssertEqual(none.status, 69, none.stderr)
        XCTAssertEqual(try ctl("status", ["--timeout", "0"]).status, 2)
        XCTAssertEqual(try ctl("status", ["--timeout", "soon"]).status, 2)
    }
}

private struct WatchExited: Error, CustomStringConvertible {
    let description: String
}
