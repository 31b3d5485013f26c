#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A fanotify group that reports directory entry events with the directory's file handle
/// and the entry's name (FAN_REPORT_DFID_NAME), marked on whole file systems
/// (FAN_MARK_FILESYSTEM): one mark instead of a watch per directory, at the price of
/// hearing about every directory of that file system. Needs CAP_SYS_ADMIN.
public final class Fanotify {
    public let fd: Int32

    /// `unlimitedQueue` (FAN_UNLIMITED_QUEUE, CAP_SYS_ADMIN): no overflow, see `FanotifyEvents`.
    public init(unlimitedQueue: Bool) throws(SystemError) {
        fd = taskreaper_fanotify_init(unlimitedQueue ? 1 : 0)
        guard fd >= 0 else { throw SystemError("fanotify_init", "(fanotify)") }
    }

    deinit { close(fd) }

    /// What `watch`'s inotify masks ask for, as one file-system-wide mask: entries created,
    /// deleted and renamed (the harness renames records and markers into place), files
    /// closed after writing (a marker or a reader floor written in place), and a watched
    /// directory itself deleted or moved (IN_DELETE_SELF/IN_MOVE_SELF: a session that went).
    /// FAN_ONDIR: the same for directories (sessions, trees, control/, io/ appearing). Not
    /// FAN_MODIFY (every write of a task's output, as inotify leaves out IN_MODIFY), not
    /// FAN_ATTRIB (no decision reads a mode or a time change without a write or rename), not
    /// FAN_EVENT_ON_CHILD (a file system mark hears every child already).
    public static let mask = UInt64(TASKREAPER_FAN_CREATE | TASKREAPER_FAN_DELETE | TASKREAPER_FAN_MOVED_FROM
        | TASKREAPER_FAN_MOVED_TO | TASKREAPER_FAN_CLOSE_WRITE | TASKREAPER_FAN_DELETE_SELF | TASKREAPER_FAN_MOVE_SELF)
        | UInt64(TASKREAPER_FAN_ONDIR)

    /// Marks the whole file system that holds `directory`.
    public func markFilesystem(of directory: DirectoryHandle) throws(SystemError) {
        guard taskreaper_fanotify_mark_filesystem(fd, directory.fd, Self.mask) == 0 else {
            throw SystemError("fanotify_mark", directory.path)
        }
    }

    /// The id fanotify gives the file system holding `directory` in its events (statfs's f_fsid).
    public static func filesystemID(of directory: DirectoryHandle) throws(SystemError) -> UInt64 {
        var fsid: UInt64 = 0
        guard taskreaper_filesystem_id(directory.fd, &fsid) == 0 else { throw SystemError("fstatfs", directory.path) }
        return fsid
    }

    /// The directory's own file handle: what events about its entries name it by.
    public static func handle(of directory: DirectoryHandle, fsid: UInt64) throws(SystemError) -> FileHandleKey {
        var bytes = [UInt8](repeating: 0, count: 128)
        var type: Int32 = 0
        let count = taskreaper_directory_handle(directory.fd, &bytes, Int32(bytes.count), &type)
        guard count >= 0 else { throw SystemError("name_to_handle_at", directory.path) }
        return bytes.withUnsafeBytes { FileHandleKey(fsid: fsid, type: type, bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(count)))) }
    }

    /// One record as read: its event bits (FAN_*, numerically inotify's IN_*), the
    /// directory it names (nil for an overflow) and the entry's name bytes ("." for an event
    /// on the directory itself), valid only during the call.
    public typealias Visit = (_ mask: UInt32, _ directory: FileHandleKey?, _ name: UnsafeRawBufferPointer) -> Void

    /// Reads what is queued, at most about `limit` bytes (a busy file system must not keep
    /// the loop here: epoll says again what is left).
    public func read(limit: Int, into buffer: inout [UInt8], _ visit: Visit) {
        var consumed = 0
        while consumed < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }  // EAGAIN: drained
            consumed += n
            buffer.withUnsafeBytes { Self.parse(UnsafeRawBufferPointer(rebasing: $0.prefix(n)), visit) }
        }
    }

    /// fanotify_event_metadata (event_len u32, vers u8, reserved u8, metadata_len u16,
    /// mask u64, fd s32, pid s32), then info records: header (type u8, pad u8, len u16),
    /// fsid (2 × s32), file_handle (handle_bytes u32, handle_type s32, bytes), the name, NUL.
    static func parse(_ raw: UnsafeRawBufferPointer, _ visit: Visit) {
        var offset = 0
        while offset + 24 <= raw.count {
            let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= 24, offset + length <= raw.count,
                  raw[offset + 4] == UInt8(TASKREAPER_FAN_METADATA_VERSION) else { return }
            let metadataLength = Int(raw.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            let mask = UInt32(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let eventFD = raw.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self)
            if eventFD >= 0 { close(eventFD) }  // never with FAN_REPORT_DFID_NAME; never leak one
            var found = false
            var info = offset + metadataLength
            while info + 4 <= offset + length {
                let type = raw[info]
                let infoLength = Int(raw.loadUnaligned(fromByteOffset: info + 2, as: UInt16.self))
                guard infoLength >= 4, info + infoLength <= offset + length else { break }
                if type == UInt8(TASKREAPER_FAN_EVENT_INFO_TYPE_DFID_NAME), infoLength >= 20 {
                    let fsid = UInt64(raw.loadUnaligned(fromByteOffset: info + 4, as: UInt32.self))
                        | UInt64(raw.loadUnaligned(fromByteOffset: info + 8, as: UInt32.self)) << 32
                    let handleBytes = Int(raw.loadUnaligned(fromByteOffset: info + 12, as: UInt32.self))
                    let handleType = raw.loadUnaligned(fromByteOffset: info + 16, as: Int32.self)
                    let nameStart = info + 20 + handleBytes
                    if nameStart <= info + infoLength {
                        let key = FileHandleKey(fsid: fsid, type: handleType,
                                                bytes: UnsafeRawBufferPointer(rebasing: raw[(info + 20)..<nameStart]))
                        var nameEnd = nameStart
                        while nameEnd < info + infoLength, raw[nameEnd] != 0 { nameEnd += 1 }
                        visit(mask, key, UnsafeRawBufferPointer(rebasing: raw[nameStart..<nameEnd]))
                        found = true
                    }
                }
                info += infoLength
            }
            if !found { visit(mask, nil, UnsafeRawBufferPointer(start: nil, count: 0)) }
            offset += length
        }
    }
}
