import Foundation
import TaskReaperTestSupport
import XCTest

/// Issue 11.1 end to end: a tree on tmpfs holding numbers no clock produces (started_at and
/// timeout_ms near 2^64, file times near 2^62 s and far before 1970) on a JSON, a marker, a
/// temp, an orphan and a session directory. Each of them used to kill `sweep`, `--dry-run`
/// and `watch` with an arithmetic-overflow trap, so that the root was never reconciled again.
/// Now the pass completes, the rest of the tree is reconciled, and the exit status is 0, as
/// for other odd input that is merely left alone (README: "Exit status").
final class HostileNumbersTests: XCTestCase {
    var root: TemporaryDirectory!
    var session: String!
    var processes: [HarnessProcess] = []
    /// 2^62 s: far past what a millisecond count of 64 bits holds.
    let farFuture = 1 << 62
    let farPast = -(1 << 62)

    override func setUpWithError() throws {
        root = try TemporaryDirectory.onTmpfs()
        session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
    }

    override func tearDown() {
        processes.forEach { $0.stop() }
        // XCTest keeps test case instances alive to the end of the run: free the tmpfs (RAM) now.
        root.remove()
    }

    private func delivered(_ id: String, in dir: String) throws {
        try BundleFixture.write(dir, "\(id).stdout", "out", ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
    }

    /// The hostile files, plus a delivered bundle and a dead running task that must still be
    /// handled in the same pass.
    private func buildTree() throws {
        // A live process (ours) named by tasks that started "at the end of time".
        let live = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        processes.append(live)
        try BundleFixture.write(session, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: .max, childPID: live.pid, pgid: live.pid,
            timeoutMs: .max))
        try BundleFixture.write(session, "bgb-00000002.json", BundleFixture.schema4(
            taskID: "bgb-00000002", status: "running", startedAt: 18_446_744_073_709_551_000, childPID: live.pid,
            pgid: live.pid, timeoutMs: 18_446_744_073_709_551_000))
        // A running task whose marker, and a terminal one whose JSON, come from far in the future.
        try BundleFixture.write(session, "bgb-00000003.json", BundleFixture.schema4(
            taskID: "bgb-00000003", status: "running", startedAt: 1_700_000_000_000))
        try BundleFixture.setModified(try BundleFixture.write(session, "bgb-00000003.exit", "0"), unixSeconds: farFuture)
        try BundleFixture.setModified(try BundleFixture.write(session, "bgb-00000004.json", BundleFixture.schema4(
            taskID: "bgb-00000004", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0)), unixSeconds: farFuture)
        // A JSON from before 1970 (delivered: plainly old, removed) and a starting task likewise.
        try BundleFixture.setModified(try BundleFixture.write(session, "bgb-00000005.json", BundleFixture.schema4(
            taskID: "bgb-00000005", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0)), unixSeconds: farPast)
        try BundleFixture.setModified(try BundleFixture.write(session, "bgb-00000006.json", BundleFixture.schema4(
            taskID: "bgb-00000006", status: "starting", startedAt: .max)), unixSeconds: farFuture)
        // Strays: a temp of a gone writer, an orphan, an empty session directory, all far-future.
        let gone = try HarnessProcess.exited()
        try BundleFixture.setModified(try BundleFixture.write(session, ".bgb-00000007.json.tmp.\(gone.pid).bgb-00000007", "{"),
                                      unixSeconds: farFuture)
        try BundleFixture.setModified(try BundleFixture.write(session, "bgb-00000008.stdout", "orphan"), unixSeconds: farFuture)
        let emptySession = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000ee")
        try BundleFixture.setModified(emptySession, unixSeconds: farFuture)
        // The rest of the tree, in another session: a delivered bundle, a task whose process is gone.
        let other = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        try delivered("bgb-00000010", in: other)
        try BundleFixture.write(other, "bgb-00000011.json", BundleFixture.schema4(
            taskID: "bgb-00000011", status: "running", startedAt: BundleFixture.nowMs() - 60_000, childPID: gone.pid, pgid: gone.pid))
    }

    private var other: String { root.path + "/opencode/bash-tasks/00000000000000aa" }

    func testSweepAndDryRunCompleteOverExtremeNumbers() throws {
        try buildTree()
        let before = BundleFixture.snapshot(root.path)
        let flags = ["--root", root.path, "--json", "--log-target", "stderr", "--enforce-timeouts"]
        let dry = try TaskReaperBinary.run(["sweep", "--dry-run"] + flags)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertEqual(dry.jsonLines.last?["action"] as? String, "summary", "the pass ran to its end: \(dry.stderr)")
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "a dry run changes nothing")
        XCTAssertEqual(Set(dry.actions("remove_bundle").compactMap { $0["task_id"] as? String }), ["bgb-00000005", "bgb-00000010"])

