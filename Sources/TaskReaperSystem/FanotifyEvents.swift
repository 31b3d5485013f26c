#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// `watch`'s events from fanotify, told in inotify's terms (`WatchEvents`): each watched
/// directory gets a watch descriptor of its own (negative, never reused), found again from
/// the file handle an event names, and the file-system-wide stream is cut down to what an
/// inotify watch with the same mask would have said. Events about any other directory of
/// the file system are dropped after one hash lookup, before a name is decoded.
///
/// inotify stays for what fanotify should not or cannot do here: the watch points of
/// missing roots (a parent on another file system, such as `/`, would mean hearing all of
/// it), and a directory on a file system that cannot be marked (no file handles, or no
/// fsid); such a fallback is reported once per file system.
public final class FanotifyEvents: WatchEvents {
    private let group: Fanotify
    private let fallback: Inotify
    private let report: (String) -> Void
    private var wds: [FileHandleKey: Int32] = [:]
    private var directories: [Int32: (key: FileHandleKey, mask: UInt32)] = [:]
    /// File systems by fsid: marked, or why not (reported once).
    private var filesystems: [UInt64: Bool] = [:]
    private var fallbackWatches = Set<Int32>()
    /// File systems (by fsid; 0: unknown) where a directory had no handle, said once.
    private var unhandled = Set<UInt64>()
    private var nextWD: Int32 = -2
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    public var name: String { "fanotify" }
    public var descriptors: [Int32] { [group.fd, fallback.fd] }
    /// File systems marked (one mark each).
    public var markCount: Int { filesystems.values.count(where: { $0 }) }
    /// inotify watches held: watch points, and directories on file systems without a mark.
    public var inotifyWatchCount: Int { fallbackWatches.count }
    /// Events about directories nobody watches, dropped (the cost of a file system mark).
    public private(set) var ignoredEvents = 0

    /// At most this much is read per `readEvents`: a writer busy elsewhere on the file
    /// system can fill the queue faster than one call drains it.
    static let readLimit = 1 << 20
    /// Before each read, the queue is left to fill this long: a file system mark wakes the
    /// agent for every writer on the file system, and a busy one (a build, a package manager)
    /// otherwise means a wakeup and a few reads for every handful of events. Measured with a
    /// writer doing 50 000 create/write/close/unlink elsewhere: 59-137 CPU ticks without, 7 with
    /// 1 ms, 4 with 2 ms, 2 with 5 ms (bench-results/fanotify-20261126-1627.md, Notes); what it costs is this much
    /// latency on a marker, against a 50 ms goal.
    static let settleMicroseconds: UInt32 = 2000
    /// IN_ALL_EVENTS (a macro Swift does not import): the event bits of a watch's mask.
    static let inotifyEventBits: UInt32 = 0xFFF

    /// `report` says, once per file system, that one could not be marked.
    ///
    /// `unlimitedQueue`: the queue is the whole file system's, filled at the rate of every
    /// writer on it, and a full one (16 384 events by default) costs a rescan of everything,
    /// seconds at 100 000 sessions, during which the busy file system fills it again: a
    /// loop. Unlimited, what is queued while a pass runs waits in kernel memory (charged to
    /// the watcher's cgroup, ~100 bytes an event) and is drained as soon as the pass ends.
    /// Tests pass false to see an overflow.
    public init(unlimitedQueue: Bool = true, report: @escaping (String) -> Void) throws(SystemError) {
        group = try Fanotify(unlimitedQueue: unlimitedQueue)
        fallback = try Inotify()
        self.report = report
    }

    /// Why `--events fanotify` cannot work here, or nil: the group (CAP_SYS_ADMIN, a kernel
    /// with FAN_REPORT_DFID_NAME) and a mark on the file system of each root that exists.
    public static func unavailableReason(roots: [String]) -> String? {
        let group: Fanotify
        do { group = try Fanotify(unlimitedQueue: true) } catch {
            switch error.code {
            case .notPermitted: return "fanotify needs CAP_SYS_ADMIN (run as root, or use --events inotify)"
            case .invalidArgument, .noFunction:
                return "this kernel has no fanotify with FAN_REPORT_DFID_NAME (Linux 5.9 or later): use --events inotify"
            default: return "\(error)"
            }
        }
        for root in roots {
            guard let directory = try? DirectoryHandle.open(root: root) else { continue }  // waited for: checked when it appears
            do {
                try group.markFilesystem(of: directory)
                _ = try Fanotify.handle(of: directory, fsid: Fanotify.filesystemID(of: directory))
            } catch {
                // Since Linux 5.13 anyone may create the group; marking a file system is root's.
                if error.code == .notPermitted {
                    return "marking a whole file system with fanotify needs CAP_SYS_ADMIN (run as root, or use --events inotify)"
                }
                return "the file system of root \(root) cannot be watched with fanotify (\(error)): use --events inotify"
            }
        }
        return nil
    }

