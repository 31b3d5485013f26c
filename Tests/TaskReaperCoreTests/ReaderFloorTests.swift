import TaskReaperCore
import XCTest

/// CONTRACT §7.7 / docs/formats.md §7, one row per case.
final class ReaderFloorTests: XCTestCase {
    func testEveryFloorIsJudgedAsTheHarnessReadsIt() {
        let rows: [(text: String, allowed: Bool, line: UInt)] = [
            (#"{"floor_schema": 1, "stores": {"aft.db": 13, "bash_task": 7, "search": 4}}"#, true, #line),
            (#"{"floor_schema": 1, "stores": {"bash_task": 6}}"#, true, #line),
            (#"{"floor_schema": 1, "stores": {"search": 4}}"#, true, #line),          // no bash_task: no floor for it
            (#"{"floor_schema": 1, "stores": {"bash_task": 8}}"#, false, #line),      // a newer harness writes here
            (#"{"floor_schema": 2, "stores": {"bash_task": 7}}"#, false, #line),      // a format we cannot read
            (#"{"stores": {"bash_task": 7}}"#, false, #line),
            (#"{"floor_schema": 1, "stores": {"bash_task": "7"}}"#, false, #line),
            (#"{"floor_schema": 1, "stores": {"search": 1.5, "bash_task": 7}}"#, false, #line),
            (#"{"floor_schema": 1}"#, false, #line),
            (#"{"floor_schema": 1, "stores": {"bash_task": 7}"#, false, #line),      // truncated
            ("", false, #line),
        ]
        for row in rows {
            let verdict = ReaderFloor.judge(Array(row.text.utf8))
            XCTAssertEqual(verdict == .allowed, row.allowed, "\(row.text): \(verdict)", line: row.line)
        }
    }
}
