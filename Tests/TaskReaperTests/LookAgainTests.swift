import Foundation
import Glibc
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Things a pass leaves that only time changes, with no inotify event to wake `watch`: each
/// asks for a deadline (the pass's `nextDue`, which `watch` schedules and `sweep` reports).
/// Before this, an empty session held open by a process and a `control/` temp too young to
/// settle (or whose settling failed) waited for an unrelated event or the 6 h rescan.
final class LookAgainTests: TreeTestCase {
    let now = BundleFixture.nowMs()
    var immutable: [String] = []

    override func tearDown() {
        immutable.forEach(makeMutable)
        super.tearDown()
    }

    private func sweepAtNow() throws -> SweepRun {
        let now = self.now
        return try sweep(root.path, clock: { now })
    }

    /// A delivered task written ten minutes ago (its row settled): its own deadline, the
    /// retention's, is later than anything these tests expect.
    private func deliveredTask() throws -> String {
        let id = TaskDirectoryFixture.id(1)
        return try TaskDirectoryFixture.write(in: session, taskID: id, record: TaskDirectoryFixture.record(
            taskID: id, status: "completed", startedAt: now - 20 * 60_000, delivered: true, exitCode: 0), ageMs: 10 * 60_000)
    }

    /// The later of mtime and ctime, in ms, as taskreaper reads them.
    private func lastChange(_ path: String) throws -> Millis {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw POSIXError(.ENOENT) }
        return max(Millis(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)),
                   Millis(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int64(st.st_ctim.tv_nsec)))
    }

    func testAnEmptySessionHeldOpenIsLookedAtAgain() throws {
        try BundleFixture.setModified(session, ageMs: 2 * BundleFixture.hour)
        let holder = try HarnessProcess(arguments: ["/bin/sh", "-c", "cd \(shellQuote(session)) && exec sleep 60"])
        processes.append(holder)
        try waitUntil("the holder is in the session directory") {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/cwd")) == self.session
        }
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.removeSessionDir), 0, "held as a cwd")
        XCTAssertEqual(run.result.counters.nextDue, now + Policy().heldSessionRecheck)
        holder.stop()
        XCTAssertEqual(try sweepAtNow().count(.removeSessionDir), 1, "released: removed at the next look")
    }

    func testAYoungControlTempIsLookedAtOnceOldEnough() throws {
        let task = try deliveredTask()
        let temp = try BundleFixture.write(task + "/control", ".aft-tmp-" + String(repeating: "a", count: 32), "{")
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.removeStrayTemp), 0, "a rewrite may be in progress")
        XCTAssertTrue(BundleFixture.exists(temp))
        XCTAssertEqual(run.result.counters.nextDue, try lastChange(temp) + Policy().strayTempAge)
    }

    func testAControlTempWhoseMtimeWasSetBackIsStillYoung() throws {
        let task = try deliveredTask()
        let temp = try BundleFixture.write(task + "/control", ".aft-tmp-" + String(repeating: "b", count: 32), "{",
                                           ageMs: 2 * BundleFixture.hour)
        let run = try sweepAtNow()
        XCTAssertEqual(run.count(.removeStrayTemp), 0, "its ctime says it was written just now")
        XCTAssertTrue(BundleFixture.exists(temp))
    }

    func testAControlTempThatCannotBeSettledIsLookedAtAgain() throws {
        let task = try deliveredTask()
        try BundleFixture.write(task + "/control", ".aft-tmp-" + String(repeating: "c", count: 32), "{")
        try makeImmutable(task + "/control")  // no unlink or rename in it
        immutable.append(task + "/control")
        let later = now + 2 * Policy().strayTempAge
        var policy = Policy()
        policy.strayTempAge = 0
        let run = try sweep(root.path, policy: policy, clock: { later })
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertEqual(run.result.counters.nextDue, later + Policy().failureRetry)
    }
}
