import Foundation
import TaskReaperTestSupport
import XCTest

/// `--json` as an interface (issue 13.6): a versioned line format with a timestamp, keys in
/// one documented order, absolute paths, and the same lines in the same order on every run.
final class JSONInterfaceTests: XCTestCase {
    var root: TemporaryDirectory!

    /// Every key a sweep line may have, in the documented order (README "--json lines").
    static let keyOrder = ["schema", "ts", "action", "path", "dry_run", "task_id", "session", "session_id", "harness", "root",
                           "from", "to", "exit_code", "reason", "files", "destination", "error", "operation", "pgid",
                           "signal_result", "db_row", "json", "busy_timeout_ms", "retry_after_ms", "holder_pid", "holder_command",
                           "roots", "sessions", "bundles", "counts", "next_due_at", "duration_ms", "message"]

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        for s in 0..<40 {
            let harness = ["opencode", "pi", nil][s % 3]
            let session = try BundleFixture.sessionDirectory(root: root.path, harness: harness, session: String(format: "%016x", s * 7919))
            for b in 0..<3 {
                let id = String(format: "bgb-%08x", s * 16 + b)
                try BundleFixture.writeBundle(in: session, taskID: id, json: BundleFixture.schema4(
                    taskID: id, status: "completed", startedAt: 1, completionDelivered: b != 2, exitCode: 0),
                    members: [(.stdout, "x")], ageMs: b == 2 ? 31 * 24 * BundleFixture.hour : 2 * BundleFixture.hour)
            }
            if s % 5 == 0 { try BundleFixture.write(session, "bgb-ffff\(s).json", "{", ageMs: 60_000) }
        }
    }

    private func stripVolatile(_ line: Substring) -> String {
        line.replacingOccurrences(of: #""ts":"[^"]*""#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #""duration_ms":\d+"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #" in \d+ ms"#, with: "", options: .regularExpression)
    }

    func testTheSameTreeGivesTheSameLinesInTheSameOrder() throws {
        let first = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"])
        XCTAssertEqual(first.status, 0, first.stderr)
        // 120 bundles, 8 corrupt reports, 32 sessions left empty, the summary.
        XCTAssertEqual(first.jsonLines.count, 40 * 3 + 8 + 32 + 1, first.stdout)
        for _ in 0..<3 {
            let again = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"])
            XCTAssertEqual(again.stdout.split(separator: "\n").map(stripVolatile), first.stdout.split(separator: "\n").map(stripVolatile))
        }
        // Sorted by harness (legacy first), then session.
        let places = first.jsonLines.dropLast().map { "\($0["harness"] as? String ?? "")/\($0["session"] as? String ?? "")" }
        XCTAssertEqual(places, places.sorted())
    }

    func testEveryLineIsVersionedTimestampedOrderedAndAbsolute() throws {
        let run = try TaskReaperBinary.run(["sweep", "--root", ".", "--json", "--log-target", "stderr"], workingDirectory: root.path)
        XCTAssertEqual(run.status, 0, run.stderr)
        let rank = Dictionary(uniqueKeysWithValues: Self.keyOrder.enumerated().map { ($1, $0) })
        for text in run.stdout.split(separator: "\n") {
            let keys = JSONKeyOrder.topLevelKeys(String(text))
            XCTAssertEqual(Array(keys.prefix(2)), ["schema", "ts"], String(text))
            let ranks = keys.map { rank[$0] ?? -1 }
            XCTAssertFalse(ranks.contains(-1), "an undocumented key: \(keys)")
            XCTAssertEqual(ranks, ranks.sorted(), "keys out of the documented order: \(keys)")
        }
        let ms = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#
        for line in run.jsonLines {
            XCTAssertEqual(line["schema"] as? Int, 1)
            let ts = try XCTUnwrap(line["ts"] as? String)
            XCTAssertNotNil(ts.range(of: ms, options: .regularExpression), ts)
            if let path = line["path"] as? String { XCTAssertTrue(path.hasPrefix(root.path + "/"), path) }
            if let path = line["root"] as? String { XCTAssertEqual(path, root.path) }
            if let path = line["destination"] as? String { XCTAssertTrue(path.hasPrefix(root.path + "/"), path) }
        }
        XCTAssertEqual(run.jsonLines.last?["roots"] as? [String], [root.path])
        // The timestamp is now, in UTC.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = try XCTUnwrap(formatter.date(from: run.jsonLines.last?["ts"] as? String ?? ""))
        XCTAssertLessThan(abs(stamp.timeIntervalSinceNow), 60)
    }
}
