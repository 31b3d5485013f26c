import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// An action that failed (ENOSPC, EROFS, EPERM) asks to be looked at again after
/// `Policy.failureRetry`. `watch` gets no inotify event when a disk is freed or remounted
/// read-write: without a deadline the item waited for an unrelated event or the 6 h safety
/// rescan (found by scripts/fault/fs-faults.py). Failures are made real with `chattr +i`.
final class FailureRetryTests: XCTestCase {
    var root: TemporaryDirectory!
    var immutable: [String] = []
    let now = BundleFixture.nowMs()

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    override func tearDown() {
        immutable.forEach(makeMutable)
    }

    private func freeze(_ path: String) throws {
        try makeImmutable(path)
        immutable.append(path)
    }

    private func sweepAtNow() throws -> SweepRun {
        let now = self.now
        return try sweep(root.path, policy: immediate(), clock: { now })
    }

    func testAFailedFinalizationIsLookedAtAgain() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let gone = try HarnessProcess.exited()
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: now - 60_000, childPID: gone.pid, pgid: gone.pid))
        try freeze(dir)  // no temp can be created in it
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertEqual(run.result.counters.nextDue, now + Policy().failureRetry)
    }

    func testAFailedRemovalIsLookedAtAgain() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "completed", startedAt: now - 3 * BundleFixture.hour,
            completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(dir, "bgb-00000001.stdout", "x", ageMs: 2 * BundleFixture.hour)
        try freeze(dir + "/bgb-00000001.stdout")
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertEqual(run.result.counters.nextDue, now + Policy().failureRetry)
    }

    func testAFailedSessionDirectoryRemovalIsLookedAtAgain() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.setModified(dir, ageMs: 2 * BundleFixture.hour)
        try freeze(root.path + "/opencode/bash-tasks")  // no rmdir in it
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertTrue(BundleFixture.exists(dir))
        XCTAssertEqual(run.result.counters.nextDue, now + Policy().failureRetry)
    }

    func testAFailedStrayRemovalIsLookedAtAgain() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let gone = try HarnessProcess.exited()
        let temp = try BundleFixture.write(dir, ".bgb-00000001.json.tmp.\(gone.pid).bgb-00000001", "{", ageMs: 2 * BundleFixture.hour)
        try freeze(temp)
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertEqual(run.result.counters.nextDue, now + Policy().failureRetry)
    }
}
