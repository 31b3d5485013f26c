#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// fanotify told in inotify's terms, on real directories of ext4 (/tmp) and tmpfs
/// (/dev/shm): a whole file system is marked, and only the watched directories' events,
/// cut to their masks, come out.
final class FanotifyEventsTests: XCTestCase {
    private var notes: [String] = []

    /// Each test on both file systems the agent meets most (both give file handles on 6.x).
    private func onEachFileSystem(_ body: (TemporaryDirectory) throws -> Void) throws {
        for parent in ["/tmp", "/dev/shm"] {
            guard FileManager.default.fileExists(atPath: parent) else { continue }
            let directory = try TemporaryDirectory("taskreaper-fanotify", in: parent)
            defer { directory.remove() }
            try body(directory)  // a failure names the directory, so the file system
        }
    }

    private func source(unlimitedQueue: Bool = true) throws -> FanotifyEvents {
        if let reason = FanotifyEvents.unavailableReason(roots: ["/tmp"]) { throw XCTSkip("no fanotify here: \(reason)") }
        return try FanotifyEvents(unlimitedQueue: unlimitedQueue, report: { self.notes.append($0) })
    }

    private func write(_ path: String, _ text: String = "x") throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Names and the bits seen for each, over every event of `wd` (fanotify merges the
    /// events of one name while they wait in the queue, as inotify merges identical ones).
    private func masks(_ events: [Inotify.Event], wd: Int32) -> [String: UInt32] {
        var result: [String: UInt32] = [:]
        for event in events where event.wd == wd { result[event.name?.description ?? "", default: 0] |= event.mask }
        return result
    }

    func testOnlyTheWatchedDirectorysEventsComeOutWithTheirNames() throws {
        try onEachFileSystem { base in
            let events = try source()
            try FileManager.default.createDirectory(atPath: base.path + "/watched", withIntermediateDirectories: false)
            try FileManager.default.createDirectory(atPath: base.path + "/elsewhere", withIntermediateDirectories: false)
            let wd = try events.addWatch(DirectoryHandle.open(root: base.path + "/watched"), mask: Inotify.sessionMask)
            XCTAssertLessThan(wd, 0, "fanotify's descriptors never collide with inotify's")
            XCTAssertEqual(events.markCount, 1)
            let ignoredBefore = events.ignoredEvents
            for i in 0..<50 { try write(base.path + "/elsewhere/noise-\(i)") }
            try write(base.path + "/watched/a")
            rename(base.path + "/watched/a", base.path + "/watched/b")
            mkdir(base.path + "/watched/sub", 0o755)
            let seen = events.readEvents()
            XCTAssertEqual(Set(seen.map(\.wd)), [wd], "\(seen)")
            let byName = masks(seen, wd: wd)
            XCTAssertEqual(Set(byName.keys), ["a", "b", "sub"])
            XCTAssertEqual(byName["a"].map { $0 & UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_FROM) },
                           UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_FROM))
            XCTAssertEqual(byName["b"], UInt32(IN_MOVED_TO))
            XCTAssertEqual(byName["sub"], UInt32(IN_CREATE) | UInt32(IN_ISDIR))
            XCTAssertGreaterThanOrEqual(events.ignoredEvents - ignoredBefore, 50, "the 50 unrelated files (create and close_write merged per name) were dropped")
        }
    }

    func testAWatchGetsOnlyTheEventsOfItsMaskAndTheSameDirectorySharesItsDescriptor() throws {
        try onEachFileSystem { base in
            let events = try source()
            try write(base.path + "/old")
            let directory = try DirectoryHandle.open(root: base.path)
            let wd = try events.addWatch(directory, mask: Inotify.taskFilesMask)
            unlink(base.path + "/old")  // IN_DELETE: not in a task directory's mask
            try write(base.path + "/exit", "0")
            XCTAssertEqual(masks(events.readEvents(), wd: wd), ["exit": UInt32(IN_CREATE | IN_CLOSE_WRITE)])
            XCTAssertEqual(try events.addWatch(directory, mask: UInt32(IN_DELETE) | UInt32(IN_MASK_ADD)), wd)
            try write(base.path + "/again")
            unlink(base.path + "/again")
            XCTAssertEqual(masks(events.readEvents(), wd: wd), ["again": UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_DELETE)],
                           "IN_MASK_ADD adds IN_DELETE to the same descriptor's mask")
        }
    }

    /// Like inotify: the directory's own deletion (IN_DELETE_SELF), then the end of its watch
    /// (IN_IGNORED); a new directory of the same name is another one.
    func testADeletedDirectoryEndsItsWatch() throws {
        try onEachFileSystem { base in
            let events = try source()
            let path = base.path + "/session"
            mkdir(path, 0o755)
            let wd = try events.addWatch(DirectoryHandle.open(root: path), mask: Inotify.sessionMask)  // not held open
            rmdir(path)
            let seen = events.readEvents().filter { $0.wd == wd }
            XCTAssertEqual(seen.map(\.selfGone), [true, false], "\(seen)")
            XCTAssertEqual(seen.last?.watchEnded, true)
            mkdir(path, 0o755)
            try write(path + "/bgb-00000001.json")
            XCTAssertEqual(events.readEvents().filter { $0.wd == wd }, [], "the new directory is not the watched one")
        }
    }

    /// Names are bytes: one that is not UTF-8 comes out with its exact bytes, as from inotify,
    /// so the registry compares the same names whichever source it has.
    func testANameThatIsNotUTF8KeepsItsBytesAsFromInotify() throws {
        try onEachFileSystem { base in
            let events = try source()
            let inotify = try Inotify()
            let directory = try DirectoryHandle.open(root: base.path)
            let fanotifyWD = try events.addWatch(directory, mask: Inotify.sessionMask)
            let inotifyWD = try inotify.addWatch(directory, mask: Inotify.sessionMask)
            let fd = base.path.withCString { dir in
                var bytes = Array(dir.withMemoryRebound(to: UInt8.self, capacity: 1) { UnsafeBufferPointer(start: $0, count: strlen(dir)) })
                bytes += [UInt8(ascii: "/"), 0x66, 0xFF, 0xFE, 0x6F, 0]
                return bytes.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
            }
            XCTAssertGreaterThanOrEqual(fd, 0)
            close(fd)
            let fromFanotify = events.readEvents().filter { $0.wd == fanotifyWD }.compactMap(\.name)
            let fromInotify = inotify.readEvents().filter { $0.wd == inotifyWD }.compactMap(\.name)
            XCTAssertEqual(Set(fromFanotify.map(\.bytes)), [[0x66, 0xFF, 0xFE, 0x6F]])
            XCTAssertEqual(Set(fromFanotify), Set(fromInotify))
        }
    }

    /// A queue that overflows says so (then the registry rescans). `watch` asks for an
    /// unlimited queue; a limited one is made small through the sysctl, which counts when a
    /// group is created: set, create, restore.
    func testAFullQueueIsAnOverflow() throws {
        let sysctl = "/proc/sys/fs/fanotify/max_queued_events"
        guard let saved = try? String(contentsOfFile: sysctl, encoding: .utf8),
              (try? "16".write(toFile: sysctl, atomically: false, encoding: .utf8)) != nil else {
            throw XCTSkip("\(sysctl) cannot be set here")
        }
        let made = Result { try source(unlimitedQueue: false) }
        try saved.write(toFile: sysctl, atomically: false, encoding: .utf8)
        let events = try made.get()
        let base = try TemporaryDirectory("taskreaper-fanotify")
        defer { base.remove() }
        let wd = try events.addWatch(DirectoryHandle.open(root: base.path), mask: Inotify.sessionMask)
        for i in 0..<64 { try write(base.path + "/note-\(i)") }
        let seen = events.readEvents()
        XCTAssertTrue(seen.contains { $0.overflowed }, "\(seen.count) events")
        XCTAssertLessThan(seen.filter { $0.wd == wd }.count, 64)
    }
}
