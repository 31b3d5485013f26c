/// A directory as fanotify names it in an event: its file system's id and its file handle
/// (`name_to_handle_at`). Hashable without an allocation for handles up to 32 bytes (ext4: 8,
/// tmpfs: 12, btrfs: up to 40), so that matching the whole file system's events against
/// the watched directories costs one hash of a few words each.
public struct FileHandleKey: Hashable, Sendable {
    let fsid: UInt64
    let type: Int32
    let count: Int32
    let words: (UInt64, UInt64, UInt64, UInt64)
    /// The bytes past the first 32 (empty for nearly every file system).
    let tail: [UInt8]

    static let inlineBytes = 32

    /// From `count` handle bytes at `bytes`.
    init(fsid: UInt64, type: Int32, bytes: UnsafeRawBufferPointer) {
        self.fsid = fsid
        self.type = type
        count = Int32(bytes.count)
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(Self.inlineBytes))) }
        self.words = words
        tail = bytes.count > Self.inlineBytes ? Array(bytes.dropFirst(Self.inlineBytes)) : []
    }

    public static func == (a: FileHandleKey, b: FileHandleKey) -> Bool {
        a.fsid == b.fsid && a.type == b.type && a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1
            && a.words.2 == b.words.2 && a.words.3 == b.words.3 && a.tail == b.tail
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fsid)
        hasher.combine(type)
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
        if !tail.isEmpty { hasher.combine(tail) }
    }
}
