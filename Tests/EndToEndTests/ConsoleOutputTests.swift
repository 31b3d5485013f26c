import Foundation
import TaskReaperTestSupport
import XCTest

/// What people see (issue 13.2): a line per action on a terminal or with --verbose, errors
/// only with -q, no TASKREAPER_* fields on the console, and a dry run that does not fill the
/// journal with per-item entries unless asked.
final class ConsoleOutputTests: XCTestCase {
    var root: TemporaryDirectory!
    var session: String!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "3f2a9c0d11223344")
        try BundleFixture.writeBundle(in: session, taskID: "bgb-0a1b2c3d", json: BundleFixture.schema4(
            taskID: "bgb-0a1b2c3d", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            members: [(.stdout, "out")], ageMs: 2 * BundleFixture.hour + 60_000)
        try BundleFixture.write(session, "bgb-0000beef.json", "{broken", ageMs: 60_000)  // a warning
    }

    /// Runs the binary with a terminal as stdin, stdout and stderr (script(1)).
    private func onTerminal(_ arguments: [String], noColor: Bool = true) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = noColor ? "1" : nil
        environment["TERM"] = "xterm"
        let command = ([TaskReaperBinary.url.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let run = try Subprocess.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: TaskReaperBinary.isolated(environment))
        return run.stdoutText.replacingOccurrences(of: "\r\n", with: "\n")
    }

    func testADryRunOnATerminalShowsOneHumanLinePerAction() throws {
        let output = try onTerminal(["sweep", "--root", root.path, "--dry-run"])
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("would remove       opencode/3f2a…/bgb-0a1b2c3d  delivered 2h ago"), output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("taskreaper: corrupt") && $0.contains("opencode/3f2a…/bgb-0000beef") }, output)
        XCTAssertTrue(lines.last?.hasPrefix("taskreaper: Dry run over 1 root") == true, output)
        XCTAssertFalse(output.contains("TASKREAPER_"), output)
        XCTAssertFalse(output.contains("\u{1B}["), "NO_COLOR: \(output)")
        XCTAssertTrue(try onTerminal(["sweep", "--root", root.path, "--dry-run"], noColor: false).contains("\u{1B}[36mwould remove"))
    }

    func testPipedItIsSilentButForProblemsAndVerboseShowsTheLines() throws {
        let piped = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--log-target", "auto"])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stdout, "", "cron etiquette")
        XCTAssertEqual(piped.stderr.split(separator: "\n").count, 1, piped.stderr)
        XCTAssertTrue(piped.stderr.hasPrefix("taskreaper: corrupt"), piped.stderr)
        XCTAssertFalse(piped.stderr.contains("TASKREAPER_"), piped.stderr)

        let verbose = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--verbose"])
        XCTAssertTrue(verbose.stdout.contains("would remove       opencode/3f2a…/bgb-0a1b2c3d  delivered 2h ago\n"), verbose.stdout)
        XCTAssertTrue(verbose.stdout.contains("taskreaper: Dry run over 1 root"), verbose.stdout)
        XCTAssertFalse(verbose.stdout.contains("\u{1B}["), "no colour on a pipe")
        // With --json, stdout is JSON only: the human lines go to stderr.
        let both = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--verbose", "--json"])
        XCTAssertEqual(both.stdout.split(separator: "\n").count, both.jsonLines.count, both.stdout)
        XCTAssertTrue(both.stderr.contains("would remove       opencode/3f2a…/bgb-0a1b2c3d"), both.stderr)
    }

    func testQuietKeepsOnlyErrors() throws {
        try makeImmutable(session + "/bgb-0a1b2c3d.stdout")
        defer { makeMutable(session + "/bgb-0a1b2c3d.stdout") }
        let output = try onTerminal(["sweep", "--root", root.path, "-q"])
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1, output)
        XCTAssertTrue(lines.first?.hasPrefix("taskreaper: error") == true, output)
        XCTAssertTrue(output.contains(session + "/bgb-0a1b2c3d.stdout") && output.contains("Operation not permitted"), output)
        let bad = try TaskReaperBinary.run(["sweep", "--root", root.path, "-q", "-v"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
    }

    /// A dry run under `auto` sends the journal its summary only; `--log-target journal`
    /// asks for the per-item entries too.
    func testADryRunWritesPerItemJournalEntriesOnlyWhenAsked() throws {
        guard Journal.isAvailable else {
            if Journal.isRequired { return XCTFail("journald is not running: scripts/start-journald.sh must start it in CI") }
            throw XCTSkip("no journald socket; run scripts/start-journald.sh")
        }
        let auto = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--log-target", "auto"])
        XCTAssertEqual(auto.status, 0, auto.stderr)
        var summaries: [[String: Any]] = []
        poll("the dry run's summary in the journal") {
            summaries = (try? Journal.entries(matching: ["MESSAGE_ID=1d3c8120479a40e9b07fc3dd0f953a9a", "TASKREAPER_ROOTS=\(root.path)"])) ?? []
            return !summaries.isEmpty
        }
        XCTAssertEqual(summaries.first?["TASKREAPER_DRY_RUN"] as? String, "1")
        XCTAssertEqual((try Journal.entries(matching: ["TASKREAPER_ROOT=\(root.path)"])).count, 0, "no per-item entries")

        let journal = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--log-target", "journal"])
        XCTAssertEqual(journal.status, 0, journal.stderr)
        var items: [[String: Any]] = []
        poll("the per-item entries") {
            items = (try? Journal.entries(matching: ["TASKREAPER_ROOT=\(root.path)"])) ?? []
            return items.count >= 2
        }
        XCTAssertEqual(Set(items.compactMap { $0["TASKREAPER_ACTION"] as? String }), ["remove_bundle", "report_corrupt"])
        XCTAssertTrue(BundleFixture.exists(session + "/bgb-0a1b2c3d.json"))
    }
}

