#if canImport(Glibc)
import Glibc
#endif
import CLinux
import TaskReaperCore

/// What `statx(AT_SYMLINK_NOFOLLOW)` says about one entry: a link is a link, never its target.
public struct FileStatus: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, other }

    public let kind: Kind
    /// mtime in Unix ms: the contract's "older than" clock. Anyone who can write the file
    /// can also set it to any value (utimensat).
    public let modified: Millis
    /// ctime in Unix ms: the last change of content or status. Only the kernel sets it, to
    /// its own clock (setting the mtime moves it to now).
    public let changed: Millis
    /// Birth time in Unix ms, where the file system reports one (statx STATX_BTIME: ext4,
    /// xfs, btrfs, tmpfs); nil elsewhere.
    public let born: Millis?
    public let size: Int64
    public let mode: mode_t
    public let owner: uid_t
    public let group: gid_t
    public let device: UInt64
    public let inode: UInt64
    /// Hard links: the harness refuses task files with more than one (CONTRACT §7.1); 0
    /// means the file was unlinked (replaced) while open.
    public let links: UInt64

    /// A moment by which this inode certainly existed, from the times nobody but the kernel
    /// sets: its birth, else its last status change (never earlier than its birth). A
    /// process that started after this did not create the file, whatever its mtime says.
    public var existedBy: Millis { born ?? changed }

    init(_ raw: taskreaper_file_status) {
        switch mode_t(raw.mode) & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        modified = Millis(seconds: raw.mtime_sec, nanoseconds: raw.mtime_nsec)
        changed = Millis(seconds: raw.ctime_sec, nanoseconds: raw.ctime_nsec)
        born = raw.has_btime != 0 ? Millis(seconds: raw.btime_sec, nanoseconds: raw.btime_nsec) : nil
        size = raw.size
        mode = mode_t(raw.mode) & 0o7777
        owner = raw.uid
        group = raw.gid
        device = raw.device
        inode = raw.inode
        links = raw.links
    }

    /// `name` relative to `directory`, or the fd itself when `name` is nil; links not followed.
    /// On failure errno is set and nil returned.
    public static func of(_ directory: Int32, _ name: FileName?) -> FileStatus? {
        var raw = taskreaper_file_status()
        let rc = name.map { name in name.withCName { taskreaper_status(directory, $0, AT_SYMLINK_NOFOLLOW, &raw) } }
            ?? taskreaper_status(directory, nil, AT_SYMLINK_NOFOLLOW, &raw)
        return rc == 0 ? FileStatus(raw) : nil
    }
}
