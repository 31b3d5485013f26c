import Foundation
import Logging
import Synchronization
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// The per-root aft.db handle over time, with a clock the test moves: what a long-lived
/// `watch` sees when the harness holds its write lock.
final class TaskMirrorTests: XCTestCase {
    var root: TemporaryDirectory!
    let now = FakeClock()

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    private func context(_ policy: Policy, log: CollectingLogHandler, dryRun: Bool = false) throws -> ReconcileContext {
        let now = self.now
        return ReconcileContext(policy: policy, processes: try ProcessTable(),
                                reporter: Reporter(logger: Logger(label: "test") { _ in log }, dryRun: dryRun),
                                clock: { now.read() })
    }

    private func delivered(_ id: String) throws -> TaskDocument {
        try TaskDocument(parsing: Array(BundleFixture.schema4(taskID: id, status: "completed", startedAt: 1,
                                                               completionDelivered: true, exitCode: 0).utf8))
    }

    func testABusyDatabaseCostsOneTimeoutPerBackoffNotOnePerRow() throws {
        let db = try HarnessDatabase.create(root: root.path)
        for id in ["bgb-1", "bgb-2", "bgb-3"] {
            try db.insert(harness: "opencode", sessionID: "ses_test", taskID: id, status: "completed", delivered: true)
        }
        var policy = Policy()
        policy.dbBusyTimeout = 300
        policy.dbBusyBackoff = 60_000
        let log = CollectingLogHandler()
        let context = try context(policy, log: log)
        let mirror = TaskMirror(root: try DirectoryHandle.open(root: root.path), rootPath: root.path, policy: policy)
        let start = now.read()

        try db.lock()
        let started = Date()
        XCTAssertEqual(mirror.removing(try delivered("bgb-1"), taskID: "bgb-1", harness: "opencode", context: context),
                       .deferred(until: start + 60_000))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.29, "waited the busy timeout")
        XCTAssertEqual(mirror.removing(try delivered("bgb-2"), taskID: "bgb-2", harness: "opencode", context: context),
                       .deferred(until: start + 60_000))
        try db.unlock()
        now.advance(59_999)
        // Within the backoff the database is not even tried (so there is no second wait):
        // with the lock free, a try would have succeeded.
        XCTAssertEqual(mirror.removing(try delivered("bgb-2"), taskID: "bgb-2", harness: "opencode", context: context),
                       .deferred(until: start + 60_000), "the backoff holds even once the lock is free")
        XCTAssertNotNil(try db.row(harness: "opencode", sessionID: "ses_test", taskID: "bgb-2"))
        now.advance(1)
        XCTAssertEqual(mirror.removing(try delivered("bgb-2"), taskID: "bgb-2", harness: "opencode", context: context), .changed)
        XCTAssertNil(try db.row(harness: "opencode", sessionID: "ses_test", taskID: "bgb-2"))
        XCTAssertEqual(context.reporter.counters[.dbBusy], 1, "one warning per busy spell")
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    /// A missing aft.db is believed for `absenceTrusted` (a statx per removal was 4.6 % of a
    /// sweep), and no longer: one the harness creates later gets its rows kept in step.
    func testAnAftDbCreatedLaterIsUsedOnceItsAbsenceIsNoLongerTrusted() throws {
        let log = CollectingLogHandler()
        let context = try context(Policy(), log: log)
        let mirror = TaskMirror(root: try DirectoryHandle.open(root: root.path), rootPath: root.path, policy: Policy())
        XCTAssertEqual(mirror.removing(try delivered("bgb-1"), taskID: "bgb-1", harness: "opencode", context: context), .noDatabase)
        let db = try HarnessDatabase.create(root: root.path)
        try db.insert(harness: "opencode", sessionID: "ses_test", taskID: "bgb-2", status: "completed", delivered: true)
        // Each try is a removal a sweep would make; after the window the file is looked at again.
        try waitUntil("the new aft.db is used") {
            mirror.removing(try! self.delivered("bgb-2"), taskID: "bgb-2", harness: "opencode", context: context) == .changed
        }
        XCTAssertNil(try db.row(harness: "opencode", sessionID: "ses_test", taskID: "bgb-2"))
    }

    func testAnUnusableFileIsReportedOncePerPassAndTriedAgainWhenReplaced() throws {
        try BundleFixture.write(root.path, "aft.db", String(repeating: "garbage ", count: 512))
        let log = CollectingLogHandler()
        let context = try context(Policy(), log: log)
        let mirror = TaskMirror(root: try DirectoryHandle.open(root: root.path), rootPath: root.path, policy: Policy())
        for id in ["bgb-1", "bgb-2"] {
            XCTAssertEqual(mirror.removing(try delivered(id), taskID: id, harness: "opencode", context: context), .failed)
        }
        XCTAssertEqual(context.reporter.counters.failures, 1)
        mirror.beginPass()
        XCTAssertEqual(mirror.removing(try delivered("bgb-3"), taskID: "bgb-3", harness: "opencode", context: context), .failed)
        XCTAssertEqual(context.reporter.counters.failures, 2, "a new pass reports it again")

        // The harness replaces it with a real database (rename over it): used at once.
        let fresh = try TemporaryDirectory()
        let db = try HarnessDatabase.create(root: fresh.path)
        try db.insert(harness: "opencode", sessionID: "ses_test", taskID: "bgb-4", status: "completed", delivered: true)
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        XCTAssertEqual(rename(fresh.path + "/aft.db", root.path + "/aft.db"), 0)
        XCTAssertEqual(mirror.removing(try delivered("bgb-4"), taskID: "bgb-4", harness: "opencode", context: context), .changed)
        XCTAssertEqual(context.reporter.counters.failures, 2)
    }
}

/// A clock tests move by hand.
final class FakeClock: Sendable {
    private let value = Mutex<Millis>(1_800_000_000_000)
    func read() -> Millis { value.withLock { $0 } }
    func advance(_ ms: Millis) { value.withLock { $0 += ms } }
}