    public func addWatch(_ directory: DirectoryHandle, mask: UInt32) throws(SystemError) -> Int32 {
        guard let key = marked(directory) else {
            let wd = try fallback.addWatch(directory, mask: mask)
            fallbackWatches.insert(wd)
            return wd
        }
        if let wd = wds[key], let entry = directories[wd] {
            // As inotify: the same directory again replaces its mask, or adds to it.
            directories[wd] = (key, mask & UInt32(IN_MASK_ADD) != 0 ? entry.mask | mask : mask)
            return wd
        }
        let wd = nextWD
        nextWD -= 1
        wds[key] = wd
        directories[wd] = (key, mask)
        return wd
    }

    public func addWatch(path: String, mask: UInt32) throws(SystemError) -> Int32 {
        let wd = try fallback.addWatch(path: path, mask: mask)
        fallbackWatches.insert(wd)
        return wd
    }

    public func removeWatch(_ wd: Int32) {
        if wd >= 0 {
            fallback.removeWatch(wd)
            fallbackWatches.remove(wd)
        } else if let entry = directories.removeValue(forKey: wd) {
            wds[entry.key] = nil
        }
    }

    /// The directory's handle once its file system is marked; nil: watch it with inotify
    /// (said once per file system: a tree of thousands of directories is one line).
    private func marked(_ directory: DirectoryHandle) -> FileHandleKey? {
        var fsid: UInt64 = 0
        do {
            fsid = try Fanotify.filesystemID(of: directory)
            if filesystems[fsid] == nil {
                do {
                    try group.markFilesystem(of: directory)
                    filesystems[fsid] = true
                } catch {
                    filesystems[fsid] = false
                    report("The file system of \(directory.path) cannot be marked for fanotify (\(error)): its directories are watched with inotify")
                }
            }
            guard filesystems[fsid] == true else { return nil }
            return try Fanotify.handle(of: directory, fsid: fsid)
        } catch {
            if unhandled.insert(fsid).inserted {
                report("\(error): \(directory.path), and any other directory of its file system without a file handle, is watched with inotify")
            }
            return nil
        }
    }

    public func readEvents() -> [Inotify.Event] {
        usleep(Self.settleMicroseconds)
        var events = fallback.readEvents()
        for event in events where event.watchEnded { fallbackWatches.remove(event.wd) }
        group.read(limit: Self.readLimit, into: &buffer) { mask, key, name in
            if mask & UInt32(TASKREAPER_FAN_Q_OVERFLOW) != 0 {
                events.append(Inotify.Event(wd: -1, mask: UInt32(IN_Q_OVERFLOW), name: nil))
                return
            }
            guard let key, let wd = wds[key], let watched = directories[wd]?.mask else {
                ignoredEvents += 1
                return
            }
            let isDirectory = mask & UInt32(TASKREAPER_FAN_ONDIR)
            let selfEvents = UInt32(TASKREAPER_FAN_DELETE_SELF | TASKREAPER_FAN_MOVE_SELF)
            if name.count == 1, name[0] == UInt8(ascii: "."), mask & selfEvents != 0 {
                // The directory itself. Deleted: its watch ends, as inotify's does (IN_IGNORED).
                if mask & watched & selfEvents != 0 {
                    events.append(Inotify.Event(wd: wd, mask: mask & watched & selfEvents | isDirectory, name: nil))
                }
                if mask & UInt32(TASKREAPER_FAN_DELETE_SELF) != 0 {
                    removeWatch(wd)
                    events.append(Inotify.Event(wd: wd, mask: UInt32(IN_IGNORED), name: nil))
                }
                return
            }
            let wanted = mask & watched & Self.inotifyEventBits
            guard wanted != 0 else { return }
            events.append(Inotify.Event(wd: wd, mask: wanted | isDirectory, name: FileName(bytes: name)))
        }
        return events
    }
}
