import Foundation
import Logging
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// pidfds of `watch`, in-process with real processes and a real epoll: one per process,
/// shared, released with the last session that needs it, and polling when out of fds.
final class ProcessWatchesTests: XCTestCase {
    var processes: [HarnessProcess] = []
    let log = CollectingLogHandler()

    override func tearDown() { processes.forEach { $0.stop() } }

    private func make() throws -> (ProcessWatches, Epoll) {
        let epoll = try Epoll()
        let context = ReconcileContext(policy: Policy(), processes: try ProcessTable(),
                                       reporter: Reporter(logger: Logger(label: "test") { _ in self.log }))
        return (ProcessWatches(epoll: epoll, tokenBase: 16, context: context, pollInterval: 30 * .second), epoll)
    }

    private func sleeper() throws -> (HarnessProcess, LiveProcess) {
        let process = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        processes.append(process)
        return (process, LiveProcess(pid: UInt32(process.pid), taskStartedAt: process.startedAt, pgid: process.pid))
    }

    private static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    private static func highestDescriptor() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int($0) }.max() ?? 0
    }

    private func key(_ name: String) -> SessionKey { SessionKey(tree: "/t", name: FileName(name)) }

    func testSessionsNamingOneProcessShareOnePidfdUntilTheLastLetsGo() throws {
        let (watches, _) = try make()
        let (_, live) = try sleeper()
        let before = Self.openDescriptors()
        XCTAssertEqual(watches.update(key("a"), live: [live]), .watched)
        XCTAssertEqual(watches.update(key("b"), live: [live, live]), .watched)
        XCTAssertEqual(watches.count, 1)
        XCTAssertEqual(Self.openDescriptors(), before + 1)
        XCTAssertEqual(watches.update(key("a"), live: []), .watched, "a's task finalized")
        XCTAssertEqual(watches.count, 1, "b still needs it")
        watches.release(key("b"))
        XCTAssertEqual(watches.count, 0)
        XCTAssertEqual(Self.openDescriptors(), before, "the descriptor is closed")
    }

    /// The leak of issue 11.4: 800 tasks naming one live process, sessions then deleted.
    func testEightHundredTasksOnOneProcessHoldOneDescriptorAndNoneAfterRelease() throws {
        let (watches, _) = try make()
        let (_, live) = try sleeper()
        let before = Self.openDescriptors()
        for index in 0..<800 { _ = watches.update(key("s\(index)"), live: [live]) }
        XCTAssertEqual(Self.openDescriptors(), before + 1)
        watches.release { $0.tree == "/t" }
        XCTAssertEqual(watches.count, 0)
        XCTAssertEqual(Self.openDescriptors(), before)
    }

    func testAnExitWakesEverySessionThatWaitedOnIt() throws {
        let (watches, epoll) = try make()
        let (process, live) = try sleeper()
        _ = watches.update(key("a"), live: [live])
        _ = watches.update(key("b"), live: [live])
        XCTAssertEqual(epoll.wait(timeoutMs: 0), [], "nothing fires while it runs")
        kill(process.pid, SIGKILL)
        let tokens = epoll.wait(timeoutMs: 10_000)
        XCTAssertEqual(tokens.count, 1)
        XCTAssertTrue(watches.owns(token: tokens[0]))
        XCTAssertEqual(watches.exited(token: tokens[0]), [key("a"), key("b")])
        XCTAssertEqual(watches.count, 0)
    }

    func testAReusedPidIsNotWatchedAsTheTasksProcess() throws {
        let (watches, _) = try make()
        let (process, _) = try sleeper()
        // The task started long before this process: the pid belongs to someone else now,
        // and without a group to fall back on there is nothing to watch.
        let impostor = LiveProcess(pid: UInt32(process.pid), taskStartedAt: process.startedAt - 3_600_000, pgid: nil)
        XCTAssertEqual(watches.update(key("a"), live: [impostor]), .poll)
        XCTAssertEqual(watches.count, 0)
    }

    func testAGroupWhoseMembersAreGoneAsksForALookNow() throws {
        let (watches, _) = try make()
        let (process, _) = try sleeper()
        kill(process.pid, SIGKILL)
        XCTAssertTrue(process.waitUntilExited())
        process.reap()
        let gone = LiveProcess(pid: UInt32(process.pid), taskStartedAt: process.startedAt, pgid: process.pid)
        XCTAssertEqual(watches.update(key("a"), live: [gone]), .lookAgainNow)
    }

    /// EMFILE must degrade to polling and be reported once, never stop the agent silently.
    func testOutOfDescriptorsPollsAndReportsOnce() throws {
        let (watches, _) = try make()
        let tasks = try (0..<4).map { _ in try sleeper().1 }
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        var tight = saved
        // No descriptor number above the highest open one, and the holes below it filled.
        tight.rlim_cur = rlim_t(Self.highestDescriptor() + 1)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &tight), 0)
        var fillers: [Int32] = []
        while case let fd = open("/dev/null", O_RDONLY | O_CLOEXEC), fd >= 0 { fillers.append(fd) }
        let coverage = tasks.enumerated().map { watches.update(key("s\($0.offset)"), live: [$0.element]) }
        fillers.forEach { close($0) }
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved), 0)
        XCTAssertEqual(coverage, [.poll, .poll, .poll, .poll])
        XCTAssertTrue(watches.limitReached)
        XCTAssertEqual(log.actions(.descriptorLimit).count, 1, "one report per episode")
        // Descriptors back: the next open succeeds and the episode ends.
        XCTAssertEqual(watches.update(key("s1"), live: [tasks[1]]), .watched)
        XCTAssertFalse(watches.limitReached)
    }
}
