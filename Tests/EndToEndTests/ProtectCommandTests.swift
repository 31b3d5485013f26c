import Foundation
import TaskReaperTestSupport
import XCTest

/// `Protect=` / `--protect` (issue 13.4) and `--quarantine-retention` (issue 13.5) through the
/// built binary: configuration and its origins, `sweep`, `list`, and `watch` (at start, on
/// events, on SIGHUP, at a quarantined entry's own deadline).
final class ProtectCommandTests: XCTestCase {
    var root: TemporaryDirectory!
    var etc: TemporaryDirectory!
    var scratch: TemporaryDirectory!
    var watcher: HarnessProcess?
    let day = 24 * BundleFixture.hour

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        etc = try TemporaryDirectory("taskreaper-etc")
        scratch = try TemporaryDirectory("taskreaper-watch")
    }

    override func tearDown() {
        if testRun?.hasSucceeded == false { print("watcher log:\n" + log) }
        watcher?.stop()
        scratch.remove()
        etc.remove()
        root.remove()
    }

    private var log: String { BundleFixture.read(scratch.path + "/watch.log") ?? "" }

    private var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["TASKREAPER_CONFIG_DIRS"] = etc.path
        return env
    }

    private func configure(_ text: String) throws {
        try text.write(toFile: etc.path + "/taskreaper.conf", atomically: true, encoding: .utf8)
    }

    @discardableResult
    private func delivered(_ session: String, _ id: String, harness: String = "opencode", ageMs: UInt64 = 2 * BundleFixture.hour) throws -> String {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: harness, session: session)
        return try BundleFixture.writeBundle(in: dir, taskID: id, json: BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            members: [(.stdout, "out")], ageMs: ageMs)
    }

    private func quarantined(_ name: String, session: String = "3f2a000000000001", ageMs: UInt64) throws -> String {
        let dir = root.path + "/opencode/bash-tasks-quarantine/" + session
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try BundleFixture.write(dir, name, "{", ageMs: ageMs)
    }

    /// Starts `watch` over the root and waits for its first pass (READY=1).
    private func startWatch(_ extra: [String] = [], environment: [String] = []) throws -> HarnessProcess {
        let socket = try NotifySocket(path: scratch.path + "/notify")
        let process = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--control-socket", "none", "--rescan-interval", "infinity"] + extra,
                                         environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(socket.path)"] + environment),
                                         output: scratch.path + "/watch.log")
        watcher = process
        var messages: [String] = []
        poll("READY=1 from the watcher") {
            messages += socket.receive()
            return messages.contains { $0.contains("READY=1") }
        }
        return process
    }

    private func protectedLines(_ text: String, _ where_: String) -> Int {
        text.split(separator: "\n").filter { $0.hasPrefix("protected ") && $0.contains(where_) }.count
    }

    func testTheConfigurationAndTheFlagProtectSweepAndListAndConfigSaysWhereEachGlobComesFrom() throws {
        let glob = root.path + "/opencode/bash-tasks/aaaa*"
        try configure("[Storage]\nRoot=\(root.path)\nProtect=\(glob)\n\n[Policy]\nQuarantineRetention=60d\n")
        let shown = try TaskReaperBinary.run(["config", "--protect", root.path + "/pi/"], environment: environment)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let lines = shown.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: #" {2,}"#, with: "  ", options: .regularExpression) }
        for expected in ["Protect=\(glob)  # \(etc.path)/taskreaper.conf:3",
                         "Protect=\(root.path)/pi  # --protect",
                         "QuarantineRetention=60d  # \(etc.path)/taskreaper.conf:6"] {
            XCTAssertTrue(lines.contains(expected), "missing '\(expected)' in\n\(shown.stdout)")
        }
        for (bad, says) in [("aft/pi", "absolute"), ("/srv/**", "** is not supported"), ("/srv/[a", "unclosed [")] {
            for command in ["sweep", "list", "watch", "config"] {
                let refused = try TaskReaperBinary.run([command, "--protect", bad], environment: environment)
                XCTAssertEqual(refused.status, 2, "\(command) --protect \(bad): \(refused.stderr)")
                XCTAssertTrue(refused.stderr.contains("--protect") && refused.stderr.contains(says), refused.stderr)
            }
        }

        // watch decides at start which roots are protected: with none left, nothing to watch.
        let nothing = try TaskReaperBinary.run(["watch", "--protect", root.path, "--control-socket", "none"], environment: environment)
        XCTAssertEqual(nothing.status, 2, nothing.stderr)
        XCTAssertTrue(nothing.stderr.contains("every storage root is protected"), nothing.stderr)

        let kept = try delivered("aaaa000000000001", "bgb-00000001")
        let gone = try delivered("bbbb000000000002", "bgb-00000002")
        let old = try quarantined("bgb-00000003.json.quarantined-1", ageMs: 40 * day)
        // list: the protected session's tasks are not listed (listing them would read them); stderr says so.
        let listed = try TaskReaperBinary.run(["list", "--json", "--all"], environment: environment)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(listed.jsonLines.map { $0["task_id"] as? String }, ["bgb-00000002"], listed.stdout)
        XCTAssertEqual(protectedLines(listed.stderr, "opencode/aaaa…"), 1, listed.stderr)
        XCTAssertTrue(listed.stderr.contains(glob), listed.stderr)

        let sweep = try TaskReaperBinary.run(["sweep", "--json", "--log-target", "stderr"], environment: environment)
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        XCTAssertTrue(BundleFixture.exists(kept))
        XCTAssertFalse(BundleFixture.exists(gone))
        XCTAssertTrue(BundleFixture.exists(old), "QuarantineRetention=60d keeps a 40-day-old entry")
        XCTAssertEqual(sweep.actions("skip_protected").map { $0["path"] as? String }, [root.path + "/opencode/bash-tasks/aaaa000000000001"])
        XCTAssertEqual(protectedLines(sweep.stderr, "opencode/aaaa…"), 1, sweep.stderr)

        // The flag wins over the file; --protect adds to the file's globs, it never lifts one.
        let flagged = try TaskReaperBinary.run(["sweep", "--json", "--quarantine-retention", "30d", "--protect", root.path + "/pi"],
                                               environment: environment)
        XCTAssertEqual(flagged.status, 0, flagged.stderr)
        XCTAssertFalse(BundleFixture.exists(old))
        XCTAssertEqual(flagged.actions("remove_quarantined").first?["reason"] as? String, "quarantine expired")
        XCTAssertTrue(BundleFixture.exists(kept))
    }

    func testWatchLeavesProtectedSessionsAloneAndSaysSoOnceEach() throws {
        let kept = try delivered("aaaa000000000001", "bgb-00000001")
        let gone = try delivered("bbbb000000000002", "bgb-00000002")
        try startWatch(["--protect", root.path + "/opencode/bash-tasks/aaa*"])
        poll("the unprotected bundle's removal") { !BundleFixture.exists(gone) }
        XCTAssertTrue(BundleFixture.exists(kept))
        // Later: more in the protected session, a new protected session, and, to know the
        // watcher got that far, a new unprotected one.
        try delivered("aaaa000000000001", "bgb-00000003")
        let newProtected = try delivered("aaab000000000003", "bgb-00000004")
        let sync = try delivered("bbbc000000000004", "bgb-00000005")
        poll("the later unprotected bundle's removal") { !BundleFixture.exists(sync) }
        XCTAssertTrue(BundleFixture.exists(kept))
        XCTAssertTrue(BundleFixture.exists(newProtected))
        XCTAssertTrue(BundleFixture.exists(root.path + "/opencode/bash-tasks/aaaa000000000001/bgb-00000003.json"))
        XCTAssertEqual(protectedLines(log, "opencode/aaaa…"), 1, log)
        XCTAssertEqual(protectedLines(log, "opencode/aaab…"), 1, log)
        watcher?.signal(SIGTERM)
        XCTAssertEqual(watcher?.waitForExitStatus(timeout: 10), 0, log)
        XCTAssertTrue(log.contains("protected left alone"), "the summary counts them: \(log)")
    }

    func testAProtectGlobAddedOnSIGHUPTakesEffectAtOnce() throws {
        try configure("[Policy]\nRetention=1h\n")
        try delivered("aaaa000000000001", "bgb-00000001", ageMs: 60_000)
        let process = try startWatch(environment: ["TASKREAPER_CONFIG_DIRS=\(etc.path)"])
        try configure("[Policy]\nRetention=1h\n[Storage]\nProtect=\(root.path)/opencode/bash-tasks/aaaa*\n")
        process.signal(SIGHUP)
        poll("the reload") { self.log.contains("Reloaded the configuration") }
        XCTAssertTrue(log.contains("Protect= none -> \(root.path)/opencode/bash-tasks/aaaa*"), log)
        // The session was watched before: an old delivered bundle appearing there now stays.
        let kept = try delivered("aaaa000000000001", "bgb-00000002")
        let sync = try delivered("bbbb000000000002", "bgb-00000003")
        poll("the unprotected bundle's removal") { !BundleFixture.exists(sync) }
        XCTAssertTrue(BundleFixture.exists(kept), log)
    }

    func testWatchRemovesQuarantinedEntriesAtStartAndEachWhenItComesDue() throws {
        let old = try quarantined("bgb-00000001.json.quarantined-1", ageMs: 31 * day)
        let notOurs = try quarantined("notes.txt", ageMs: 31 * day)
        // Comes due 2 s after it is written, with no rescan to find it (--rescan-interval infinity).
        let soon = try quarantined("bash-0123456789abcdef.invalid-0123456789abcdef", ageMs: 30 * day - 2000)
        let written = Date()
        try startWatch()
        poll("the expired entry's removal at start") { !BundleFixture.exists(old) }
        XCTAssertTrue(BundleFixture.exists(soon))
        poll("the next entry's removal at its own deadline") { !BundleFixture.exists(soon) }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(written), 1.9)
        XCTAssertTrue(BundleFixture.exists(notOurs))
        // The line is written just after the removal: wait for it, do not race it.
        poll("two removal lines") {
            self.log.split(separator: "\n").filter { $0.hasPrefix("removed ") && $0.contains("bash-tasks-quarantine/3f2a…/") }.count == 2
        }
    }
}
