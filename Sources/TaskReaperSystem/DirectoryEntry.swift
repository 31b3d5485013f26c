#if canImport(Glibc)
import Glibc
#endif

/// One name from a directory listing, with the type `readdir` reported (no stat needed on
/// ext4/xfs/btrfs; `unknown` when the file system does not say, then callers fstatat).
public struct DirectoryEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, other, unknown }

    /// The name exactly as listed (bytes; see `FileName` for its escaped form).
    public let name: FileName
    public let kind: Kind

    public init(name: FileName, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    init<Bytes: Collection<UInt8>>(rawName bytes: Bytes, direntType: UInt8) {
        name = FileName(bytes: bytes)
        switch Int(direntType) {
        case Int(DT_REG): kind = .regular
        case Int(DT_DIR): kind = .directory
        case Int(DT_LNK): kind = .symlink
        case Int(DT_UNKNOWN): kind = .unknown
        default: kind = .other
        }
    }
}
