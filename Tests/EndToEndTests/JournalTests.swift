import Foundation
import TaskReaperTestSupport
import XCTest

/// Actions reach the real journald with structured fields, read back with journalctl.
final class JournalTests: XCTestCase {
    func testEveryActionIsOneStructuredJournalEntry() throws {
        guard Journal.isAvailable else {
            if Journal.isRequired { return XCTFail("journald is not running: scripts/start-journald.sh must start it in CI") }
            throw XCTSkip("no journald socket; run scripts/start-journald.sh")
        }
        let root = try TemporaryDirectory()
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        // A unique task id makes this run's entries findable among everything else.
        let taskID = "bgb-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let gone = try HarnessProcess.exited()
        try BundleFixture.write(dir, "\(taskID).json", BundleFixture.schema4(
            taskID: taskID, sessionID: "ses_journal\nwith newline", status: "killing", startedAt: BundleFixture.nowMs() - 60_000,
            childPID: gone.pid, pgid: gone.pid))
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "journal", "--finalize-grace", "0"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "", "journal target: only errors go to stderr")

        var entries: [[String: Any]] = []
        poll("the entries in the journal") {
            entries = (try? Journal.entries(matching: ["TASKREAPER_TASK_ID=\(taskID)"])) ?? []
            return entries.count >= 2
        }
        let finalize = try XCTUnwrap(entries.first { $0["TASKREAPER_ACTION"] as? String == "finalize" })
        XCTAssertEqual(finalize["SYSLOG_IDENTIFIER"] as? String, "taskreaper")
        XCTAssertEqual(finalize["PRIORITY"] as? String, "5")
        XCTAssertEqual(finalize["MESSAGE_ID"] as? String, "2d5bc4079ab44e09b066ac3b9be3eca6")
        XCTAssertEqual(finalize["MESSAGE"] as? String, "Finalized task \(taskID): killing -> killed: killed while owner was gone")
        XCTAssertEqual(finalize["TASKREAPER_PATH"] as? String, dir + "/\(taskID).json")
        XCTAssertEqual(finalize["TASKREAPER_HARNESS"] as? String, "pi")
        XCTAssertEqual(finalize["TASKREAPER_SESSION"] as? String, "0123456789abcdef")
        XCTAssertEqual(finalize["TASKREAPER_DRY_RUN"] as? String, "0")
        XCTAssertEqual(finalize["TASKREAPER_FROM"] as? String, "killing")
        XCTAssertEqual(finalize["TASKREAPER_TO"] as? String, "killed")
        XCTAssertEqual(finalize["TASKREAPER_REASON"] as? String, "killed while owner was gone")
        XCTAssertNil(finalize["TASKREAPER_EXIT_CODE"], "no exit code for killed")
        // A value with a newline survives: journalctl shows it as a byte array or the string.
        let sessionID = finalize["TASKREAPER_SESSION_ID"]
        if let text = sessionID as? String {
            XCTAssertEqual(text, "ses_journal\nwith newline")
        } else {
            XCTAssertEqual((sessionID as? [Int])?.map { UInt8($0) }, Array("ses_journal\nwith newline".utf8))
        }
        let marker = try XCTUnwrap(entries.first { $0["TASKREAPER_ACTION"] as? String == "write_kill_marker" })
        XCTAssertEqual(marker["MESSAGE_ID"] as? String, "690933814b6d499484f5627882bf7155")
        XCTAssertEqual(marker["PRIORITY"] as? String, "6")

        var summaries: [[String: Any]] = []
        poll("the summary entry") {
            summaries = ((try? Journal.entries(matching: ["MESSAGE_ID=1d3c8120479a40e9b07fc3dd0f953a9a", "TASKREAPER_ROOTS=\(root.path)"])) ?? [])
            return !summaries.isEmpty
        }
        XCTAssertEqual(summaries.first?["TASKREAPER_COUNT_FINALIZE"] as? String, "1")
    }

    /// Issue 14.1: a session's routine removals are one journal entry naming every task
    /// (TASKREAPER_TASK_ID once per task: journalctl finds it by any of them), while --json
    /// keeps one line per task and the counts stay per task.
    func testASessionsRemovalsAreOneEntryNamingEveryTask() throws {
        guard Journal.isAvailable else {
            if Journal.isRequired { return XCTFail("journald is not running: scripts/start-journald.sh must start it in CI") }
            throw XCTSkip("no journald socket; run scripts/start-journald.sh")
        }
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let prefix = "bgb-" + String(UInt16.random(in: 0...UInt16.max), radix: 16)
        let ids = (0..<3).map { "\(prefix)\($0)" }
        for id in ids {
            try BundleFixture.write(dir, id + ".stdout", "x", ageMs: 2 * BundleFixture.hour)
            try BundleFixture.write(dir, id + ".json", BundleFixture.schema4(taskID: id, status: "completed", startedAt: 1,
                                                                            completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        }
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "journal", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.actions("remove_bundle").compactMap { $0["task_id"] as? String }.sorted(), ids, "one --json line per task")
        var entries: [[String: Any]] = []
        poll("the removal entry") {
            entries = ((try? Journal.entries(matching: ["TASKREAPER_TASK_ID=\(ids[1])"])) ?? [])
            return !entries.isEmpty
        }
        XCTAssertEqual(entries.count, 1, "one entry for the session's three removals")
        let entry = try XCTUnwrap(entries.first)
        XCTAssertEqual(Set(entry["TASKREAPER_TASK_ID"] as? [String] ?? []), Set(ids))
        XCTAssertEqual(entry["TASKREAPER_TASKS"] as? String, "3")
        XCTAssertEqual(entry["TASKREAPER_FILES"] as? String, "6")
        XCTAssertEqual(entry["MESSAGE"] as? String, "Removed 3 delivered bundles of session 0123456789abcdef (6 files)")
        XCTAssertEqual(entry["MESSAGE_ID"] as? String, "a5c630d3578b438a811bf18d7d8f4900")
        var summaries: [[String: Any]] = []
        poll("the summary entry") {
            summaries = ((try? Journal.entries(matching: ["MESSAGE_ID=1d3c8120479a40e9b07fc3dd0f953a9a", "TASKREAPER_ROOTS=\(root.path)"])) ?? [])
            return !summaries.isEmpty
        }
        XCTAssertEqual(summaries.first?["TASKREAPER_COUNT_REMOVE_BUNDLE"] as? String, "3", "counted per task")
    }
}
