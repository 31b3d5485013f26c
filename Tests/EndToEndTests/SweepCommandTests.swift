import Foundation
import TaskReaperTestSupport
import XCTest

/// The built `taskreaper` binary, run as an operator or cron runs it.
final class SweepCommandTests: XCTestCase {
    var root: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    private func deliveredBundle(_ id: String = "bgb-00000001", harness: String? = "opencode") throws -> String {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: harness)
        try BundleFixture.write(dir, "\(id).stdout", "out", ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, sessionID: "ses_e2e", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        return dir
    }

    func testJSONLinesDescribeEachActionAndEndWithASummary() throws {
        let dir = try deliveredBundle()
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.jsonLines
        XCTAssertEqual(lines.count, 3, run.stdout)  // remove_bundle, remove_session_dir, summary
        let removal = try XCTUnwrap(run.actions("remove_bundle").first)
        XCTAssertEqual(removal["path"] as? String, dir + "/bgb-00000001.json")
        XCTAssertEqual(removal["dry_run"] as? Bool, false)
        XCTAssertEqual(removal["task_id"] as? String, "bgb-00000001")
        XCTAssertEqual(removal["session"] as? String, "0123456789abcdef")
        XCTAssertEqual(removal["session_id"] as? String, "ses_e2e")
        XCTAssertEqual(removal["harness"] as? String, "opencode")
        XCTAssertEqual(removal["reason"] as? String, "delivered")
        XCTAssertEqual(removal["files"] as? Int, 2)
        let summary = try XCTUnwrap(lines.last)
        XCTAssertEqual(summary["action"] as? String, "summary")
        XCTAssertEqual((summary["counts"] as? [String: Any])?["remove_bundle"] as? Int, 1)
        XCTAssertEqual(summary["bundles"] as? Int, 1)
        XCTAssertFalse(BundleFixture.exists(dir))
        // --log-target stderr: a human line per action, no TASKREAPER_* fields (those are in the JSON).
        XCTAssertTrue(run.stderr.contains("removed            opencode/0123…/bgb-00000001  delivered 2h ago"), run.stderr)
        XCTAssertFalse(run.stderr.contains("TASKREAPER_"), run.stderr)
    }

    func testSilentWhenNotATerminalAndNothingWentWrong() throws {
        _ = try deliveredBundle()
        // auto without journald prints only warnings and errors; with journald, nothing.
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "auto"],
                                           environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(run.stdout, "", "cron etiquette: no output on success")
        XCTAssertEqual(run.stderr, "")
    }

    func testDryRunChangesNothing() throws {
        _ = try deliveredBundle()
        let before = BundleFixture.snapshot(root.path)
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"])
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(run.actions("remove_bundle").first?["dry_run"] as? Bool, true)
        XCTAssertTrue(run.stderr.contains("would remove       opencode/0123…/bgb-00000001  delivered 2h ago"), run.stderr)
    }

    func testUsageAndConfigurationErrorsExitTwo() throws {
        let missing = try TaskReaperBinary.run(["sweep", "--root", root.path + "/nope"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains(root.path + "/nope"), missing.stderr)
        try BundleFixture.write(root.path, "file", "x")
        let notDir = try TaskReaperBinary.run(["sweep", "--root", root.path + "/file"])
        XCTAssertEqual(notDir.status, 2)
        XCTAssertTrue(notDir.stderr.contains("not a directory"), notDir.stderr)
        let badDuration = try TaskReaperBinary.run(["sweep", "--root", root.path, "--retention", "1,5h"])
        XCTAssertEqual(badDuration.status, 2)
        XCTAssertTrue(badDuration.stderr.contains("invalid duration '1,5h'"), badDuration.stderr)
        XCTAssertEqual(try TaskReaperBinary.run(["sweep", "--bogus"]).status, 2)
        XCTAssertEqual(try TaskReaperBinary.run(["sweep", "--log-target", "syslog", "--root", root.path]).status, 2)
        XCTAssertEqual(try TaskReaperBinary.run(["sweep", "--help"]).status, 0)
    }

    func testPolicyFlagsChangeDecisions() throws {
        let dir = try deliveredBundle()
        let kept = try TaskReaperBinary.run(["sweep", "--root", root.path, "--retention", "3h", "--json", "--log-target", "stderr"])
        XCTAssertEqual(kept.actions("remove_bundle").count, 0)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000001.json"))
        let removed = try TaskReaperBinary.run(["sweep", "--root", root.path, "--retention", "90m", "--json", "--log-target", "stderr"])
        XCTAssertEqual(removed.actions("remove_bundle").count, 1)
    }

    func testALockedRootExits75AndOtherRootsAreStillSwept() throws {
        let other = try TemporaryDirectory()
        let otherDir = try BundleFixture.sessionDirectory(root: other.path, harness: "pi")
        try BundleFixture.write(otherDir, "bgb-00000002.json", BundleFixture.schema4(
            taskID: "bgb-00000002", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        let dir = try deliveredBundle()
        // Another sweep holding the lock: `flock` on the root directory, as taskreaper does.
        let holder = try HarnessProcess(arguments: ["/usr/bin/flock", "--exclusive", root.path, "sleep", "30"])
        defer { holder.stop() }
        poll("the lock to be held") {
            let fd = open(root.path, O_RDONLY | O_DIRECTORY)
            defer { close(fd) }
            return flock(fd, LOCK_EX | LOCK_NB) != 0
        }
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--root", other.path, "--json", "--log-target", "stderr"])
        XCTAssertEqual(run.status, 75, run.stderr)
        XCTAssertEqual(run.actions("skip_locked_root").count, 1)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000001.json"))
        XCTAssertFalse(BundleFixture.exists(otherDir + "/bgb-00000002.json"))
    }

    func testFailuresExitOne() throws {
        let dir = try deliveredBundle()
        // An immutable member: unlink fails even for root; the error names the file.
        try makeImmutable(dir + "/bgb-00000001.stdout")
        defer { makeMutable(dir + "/bgb-00000001.stdout") }
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "auto"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains(dir + "/bgb-00000001.stdout"), "the error names the file: \(run.stderr)")
        XCTAssertTrue(run.stderr.contains("Operation not permitted"), run.stderr)
    }

    func testDefaultRootsComeFromTheEnvironment() throws {
        let dir = try deliveredBundle()
        var environment = ["HOME": root.path + "/home-without-roots", "PATH": "/usr/bin:/bin"]
        environment["AFT_STORAGE_DIR"] = root.path
        let run = try TaskReaperBinary.run(["sweep", "--json", "--log-target", "stderr"], environment: environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.jsonLines.last?["roots"] as? [String], [root.path])
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000001.json"))
        // No root at all: nothing to do, still a success.
        let none = try TaskReaperBinary.run(["sweep", "--json"], environment: ["HOME": root.path + "/empty-home"])
        XCTAssertEqual(none.status, 0)
        XCTAssertEqual(none.jsonLines.last?["roots"] as? [String], [])
    }
}
