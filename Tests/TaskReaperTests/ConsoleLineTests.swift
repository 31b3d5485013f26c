@testable import TaskReaper
import TaskReaperCore
import XCTest

/// The console's one line per report (README "Console output").
final class ConsoleLineTests: XCTestCase {
    let now: Millis = 1_800_000_000_000

    func testARemovalNamesWhereAndHowOld() {
        var report = ActionReport(.removeBundle, path: "/r/opencode/bash-tasks/3f2a9c0d11223344/bgb-0a1b2c3d.json",
                                  location: Location(root: "/r", harness: "opencode", session: "3f2a9c0d11223344", taskID: "bgb-0a1b2c3d"),
                                  message: "Would remove delivered bundle of task bgb-0a1b2c3d (2 files)")
        report.reason = "delivered"
        report.since = now - 2 * .hour - 5 * .minute
        XCTAssertEqual(ConsoleLine.format(report, dryRun: true, now: now, color: false),
                       "would remove       opencode/3f2a…/bgb-0a1b2c3d  delivered 2h ago")
        report.details = [("files", .integer(2)), ("db_row", .string("would_delete"))]
        XCTAssertEqual(ConsoleLine.format(report, dryRun: false, now: now, color: false),
                       "removed            opencode/3f2a…/bgb-0a1b2c3d  delivered 2h ago; aft.db row would delete")
    }

    func testAFinalizationOfTheLegacyTreeAndHostileNames() {
        var report = ActionReport(.finalize, path: "/r/bash-tasks/s/x.json",
                                  location: Location(root: "/r", harness: nil, session: "abc\ndef0123", taskID: "bgb-1\u{1B}[31m"),
                                  message: "m")
        report.from = .running
        report.to = .failed
        report.exitCode = 3
        report.reason = "line\nbreak"
        let line = ConsoleLine.format(report, dryRun: false, now: now, color: false)
        XCTAssertEqual(line, "finalized          bash-tasks/abc\\n…/bgb-1\\x1b[31m  running -> failed (exit 3): line\\nbreak")
        XCTAssertFalse(line.contains("\n"))
    }

    func testProblemsKeepTheirSentenceAndRootLevelReportsTheirPath() {
        let locked = ActionReport(.skipLockedRoot, path: "/r", location: Location(root: "/r", harness: nil),
                                  message: "Skipped root /r: another taskreaper holds its lock")
        XCTAssertEqual(ConsoleLine.format(locked, dryRun: false, now: now, color: false),
                       "locked             /r  Skipped root /r: another taskreaper holds its lock")
        XCTAssertEqual(ConsoleLine.format(locked, dryRun: false, now: now, color: true).prefix(5), "\u{1B}[33m")
    }
}
