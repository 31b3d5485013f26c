import TaskReaperCore
import XCTest

/// CONTRACT §6: the row columns a finalization writes, as the seed's to_bash_task_row.
final class MirrorRowTests: XCTestCase {
    func testAFinalizedSchema3TaskGivesTheHarnessRow() throws {
        let text = """
        {
          "schema_version": 3,
          "task_id": "bgb-1",
          "session_id": "ses_\\u00e9",
          "command": "echo \\"hi\\"\\n",
          "workdir": "/w",
          "status": "running",
          "started_at": 1764000000123,
          "child_pid": 4242,
          "pgid": 4242,
          "completion_delivered": false,
          "notify_on_completion": false,
          "future": {"n": 1.50, "big": 1764000000000000123}
        }
        """
        let document = try TaskDocument(parsing: Array(text.utf8))
            .markedTerminal(.failed, exitCode: 7, reason: nil, now: 1_764_000_005_000)
        let row = MirrorRow(document)
        XCTAssertEqual(row.status, .failed)
        XCTAssertEqual(row.exitCode, 7)
        XCTAssertEqual(row.completedAt, 1_764_000_005_000)
        XCTAssertTrue(row.completionDelivered, "notify_on_completion false: nothing left to deliver")
        // serde_json::to_string: no whitespace, keys in file order, numbers as written,
        // non-ASCII as is, schema 4 with every schema-4 key present.
        XCTAssertEqual(row.metadata, #"{"schema_version":4,"task_id":"bgb-1","session_id":"ses_é","command":"echo \"hi\"\n","#
            + #""workdir":"/w","status":"failed","started_at":1764000000123,"child_pid":null,"pgid":4242,"#
            + #""completion_delivered":true,"notify_on_completion":false,"future":{"n":1.50,"big":1764000000000000123},"#
            + #""mode":"pipes","project_root":null,"finished_at":1764000005000,"duration_ms":4877,"timeout_ms":null,"#
            + #""exit_code":7,"compressed":true,"pty_rows":null,"pty_cols":null,"status_reason":null}"#)
    }

    func testATaskStillWithoutFinishedAtHasNoCompletedAt() throws {
        let text = #"{"schema_version":2,"task_id":"t","session_id":"s","command":"c","workdir":"/","status":"killed","started_at":1,"completion_delivered":true}"#
        let row = MirrorRow(try TaskDocument(parsing: Array(text.utf8)))
        XCTAssertNil(row.completedAt)
        XCTAssertNil(row.exitCode)
        XCTAssertTrue(row.metadata.hasPrefix(#"{"schema_version":4,"#), row.metadata)
    }
}