        let run = try TaskReaperBinary.run(["sweep"] + flags)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.jsonLines.last?["action"] as? String, "summary", run.stderr)
        XCTAssertEqual(run.actions("error").count, 0, run.stdout)
        // The rest of the tree was reconciled in the same pass.
        XCTAssertFalse(BundleFixture.exists(other + "/bgb-00000010.json"))
        XCTAssertEqual(parse(other + "/bgb-00000011.json")["status"] as? String, "failed")
        XCTAssertFalse(BundleFixture.exists(session + "/bgb-00000005.json"), "a JSON from before 1970 is simply old")
        // Times beyond any clock never come due: those files are left, and the live process too.
        XCTAssertEqual(parse(session + "/bgb-00000001.json")["status"] as? String, "running")
        XCTAssertEqual(parse(session + "/bgb-00000002.json")["status"] as? String, "running")
        XCTAssertEqual(parse(session + "/bgb-00000003.json")["status"] as? String, "running", "marker not yet older than the grace")
        XCTAssertTrue(BundleFixture.exists(session + "/bgb-00000004.json"))
        XCTAssertEqual(parse(session + "/bgb-00000006.json")["status"] as? String, "starting")
        XCTAssertTrue(BundleFixture.exists(session + "/bgb-00000008.stdout"))
        XCTAssertTrue(BundleFixture.exists(root.path + "/opencode/bash-tasks/00000000000000ee"))
        XCTAssertEqual(kill(processes[0].pid, 0), 0, "nothing was signalled")
        // A second pass over the same tree is as uneventful.
        XCTAssertEqual(try TaskReaperBinary.run(["sweep"] + flags).status, 0)
    }

    func testWatchSurvivesExtremeNumbers() throws {
        try buildTree()
        let socket = try NotifySocket(path: root.path + ".notify")
        let log = root.path + ".log"
        defer { unlink(log) }
        let watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--control-socket", "none", "--enforce-timeouts"],
                                         environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(socket.path)"]), output: log)
        processes.append(watcher)
        var messages: [String] = []
        // READY=1 comes after the first full pass: a trap in it would end the process first.
        poll("READY=1 after the first pass") {
            messages += socket.receive()
            return messages.contains { $0.contains("READY=1") } || processState(watcher.pid) == "Z"
        }
        XCTAssertTrue(messages.contains { $0.contains("READY=1") }, BundleFixture.read(log) ?? "")
        XCTAssertEqual(parse(other + "/bgb-00000011.json")["status"] as? String, "failed")
        XCTAssertFalse(BundleFixture.exists(other + "/bgb-00000010.json"))
        // An event in the hostile session: it is reconciled again, extremes and all.
        try delivered("bgb-00000012", in: session)
        poll("the new delivered bundle beside the hostile files to go") { !BundleFixture.exists(session + "/bgb-00000012.json") }
        watcher.signal(SIGTERM)
        XCTAssertEqual(watcher.waitForExitStatus(timeout: 5), 0, BundleFixture.read(log) ?? "")
    }

    func testDurationFlagsBeyondTheMaximumAreUsageErrors() throws {
        let policyFlags = ["--finalize-grace", "--spawn-grace", "--retention", "--stale-after", "--abandoned-after", "--db-busy-timeout"]
        let commands = policyFlags.map { ("sweep", $0) } + (policyFlags + ["--rescan-interval"]).map { ("watch", $0) }
        for (command, flag) in commands {
            for value in ["18446744073709551615ms", "36501d"] {
                let socket = command == "watch" ? ["--control-socket", "none"] : []
                let run = try TaskReaperBinary.run([command, "--root", root.path, flag, value] + socket)
                XCTAssertEqual(run.status, 2, "\(command) \(flag) \(value): \(run.stderr)")
                XCTAssertTrue(run.stderr.contains("'\(flag) <DUR>'") && run.stderr.contains("out of range"),
                              "\(command) \(flag) \(value): \(run.stderr)")
            }
        }
        // The maximum itself is accepted (a dry run: nothing to do here).
        XCTAssertEqual(try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--retention", "36500d"]).status, 0)
    }

    private func parse(_ path: String) -> [String: Any] {
        guard let text = BundleFixture.read(path),
              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        return object
    }
}
