import Foundation
import TaskReaperCore
import XCTest

/// CONTRACT §3: reading like serde, rewriting like mark_terminal + write_task.
final class TaskDocumentTests: XCTestCase {
    let schema3 = """
    {
      "schema_version": 3,
      "task_id": "bgb-1a2b3c4d",
      "session_id": "ses_\\u00e9\\n",
      "command": "echo \\"hi\\"",
      "workdir": "/w",
      "status": "running",
      "started_at": 1764000000123,
      "child_pid": 4242,
      "pgid": 4242,
      "completion_delivered": false,
      "notify_on_completion": false,
      "future_field": {"nested": [1, 2.50, 1e400, -0]},
      "big": 18446744073709551615
    }
    """

    func testMarkTerminalFollowsTheSeed() throws {
        let document = try TaskDocument(parsing: Array(schema3.utf8))
        let done = document.markedTerminal(.failed, exitCode: 7, reason: "why", now: 1_764_000_010_000)
        let object = done.object
        XCTAssertEqual(object["schema_version"], .integer(4))
        XCTAssertEqual(object["status"], .string("failed"))
        XCTAssertEqual(object["exit_code"], .integer(7))
        XCTAssertEqual(object["finished_at"], .integer(1_764_000_010_000 as UInt64))
        XCTAssertEqual(object["duration_ms"], .integer(9877))
        XCTAssertEqual(object["child_pid"], .null)
        XCTAssertEqual(object["pgid"], .integer(4242), "pgid is kept")
        XCTAssertEqual(object["status_reason"], .string("why"))
        XCTAssertEqual(object["completion_delivered"], .bool(true), "= !notify_on_completion")
        // Schema-4 keys serde fills in on read are written out.
        XCTAssertEqual(object["mode"], .string("pipes"))
        XCTAssertEqual(object["compressed"], .bool(true))
        XCTAssertEqual(object["pty_rows"], .null)
    }

    func testUnknownKeysAndExactNumbersSurviveARewrite() throws {
        let document = try TaskDocument(parsing: Array(schema3.utf8))
        let text = String(decoding: document.markedTerminal(.completed, exitCode: 0, reason: nil, now: 1_764_000_010_000).encoded(), as: UTF8.self)
        XCTAssertTrue(text.contains("\"future_field\": {\n    \"nested\": [\n      1,\n      2.50,\n      1e400,\n      -0\n    ]\n  }"), text)
        XCTAssertTrue(text.contains("\"big\": 18446744073709551615"), text)
        XCTAssertTrue(text.contains("\"started_at\": 1764000000123"), text)
        // Strings keep their meaning (re-escaped the way serde escapes).
        let reparsed = try TaskDocument(parsing: Array(text.utf8))
        XCTAssertEqual(reparsed.sessionID, "ses_é\n")
        XCTAssertEqual(reparsed.object["command"], .string("echo \"hi\""))
        XCTAssertEqual(reparsed.object["future_field"], document.object["future_field"])
    }

    func testSerdePrettyFormat() throws {
        let document = try TaskDocument(parsing: Array(#"{"schema_version":4,"task_id":"t","session_id":"s","command":"c","workdir":"/","status":"completed","started_at":1,"completion_delivered":true,"empty":{},"list":[]}"#.utf8))
        XCTAssertEqual(String(decoding: document.encoded(), as: UTF8.self), """
        {
          "schema_version": 4,
          "task_id": "t",
          "session_id": "s",
          "command": "c",
          "workdir": "/",
          "status": "completed",
          "started_at": 1,
          "completion_delivered": true,
          "empty": {},
          "list": []
        }
        """)
    }

    func testUnknownKeysGivenTwiceAreKeptAsSerdeIgnoresThem() throws {
        let text = schema3.replacingOccurrences(of: "{\n", with: "{\n  \"x_new\": 1,\n  \"x_new\": {\"a\": 1, \"a\": 2},\n")
        let document = try TaskDocument(parsing: Array(text.utf8))
        XCTAssertEqual(document.object.keys.filter { $0 == "x_new" }.count, 2)
    }

    /// Schemas 2 to 7 are read (flat or directory); anything else is never touched.
    func testSchemasOutsideTwoToSevenAreRefused() {
        for version in ["1", "8", "99"] {
            let text = schema3.replacingOccurrences(of: "\"schema_version\": 3", with: "\"schema_version\": \(version)")
            XCTAssertThrowsError(try TaskDocument(parsing: Array(text.utf8))) { error in
                XCTAssertEqual(error as? TaskDocument.Problem, .unsupportedSchema(UInt32(version)!))
            }
        }
    }

    func testSchemasFiveToSevenAreReadAndKeepTheirVersionWhenFinalized() throws {
        for version in 5...7 {
            let text = schema3.replacingOccurrences(of: "\"schema_version\": 3", with: "\"schema_version\": \(version)")
            let document = try TaskDocument(parsing: Array(text.utf8))
            XCTAssertTrue(document.followsCurrentRules)
            let finalized = document.markedTerminal(.fateUnknown, exitCode: nil, reason: "r", now: 1_764_000_009_000)
            XCTAssertEqual(finalized.schemaVersion, UInt32(version))
            XCTAssertEqual(finalized.object["status"], .string("fate_unknown"))
        }
        let old = try TaskDocument(parsing: Array(schema3.utf8))
        XCTAssertFalse(old.followsCurrentRules)
        XCTAssertEqual(old.markedTerminal(.failed, exitCode: 1, reason: nil, now: 1_764_000_009_000).schemaVersion, 4, "2-3 become 4")
    }

    func testWhatSerdeWouldRejectIsAProblem() {
        let cases: [(String, String)] = [
            ("\"started_at\": 1764000000123", "\"started_at\": 1.764e12"),
            ("\"started_at\": 1764000000123", "\"started_at\": -5"),
            ("\"child_pid\": 4242", "\"child_pid\": \"4242\""),
            ("\"status\": \"running\"", "\"status\": \"paused\""),
            ("\"completion_delivered\": false,", ""),
        ]
        for (from, to) in cases {
            let text = schema3.replacingOccurrences(of: from, with: to)
            XCTAssertThrowsError(try TaskDocument(parsing: Array(text.utf8)), to)
        }
        // A field given twice (serde: "duplicate field"), even with the same value.
        for key in ["status", "started_at", "child_pid", "completion_delivered", "task_id"] {
            let line = schema3.split(separator: "\n").first { $0.contains("\"\(key)\":") }!
            let text = schema3.replacingOccurrences(of: "{\n", with: "{\n\(line)\n")
            XCTAssertThrowsError(try TaskDocument(parsing: Array(text.utf8)), key) { error in
                XCTAssertEqual(error as? TaskDocument.Problem, .invalidField(key, "appears more than once"))
            }
        }
        let twiceRunning = schema3.replacingOccurrences(of: "\"status\": \"running\",", with: "\"status\": \"completed\", \"status\": \"running\",")
        XCTAssertThrowsError(try TaskDocument(parsing: Array(twiceRunning.utf8)), "last one no longer wins")
        XCTAssertThrowsError(try TaskDocument(parsing: Array("{\"schema_version\": 4".utf8)))
        XCTAssertThrowsError(try TaskDocument(parsing: Array("[]".utf8)))
        XCTAssertThrowsError(try TaskDocument(parsing: []))
    }
}
