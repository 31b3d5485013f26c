#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// An inotify instance. Watches are added on directories we opened ourselves (with
/// O_NOFOLLOW), through `/proc/self/fd/N`, so the watched directory is exactly the one we
/// checked: no path is resolved again and no link in it is followed.
public final class Inotify {
    public let fd: Int32

    public struct Event: Sendable, Equatable {
        public let wd: Int32
        public let mask: UInt32
        /// The entry's name as the kernel has it (bytes: `FileName`).
        public let name: FileName?

        public init(wd: Int32, mask: UInt32, name: FileName?) {
            self.wd = wd
            self.mask = mask
            self.name = name
        }

        public var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
        public var overflowed: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
        /// The watched directory itself went away (deleted, moved, unmounted): its wd is dead.
        public var watchEnded: Bool { mask & UInt32(IN_IGNORED) != 0 }
        public var selfGone: Bool { mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_UNMOUNT)) != 0 }
        /// A name was created or moved in.
        public var appeared: Bool { mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 }
        /// A name was deleted or moved out.
        public var vanished: Bool { mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 }
    }

    public init() throws(SystemError) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError("inotify_init1", "(inotify)") }
    }

    deinit { close(fd) }

    /// Bundle-level events in a session directory: things written and closed, renamed in
    /// or out, created, deleted (CONTRACT §4: markers arrive by rename, IN_MOVED_TO).
    public static let sessionMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
    /// Directories appearing and disappearing: roots, harness directories, trees.
    public static let directoryMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    /// A task directory's control/ or io/: a record renamed into place, a marker written in
    /// place (its writer closes it: IN_CLOSE_WRITE), control/ and io/ created in a new task
    /// directory (IN_CREATE). Not IN_MODIFY: it would wake us on
    /// every write of the task's output.
    public static let taskFilesMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
    /// A root: its directories, and its reader floor rewritten in place.
    public static let rootMask = directoryMask | UInt32(IN_CLOSE_WRITE)
    public static let closeWriteMask = UInt32(IN_CLOSE_WRITE)

    /// The parent of a root: the root appearing or going. IN_MASK_ADD: roots sharing a
    /// parent share its watch descriptor.
    public static let parentMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | IN_MASK_ADD)

    /// Returns the watch descriptor. ENOSPC means the per-user watch limit is exhausted.
    public func addWatch(_ directory: DirectoryHandle, mask: UInt32) throws(SystemError) -> Int32 {
        let wd = inotify_add_watch(fd, "/proc/self/fd/\(directory.fd)", mask)
        guard wd >= 0 else { throw SystemError("inotify_add_watch", directory.path) }
        return wd
    }

    /// A watch on a path that may not be ours to open yet (a missing root's parent).
    public func addWatch(path: String, mask: UInt32) throws(SystemError) -> Int32 {
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { throw SystemError("inotify_add_watch", path) }
        return wd
    }

    public func removeWatch(_ wd: Int32) { _ = inotify_rm_watch(fd, wd) }

    /// Everything queued now (non-blocking).
    public func readEvents() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return events }  // EAGAIN: drained
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    var name: FileName?
                    if length > 0 {
                        let bytes = raw[(offset + header)..<(offset + header + length)]
                        name = FileName(bytes: bytes.prefix(while: { $0 != 0 }))
                    }
                    events.append(Event(wd: wd, mask: mask, name: name))
                    offset += header + length
                }
            }
        }
    }

    /// /proc/sys/fs/inotify/max_user_watches, for the message that says how to raise it.
    public static func maxUserWatches() -> Int? {
        ProcFile.read("/proc/sys/fs/inotify/max_user_watches", limit: 64).flatMap {
            Int($0.trimmingPrefix(while: { $0 == " " }).prefix(while: { $0 != "\n" }))
        }
    }
}
