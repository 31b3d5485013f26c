import Foundation
import Logging
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// The watch registry over fanotify, in-process on real directories: the same places to
/// look as over inotify; and `--events auto` moving every watch to fanotify when inotify
/// runs out of watches.
final class FanotifyRegistryTests: XCTestCase {
    var root: TemporaryDirectory!
    let log = CollectingLogHandler()

    override func setUpWithError() throws {
        if let reason = FanotifyEvents.unavailableReason(roots: ["/tmp"]) { throw XCTSkip("no fanotify here: \(reason)") }
        root = try TemporaryDirectory()
    }

    override func tearDown() { root?.remove() }

    private func registry(_ events: any WatchEvents, choice: EventSourceChoice = .auto) throws -> WatchRegistry {
        let context = ReconcileContext(policy: Policy(), processes: try ProcessTable(),
                                       reporter: Reporter(logger: Logger(label: "test") { _ in self.log }, dryRun: true))
        var options = WatchOptions()
        options.events = choice
        let registry = WatchRegistry(roots: [root.path], inotify: events, context: context, options: options)
        registry.openRoots()
        return registry
    }

    private func fanotify() throws -> FanotifyEvents { try FanotifyEvents(report: { XCTFail("unexpected fallback: \($0)") }) }

    func testNewTreeSessionAndBundleAreReportedAsPlacesToLook() throws {
        let events = try fanotify()
        let registry = try registry(events)
        XCTAssertEqual(registry.discover().look, [])
        try FileManager.default.createDirectory(atPath: root.path + "/pi/bash-tasks", withIntermediateDirectories: true)
        XCTAssertEqual(registry.handle(events.readEvents()).look, [])
        XCTAssertEqual(registry.treeCount, 1)
        try FileManager.default.createDirectory(atPath: root.path + "/pi/bash-tasks/00000000000000aa", withIntermediateDirectories: false)
        let look = registry.handle(events.readEvents()).look
        let key = try XCTUnwrap(registry.session(SessionKey(tree: root.path + "/pi/bash-tasks", name: "00000000000000aa")))
        XCTAssertEqual(look, [key])
        registry.watchSession(key)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root.path + "/pi/bash-tasks/00000000000000aa/bgb-00000001.json"))
        XCTAssertEqual(Set(registry.handle(events.readEvents()).look), [key])
        XCTAssertEqual(events.markCount, 1)
        XCTAssertEqual(events.inotifyWatchCount, 1, "only the root's watch point (its parent) is inotify's")
    }

    func testARemovedSessionIsForgottenWithItsWatch() throws {
        let session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        let events = try fanotify()
        let registry = try registry(events)
        let key = try XCTUnwrap(registry.discover().look.first)
        registry.watchSession(key)
        let watches = registry.watchCount
        try FileManager.default.removeItem(atPath: session)
        XCTAssertTrue(registry.handle(events.readEvents()).forgotten.contains(key))
        XCTAssertEqual(registry.sessionCount, 0)
        XCTAssertEqual(registry.watchCount, watches - 1)
    }

    /// `watch`'s queue is unlimited; a limited one, made small through the sysctl (read when
    /// the group is created), overflows, and the registry asks for a rescan as for inotify.
    func testAnOverflowAsksForARescan() throws {
        let sysctl = "/proc/sys/fs/fanotify/max_queued_events"
        guard let saved = try? String(contentsOfFile: sysctl, encoding: .utf8),
              (try? "16".write(toFile: sysctl, atomically: false, encoding: .utf8)) != nil else {
            throw XCTSkip("\(sysctl) cannot be set here")
        }
        let made = Result { try FanotifyEvents(unlimitedQueue: false, report: { XCTFail($0) }) }
        try saved.write(toFile: sysctl, atomically: false, encoding: .utf8)
        let events = try made.get()
        let session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        let registry = try registry(events)
        registry.discover().look.forEach(registry.watchSession)
        for i in 0..<64 { try Data().write(to: URL(fileURLWithPath: session + "/note-\(i)")) }
        XCTAssertEqual(registry.handle(events.readEvents()).rescan, "fanotify queue overflow")
    }

    /// inotify gives out after `budget` watches (ENOSPC, as `max_user_watches` does).
    final class ScarceInotify: WatchEvents {
        let inotify: Inotify
        let budget: Int
        var held = Set<Int32>()
        init(budget: Int) throws { inotify = try Inotify(); self.budget = budget }
        var name: String { inotify.name }
        var descriptors: [Int32] { inotify.descriptors }
        func addWatch(_ directory: DirectoryHandle, mask: UInt32) throws(SystemError) -> Int32 {
            try admit(inotify.addWatch(directory, mask: mask), directory.path)
        }
        func addWatch(path: String, mask: UInt32) throws(SystemError) -> Int32 { try admit(inotify.addWatch(path: path, mask: mask), path) }
        func removeWatch(_ wd: Int32) { held.remove(wd); inotify.removeWatch(wd) }
        func readEvents() -> [Inotify.Event] { inotify.readEvents() }
        private func admit(_ wd: Int32, _ path: String) throws(SystemError) -> Int32 {
            guard held.contains(wd) || held.count < budget else {
                inotify.removeWatch(wd)
                throw SystemError("inotify_add_watch", path, code: .noSpace)
            }
            held.insert(wd)
            return wd
        }
    }

    func testRunningOutOfInotifyWatchesUnderAutoMovesEveryWatchToFanotify() throws {
        for name in ["00000000000000aa", "00000000000000bb", "00000000000000cc"] {
            _ = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: name)
        }
        // The root's parent, the root, opencode/, its bash-tasks: no room for a session.
        let registry = try registry(try ScarceInotify(budget: 4))
        let keys = registry.discover().look
        XCTAssertEqual(keys.count, 3)
        keys.forEach(registry.watchSession)
        XCTAssertEqual(registry.sessionCount, 0)
        XCTAssertEqual(log.actions(.watchLimit).count, 0, "not reported: fanotify is tried first")
        let at = try XCTUnwrap(registry.eventSourceSwitch.take())
        XCTAssertTrue(at.hasPrefix(root.path + "/opencode/bash-tasks/"), at)
        XCTAssertNil(registry.eventSourceSwitch.take(), "once")

        let events = try fanotify()
        registry.replaceEvents(with: events)
        XCTAssertEqual(registry.watchCount, 3, "the root, its watch point and the tree at once")
        // The rescan that follows finds the rest and watches it anew.
        XCTAssertEqual(Set(registry.discover().look), Set(keys))
        keys.forEach(registry.watchSession)
        XCTAssertEqual(registry.sessionCount, 3)
        XCTAssertEqual(registry.watchCount, 7)
        let tree = root.path + "/opencode/bash-tasks"
        let second = try XCTUnwrap(registry.session(keys[1]))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: tree + "/" + second.name.escaped + "/bgb-00000001.json"))
        try FileManager.default.createDirectory(atPath: tree + "/00000000000000dd", withIntermediateDirectories: false)
        let look = Set(registry.handle(events.readEvents()).look)
        XCTAssertEqual(look, [keys[1], try XCTUnwrap(registry.session(SessionKey(tree: tree, name: "00000000000000dd")))])
        XCTAssertEqual(log.actions(.watchLimit).count, 0)
    }

    func testUnderInotifyRunningOutOfWatchesIsReportedAtOnce() throws {
        _ = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "00000000000000aa")
        let registry = try registry(try ScarceInotify(budget: 4), choice: .inotify)
        registry.discover().look.forEach(registry.watchSession)
        XCTAssertEqual(log.actions(.watchLimit).count, 1)
        XCTAssertNil(registry.eventSourceSwitch.take())
        XCTAssertNotNil(registry.uncoveredRescanAt, "the unwatched part is covered by rescans")
    }
}