/// `watch` in the foreground on a terminal shows what it does, and its summary on Ctrl-C.
final class WatchConsoleTests: XCTestCase {
    func testWatchOnATerminalShowsItsActions() throws {
        let root = try TemporaryDirectory()
        let scratch = try TemporaryDirectory("taskreaper-watch")
        let session = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "3f2a9c0d11223344")
        try BundleFixture.writeBundle(in: session, taskID: "bgb-0a1b2c3d", json: BundleFixture.schema4(
            taskID: "bgb-0a1b2c3d", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        let typescript = scratch.path + "/typescript"
        // exec: the watcher is script's child itself (script runs it in a session of its own).
        let command = "exec " + [TaskReaperBinary.url.path, "watch", "--root", root.path, "--control-socket", "none", "--log-target", "auto"]
            .map { "'\($0)'" }.joined(separator: " ")
        let script = try HarnessProcess(arguments: ["/usr/bin/script", "-qfec", command, typescript],
                                        environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin", "TERM=xterm", "NO_COLOR=1"]))
        var watcher: pid_t?
        defer {
            if let watcher { kill(watcher, SIGKILL) }
            script.stop()
        }
        try waitUntil("the watcher under script") {
            watcher = (try? Subprocess.run("/usr/bin/pgrep", ["-P", String(script.pid)]))?.stdoutText
                .split(separator: "\n").compactMap { pid_t($0) }.first
            return watcher != nil
        }
        var text: String { (BundleFixture.read(typescript) ?? "").replacingOccurrences(of: "\r\n", with: "\n") }
        poll("the removal on the terminal") { text.contains("removed            pi/3f2a…/bgb-0a1b2c3d  delivered 2h ago") }
        // A later event is shown as it happens (the first session went, left empty).
        let later = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "3f2a9c0d11223355")
        try BundleFixture.writeBundle(in: later, taskID: "bgb-0a1b2c3e", json: BundleFixture.schema4(
            taskID: "bgb-0a1b2c3e", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        poll("the second removal on the terminal") { text.contains("pi/3f2a…/bgb-0a1b2c3e  delivered 2h ago") }
        XCTAssertFalse(text.contains("TASKREAPER_"), text)
        // Ctrl-C: the watcher stops and says what it did.
        kill(watcher!, SIGINT)
        poll("the exit summary") { text.contains("taskreaper: Watched 1 root for ") }
        XCTAssertEqual(script.waitForExitStatus(timeout: 10), 0, text)
    }
}
