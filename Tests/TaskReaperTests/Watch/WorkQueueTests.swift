@testable import TaskReaper
import TaskReaperCore
import XCTest

/// The watcher's work queue: dirty keys now, deadlines later, one deadline per key.
final class WorkQueueTests: XCTestCase {
    func testAddedKeysAreTakenOnceAndTheSetEmpties() {
        var queue = WorkQueue<String>()
        queue.add("a")
        queue.add("a")
        queue.add("b")
        XCTAssertTrue(queue.hasDirty)
        XCTAssertEqual(Set(queue.takeDirty()), ["a", "b"])
        XCTAssertFalse(queue.hasDirty)
        XCTAssertEqual(queue.takeDirty(), [])
    }

    func testADeadlineBecomesDirtyWhenDueAndNotBefore() {
        var queue = WorkQueue<String>()
        queue.schedule("a", at: 100)
        queue.schedule("b", at: 50)
        XCTAssertEqual(queue.nextDeadline(), 50)
        queue.promoteDue(now: 49)
        XCTAssertFalse(queue.hasDirty)
        queue.promoteDue(now: 50)
        XCTAssertEqual(queue.takeDirty(), ["b"])
        XCTAssertEqual(queue.nextDeadline(), 100)
        XCTAssertEqual(queue.deadlineCount, 1)
    }

    func testRescheduleReplacesTheKeysDeadlineEitherWay() {
        var queue = WorkQueue<String>()
        queue.schedule("a", at: 100)
        queue.schedule("a", at: 300)  // later: the old 100 must not fire
        queue.promoteDue(now: 200)
        XCTAssertFalse(queue.hasDirty)
        XCTAssertEqual(queue.nextDeadline(), 300)
        queue.schedule("a", at: 10)  // earlier
        XCTAssertEqual(queue.nextDeadline(), 10)
        queue.schedule("a", at: nil)  // none
        XCTAssertNil(queue.nextDeadline())
        queue.promoteDue(now: .max)
        XCTAssertFalse(queue.hasDirty)
    }

    func testForgetDropsDirtyAndDeadline() {
        var queue = WorkQueue<String>()
        queue.add("a")
        queue.schedule("a", at: 5)
        queue.schedule("b", at: 6)
        queue.forget("a")
        queue.forget("b")
        XCTAssertFalse(queue.hasDirty)
        XCTAssertNil(queue.nextDeadline())
        XCTAssertEqual(queue.deadlineCount, 0)
    }

    /// A session polled every few seconds for hours reschedules thousands of times: the
    /// heap must not grow with dead entries, and the live deadline must stay exact.
    func testManyReschedulesKeepOneLiveDeadlinePerKey() {
        var queue = WorkQueue<Int>()
        for round in 0..<10_000 { queue.schedule(round % 3, at: Millis(1_000 + round)) }
        XCTAssertEqual(queue.deadlineCount, 3)
        XCTAssertEqual(queue.nextDeadline(), 1_000 + 9_997)
        queue.promoteDue(now: 1_000 + 9_998)
        XCTAssertEqual(Set(queue.takeDirty()), [1, 2])
        XCTAssertEqual(queue.nextDeadline(), 1_000 + 9_999)
    }

    func testFarFutureDeadlinesDoNotTrap() {
        var queue = WorkQueue<String>()
        queue.schedule("a", at: .max)
        queue.promoteDue(now: .max - 1)
        XCTAssertFalse(queue.hasDirty)
        queue.promoteDue(now: .max)
        XCTAssertEqual(queue.takeDirty(), ["a"])
    }
}
