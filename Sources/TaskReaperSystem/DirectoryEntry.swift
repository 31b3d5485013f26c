#if canImport(Glibc)
import Glibc
#endif

/// One name from a directory listing, with the type `readdir` reported (no stat needed on
/// ext4/xfs/btrfs; `unknown` when the file system does not say, then callers fstatat).
public struct DirectoryEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case regular, directory, symlink, other, unknown }

    /// The name, exactly, when it is valid UTF-8; otherwise its escaped form (`\xff`), for
    /// messages only: such an entry must never be opened by this string (several different
    /// byte names would decode to one lossy name and alias one real directory).
    public let name: String
    public let kind: Kind
    /// False for a name that is not valid UTF-8: callers report it and leave it alone.
    public let isValidUTF8: Bool

    public init(name: String, kind: Kind, isValidUTF8: Bool = true) {
        self.name = name
        self.kind = kind
        self.isValidUTF8 = isValidUTF8
    }

    init<Bytes: Collection<UInt8>>(rawName bytes: Bytes, direntType: UInt8) {
        if let exact = String(validating: bytes, as: UTF8.self) {
            name = exact
            isValidUTF8 = true
        } else {
            name = Self.escaped(bytes)
            isValidUTF8 = false
        }
        switch Int(direntType) {
        case Int(DT_REG): kind = .regular
        case Int(DT_DIR): kind = .directory
        case Int(DT_LNK): kind = .symlink
        case Int(DT_UNKNOWN): kind = .unknown
        default: kind = .other
        }
    }

    /// Printable ASCII as is, every other byte as `\xHH` (a backslash too, so it is unambiguous).
    public static func escaped<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var text = ""
        for byte in bytes {
            if byte >= 0x20, byte < 0x7f, byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text
    }
}
