import Foundation
import Logging
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Roots that do not exist yet, in-process: where the registry watches for them, how the
/// watch moves down and back up, and when it says "rescan".
final class WaitingRootRegistryTests: XCTestCase {
    var base: TemporaryDirectory!
    let log = CollectingLogHandler()
    var inotify: Inotify!

    override func setUpWithError() throws {
        base = try TemporaryDirectory()
        inotify = try Inotify()
    }

    override func tearDown() { base.remove() }

    private func registry(_ roots: [String]) throws -> WatchRegistry {
        let context = ReconcileContext(policy: Policy(), processes: try ProcessTable(),
                                       reporter: Reporter(logger: Logger(label: "test") { _ in self.log }, dryRun: true))
        let registry = WatchRegistry(roots: roots, inotify: inotify, context: context, options: WatchOptions())
        registry.openRoots()
        return registry
    }

    private func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: base.path + relative, withIntermediateDirectories: true)
    }

    func testMissingRootsAreWaitedForFromTheirNearestAncestorAndOpenedWhenTheyAppear() throws {
        let first = base.path + "/a/b/first", second = base.path + "/a/c/second"
        let registry = try registry([first, second])
        XCTAssertEqual(registry.openRootCount, 0)
        XCTAssertEqual(registry.waitingRoots, [first, second])
        XCTAssertEqual(registry.watchCount, 1, "one shared watch on the nearest existing ancestor")

        // A directory on the way: the watches move down, nothing to rescan yet.
        try mkdir("/a")
        XCTAssertNil(registry.handle(inotify.readEvents()).rescan)
        try mkdir("/a/b")
        XCTAssertNil(registry.handle(inotify.readEvents()).rescan)
        XCTAssertEqual(registry.watchCount, 2, "first waits in a/b, second in a")

        try mkdir("/a/b/first")
        let appeared = registry.handle(inotify.readEvents())
        XCTAssertEqual(appeared.rescan, "root \(first) appeared")
        XCTAssertEqual(registry.openRootCount, 1)
        XCTAssertEqual(registry.waitingRoots, [second])

        // `mkdir -p` of a whole chain at once: the look after each new watch finds the rest.
        try mkdir("/a/c/second")
        XCTAssertNotNil(registry.handle(inotify.readEvents()).rescan)
        XCTAssertEqual(registry.openRootCount, 2)
        XCTAssertEqual(registry.waitingRoots, [])

        // Everything removed: both are waited for again, from the base.
        try FileManager.default.removeItem(atPath: base.path + "/a")
        _ = registry.handle(inotify.readEvents())
        XCTAssertEqual(registry.openRootCount, 0)
        XCTAssertEqual(registry.waitingRoots, [first, second])
        try mkdir("/a/b/first")
        _ = registry.handle(inotify.readEvents())
        XCTAssertEqual(registry.openRootCount, 1, "and picked up again")
    }

    func testTheSameDirectoryNamedTwiceIsOpenedOnceAndNotWaitedFor() throws {
        try mkdir("/real")
        try FileManager.default.createSymbolicLink(atPath: base.path + "/link", withDestinationPath: base.path + "/real")
        let registry = try registry([base.path + "/real", base.path + "/link"])
        XCTAssertEqual(registry.openRootCount, 1)
        XCTAssertEqual(registry.waitingRoots, [], "a duplicate is not a root to wait for")
        registry.openRoots()
        XCTAssertEqual(registry.openRootCount, 1, "looking again opens no second handle")
    }
}
