import Foundation
import TaskReaperTestSupport
import XCTest

/// Issue 13.5: a locked root names its holder; a run without any root says where it looked.
final class NoSilentNoOpTests: XCTestCase {
    func testALockedRootNamesItsHolder() throws {
        let root = try TemporaryDirectory()
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        let holder = try HarnessProcess(arguments: ["/usr/bin/flock", "--exclusive", root.path, "/bin/sleep", "60"])
        defer { holder.stop() }
        var run: TaskReaperBinary.Run?
        try waitUntil("the lock held by flock(1)") {
            run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr"])
            return run?.status == 75
        }
        let locked = try XCTUnwrap(run?.actions("skip_locked_root").first)
        // flock(1) forks the command; the lock is on its descriptor, shared by both: either pid.
        let pid = try XCTUnwrap(locked["holder_pid"] as? Int)
        let command = locked["holder_command"] as? String ?? ""
        XCTAssertTrue(pid == Int(holder.pid) && command.hasPrefix("/usr/bin/flock --exclusive \(root.path)")
                      || command == "/bin/sleep 60", "\(locked)")
        XCTAssertTrue((locked["message"] as? String ?? "").contains("(pid \(pid): "), "\(locked)")
        XCTAssertTrue(run?.stderr.contains("locked") == true && run?.stderr.contains("pid \(pid)") == true, run?.stderr ?? "")
    }

    func testNoRootAtAllSaysWhereItLooked() throws {
        let home = try TemporaryDirectory()
        let run = try TaskReaperBinary.run(["sweep"], environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("taskreaper: warning: No storage root found; looked in: "), run.stderr)
        XCTAssertTrue(run.stderr.contains(home.path + "/.pi/agent/aft"), run.stderr)
        XCTAssertEqual(try TaskReaperBinary.run(["sweep", "-q"], environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"]).stderr, "")
    }
}

/// In `watch`, a recurring problem is said once until it changes, and the exit summary
/// gives the tree's size, not the number of looks.
final class WatchRecurringProblemTests: XCTestCase {
    func testACorruptJSONIsReportedOnceUntilItChangesAndTheSummaryCountsTheTree() throws {
        let root = try TemporaryDirectory()
        let scratch = try TemporaryDirectory("taskreaper-watch")
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.write(dir, "bgb-0000000f.json", "{not json", ageMs: 60_000)
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "failed", startedAt: 1, exitCode: 1))
        let other = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000aa")
        try BundleFixture.write(other, "bgb-00000002.json", BundleFixture.schema4(
            taskID: "bgb-00000002", status: "failed", startedAt: 1, exitCode: 1))
        let socket = try NotifySocket(path: scratch.path + "/notify")
        let log = scratch.path + "/watch.log"
        let watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--control-socket", "none", "--rescan-interval", "infinity"],
                                         environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(socket.path)"]),
                                         output: log)
        defer { watcher.stop() }
        var text: String { BundleFixture.read(log) ?? "" }
        func corruptLines() -> Int { text.split(separator: "\n").filter { $0.contains("corrupt") && $0.contains("bgb-0000000f") }.count }
        var messages: [String] = []
        poll("READY=1") { messages += socket.receive(); return messages.contains { $0.contains("READY=1") } }
        XCTAssertEqual(corruptLines(), 1, text)
        // Events in the same session: each is a fresh look at the corrupt JSON, not a new report.
        for n in 3...6 {
            try BundleFixture.write(dir, "bgb-0000000\(n).json", BundleFixture.schema4(
                taskID: "bgb-0000000\(n)", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
            poll("the removal of bgb-0000000\(n)") { !BundleFixture.exists(dir + "/bgb-0000000\(n).json") }
        }
        watcher.signal(SIGHUP)  // a rescan looks at it again, too
        poll("the SIGHUP rescan") { text.contains("Looking at every tree again (SIGHUP)") }
        try BundleFixture.write(dir, "bgb-00000007.json", BundleFixture.schema4(
            taskID: "bgb-00000007", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        poll("the removal after the rescan") { !BundleFixture.exists(dir + "/bgb-00000007.json") }
        XCTAssertEqual(corruptLines(), 1, "said once: \(text)")
        // Rewritten (still corrupt): a new problem, said again.
        try BundleFixture.write(dir, "bgb-0000000f.json", "{still not json", ageMs: 30_000)
        poll("the rewritten corrupt JSON reported again") { corruptLines() == 2 }
        watcher.signal(SIGTERM)
        XCTAssertEqual(watcher.waitForExitStatus(timeout: 10), 0, text)
        // 2 sessions, 3 tasks (2 failed, 1 corrupt) now, after many looks.
        XCTAssertTrue(text.contains("2 sessions and 3 tasks now"), text)
    }
}
