import Foundation
import TaskReaperTestSupport
import XCTest

/// Under systemd stderr is a journal stream ($JOURNAL_STREAM): an error must reach the
/// journal once, as the structured entry, not a second time through stderr.
final class OneEntryPerErrorTests: XCTestCase {
    /// A root whose sweep has exactly one error: an aft.db that is not SQLite, next to a
    /// delivered bundle (whose row must go first).
    private func rootWithOneError() throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        FileManager.default.createFile(atPath: root.path + "/aft.db", contents: Data("garbage\n".utf8))
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try BundleFixture.write(dir, "bgb-0000e001.json", BundleFixture.schema4(
            taskID: "bgb-0000e001", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        return root
    }

    func testWithoutAJournalStreamErrorsAreAlsoOnStderr() throws {
        let root = try rootWithOneError()
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "journal"],
                                           environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderr.components(separatedBy: "taskreaper: error").count - 1, 1, run.stderr)
    }

    func testStderrConnectedToTheJournalCarriesNoCopy() throws {
        guard Journal.isAvailable else {
            if Journal.isRequired { return XCTFail("journald is not running: scripts/start-journald.sh must start it in CI") }
            throw XCTSkip("no journald socket; run scripts/start-journald.sh")
        }
        let root = try rootWithOneError()
        // As systemd runs a service: stdout and stderr a journal stream (systemd-cat makes
        // one), JOURNAL_STREAM its device:inode.
        let tag = "taskreaper-stream-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // After it, a marker line on the same stream: the stream is ordered, so once the
        // marker is in the journal, any copy of the error written before it is too.
        let script = "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) \"$0\" sweep --root \"$1\" --log-target journal; "
            + "status=$?; echo end-of-run >&2; exit $status"
        let run = try Subprocess.run("/usr/bin/systemd-cat", ["-t", tag, "/bin/sh", "-c", script, TaskReaperBinary.url.path, root.path],
                                     environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(run.status, 1, run.stderrText)

        var structured: [[String: Any]] = []
        poll("the structured error entry") {
            structured = (try? Journal.entries(matching: ["MESSAGE_ID=297b648640434786b367b1a5c475d6b4",
                                                          "TASKREAPER_ROOT=\(root.path)"])) ?? []
            return !structured.isEmpty
        }
        XCTAssertEqual(structured.count, 1)
        XCTAssertEqual(structured.first?["PRIORITY"] as? String, "3")
        var streamed: [[String: Any]] = []
        poll("the end-of-run marker on the stream") {
            streamed = (try? Journal.entries(matching: ["SYSLOG_IDENTIFIER=\(tag)"])) ?? []
            return streamed.contains { $0["MESSAGE"] as? String == "end-of-run" }
        }
        XCTAssertEqual(streamed.map { $0["MESSAGE"] as? String ?? "?" }, ["end-of-run"], "no copy of the error through stderr")
    }
}
