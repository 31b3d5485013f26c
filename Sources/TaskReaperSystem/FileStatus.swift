#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// What `fstatat(AT_SYMLINK_NOFOLLOW)` says about one entry: a link is a link, never its target.
public struct FileStatus: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, other }

    public let kind: Kind
    /// mtime in Unix ms: the contract's "older than" clock.
    public let modified: Millis
    public let size: Int64
    public let mode: mode_t
    public let owner: uid_t
    public let group: gid_t
    public let device: UInt64
    public let inode: UInt64

    public init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        modified = WallClock.millis(st.st_mtim)
        size = Int64(st.st_size)
        mode = st.st_mode & 0o7777
        owner = st.st_uid
        group = st.st_gid
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
