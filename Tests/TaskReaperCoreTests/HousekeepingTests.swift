import TaskReaperCore
import XCTest

final class HousekeepingTests: XCTestCase {
    let policy = Policy()  // finalize grace 5 s

    func testARowIsSyncedOnlyOnceTheJSONHasSettled() {
        let rows: [(jsonModified: Millis, now: Millis, expected: Housekeeping.RowSync, line: UInt)] = [
            (1_000, 1_000, .settlingUntil(6_000), #line),   // just written: the harness's turn
            (1_000, 5_999, .settlingUntil(6_000), #line),
            (1_000, 6_000, .now, #line),                    // grace over
            (.max - 1, 0, .settlingUntil(.max), #line),     // a far-future mtime does not trap
        ]
        for row in rows {
            XCTAssertEqual(Housekeeping.rowSync(jsonModified: row.jsonModified, now: row.now, policy: policy), row.expected, line: row.line)
        }
    }

    func testASessionIsLeftEmptyOnlyWhenThisPassRemovedEverythingInIt() {
        let rows: [(removed: Int, atStart: Int, expected: Bool, line: UInt)] = [
            (3, 3, true, #line),
            (2, 3, false, #line),   // someone's file is still there
            (0, 0, false, #line),   // found empty: the 1 h rule's business, not this one
        ]
        for row in rows {
            XCTAssertEqual(Housekeeping.sessionLeftEmpty(removedEntries: row.removed, entriesAtStart: row.atStart), row.expected, line: row.line)
        }
    }
}
