import Foundation
import Logging
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// The inotify side of `watch`, in-process on real directories: discovery is sweep's, and
/// events become "look here" / "gone" without deciding anything.
final class WatchRegistryTests: XCTestCase {
    var root: TemporaryDirectory!
    let log = CollectingLogHandler()
    var inotify: Inotify!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        inotify = try Inotify()
    }

    override func tearDown() { root.remove() }

    private func registry() throws -> WatchRegistry {
        let context = ReconcileContext(policy: Policy(), processes: try ProcessTable(),
                                       reporter: Reporter(logger: Logger(label: "test") { _ in self.log }, dryRun: true))
        let registry = WatchRegistry(roots: [root.path + "/"], inotify: inotify, context: context, options: WatchOptions())
        registry.openRoots()
        return registry
    }

    /// Events queued by now (inotify delivers synchronously with the change).
    private func events() -> [Inotify.Event] { inotify.readEvents() }

    func testDiscoveryFindsEveryTreeAndSessionLikeSweep() throws {
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: nil, session: "00000000000000aa")
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000bb")
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000cc")
        try FileManager.default.createDirectory(atPath: root.path + "/.hidden/bash-tasks/00000000000000dd", withIntermediateDirectories: true)
        let registry = try registry()
        let changes = registry.discover()
        XCTAssertEqual(Set(changes.look.compactMap(registry.session).map { "\($0.tree.directory.path.dropFirst(root.path.count))|\($0.name)" }),
                       ["/bash-tasks|00000000000000aa", "/opencode/bash-tasks|00000000000000bb", "/pi/bash-tasks|00000000000000cc"])
        XCTAssertEqual(registry.treeCount, 3)
        XCTAssertEqual(registry.openRootCount, 1)
    }

    /// The copies disagreed: sweep reported a linked bash-tasks, watch dropped it silently.
    func testALinkedTreeIsReportedAndNotFollowedByWatchToo() throws {
        let elsewhere = try TemporaryDirectory()
        defer { elsewhere.remove() }
        try FileManager.default.createDirectory(atPath: elsewhere.path + "/00000000000000aa", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/opencode", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.path + "/opencode/bash-tasks", withDestinationPath: elsewhere.path)
        try FileManager.default.createSymbolicLink(atPath: root.path + "/bash-tasks", withDestinationPath: elsewhere.path)
        try FileManager.default.createDirectory(atPath: elsewhere.path + "/bash-tasks/00000000000000bb", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.path + "/pi", withDestinationPath: elsewhere.path)  // a linked harness dir
        let registry = try registry()
        XCTAssertEqual(registry.discover().look, [])
        XCTAssertEqual(registry.treeCount, 0)
        XCTAssertEqual(Set(log.actions(.skipSymlink).compactMap { $0["TASKREAPER_PATH"]?.description }),
                       [root.path + "/bash-tasks", root.path + "/opencode/bash-tasks", root.path + "/pi"])
    }

    func testNewHarnessTreeAndSessionAreReportedAsPlacesToLook() throws {
        let registry = try registry()
        XCTAssertEqual(registry.discover().look, [])
        try FileManager.default.createDirectory(atPath: root.path + "/pi", withIntermediateDirectories: false)
        XCTAssertEqual(registry.handle(events()).look, [])
        try FileManager.default.createDirectory(atPath: root.path + "/pi/bash-tasks", withIntermediateDirectories: false)
        XCTAssertEqual(registry.handle(events()).look, [], "an empty tree has no session yet")
        XCTAssertEqual(registry.treeCount, 1)
        try FileManager.default.createDirectory(atPath: root.path + "/pi/bash-tasks/00000000000000aa", withIntermediateDirectories: false)
        let look = registry.handle(events()).look
        XCTAssertEqual(look.count, 1)
        let key = look[0]
        XCTAssertEqual(registry.session(key)?.name, "00000000000000aa")
        XCTAssertEqual(registry.session(SessionKey(tree: root.path + "/pi/bash-tasks", name: "00000000000000aa")), key)
        registry.watchSession(key)
        XCTAssertEqual(registry.sessionCount, 1)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root.path + "/pi/bash-tasks/00000000000000aa/bgb-00000001.json"))
        XCTAssertEqual(Set(registry.handle(events()).look), [key], "a bundle changed in a watched session")
    }

    func testARemovedSessionAndTreeAreForgottenWithTheirWatches() throws {
        let session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000bb")
        let registry = try registry()
        let keys = registry.discover().look
        XCTAssertEqual(keys.count, 2)
        let key = try XCTUnwrap(keys.first { registry.session($0)?.name == "00000000000000aa" })
        let other = try XCTUnwrap(keys.first { $0 != key })
        registry.watchSession(key)
        registry.watchSession(other)
        let watches = registry.watchCount
        try FileManager.default.removeItem(atPath: session)
        let changes = registry.handle(events())
        XCTAssertTrue(changes.forgotten.contains(key))
        XCTAssertNil(registry.session(key), "its id is free")
        XCTAssertEqual(registry.sessionCount, 1)
        XCTAssertEqual(registry.watchCount, watches - 1)
        try FileManager.default.removeItem(atPath: root.path + "/opencode/bash-tasks")
        XCTAssertEqual(registry.handle(events()).forgotten, [other], "the tree's sessions go with it")
        XCTAssertNil(registry.session(other))
        XCTAssertEqual(registry.treeCount, 0)
        XCTAssertEqual(registry.sessionCount, 0)
        XCTAssertEqual(registry.watchCount, watches - 3, "the tree's and both sessions' watches")
    }

    /// A session's id is handed out again once it is forgotten; whoever looks it up then
    /// finds the new session, and the old name is unknown.
    func testAForgottenSessionsIdNamesOnlyTheNextSession() throws {
        let session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        let registry = try registry()
        let key = try XCTUnwrap(registry.discover().look.first)
        try FileManager.default.removeItem(atPath: session)
        XCTAssertEqual(registry.handle(events()).forgotten, [key])
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000bb")
        XCTAssertEqual(registry.handle(events()).look, [key], "the free id")
        XCTAssertEqual(registry.session(key)?.name, "00000000000000bb")
        XCTAssertNil(registry.session(SessionKey(tree: root.path + "/opencode/bash-tasks", name: "00000000000000aa")))
    }

    func testAnOverflowAsksForARescan() throws {
        let registry = try registry()
        XCTAssertEqual(registry.handle([Inotify.Event(wd: -1, mask: UInt32(IN_Q_OVERFLOW), name: nil)]).rescan, "inotify queue overflow")
    }
}
