import Foundation
import Glibc

/// Paths as bytes, for names that are not UTF-8 (issue 11.5): Foundation's String paths
/// cannot name them. `path("/r/tree", [0xff])` is `/r/tree/` followed by the byte 0xff.
public enum RawPath {
    public static func path(_ base: String, _ components: [UInt8]...) -> [UInt8] {
        components.reduce(Array(base.utf8)) { $0 + [UInt8(ascii: "/")] + $1 }
    }

    public static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (path + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    public static func makeDirectory(_ path: [UInt8]) -> Bool { withCPath(path) { mkdir($0, 0o755) } == 0 }

    /// Creates (or truncates) a regular file; `ageMs` backdates its mtime.
    @discardableResult
    public static func write(_ path: [UInt8], _ content: String = "", ageMs: UInt64? = nil) -> Bool {
        let fd = withCPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { return false }
        let bytes = Array(content.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { return false }
        if let ageMs { return setModified(path, ageMs: ageMs) }
        return true
    }

    public static func setModified(_ path: [UInt8], ageMs: UInt64) -> Bool {
        let when = BundleFixture.nowMs() - ageMs
        var times = [timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000),
                     timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000)]
        return withCPath(path) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) } == 0
    }

    public static func rename(_ from: [UInt8], _ to: [UInt8]) -> Bool {
        withCPath(from) { source in withCPath(to) { Glibc.rename(source, $0) } } == 0
    }

    public static func exists(_ path: [UInt8]) -> Bool {
        var st = stat()
        return withCPath(path) { lstat($0, &st) } == 0
    }

    public static func read(_ path: [UInt8]) -> String? {
        contents(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The file's bytes; nil when it cannot be opened.
    public static func contents(_ path: [UInt8]) -> Data? {
        let fd = withCPath(path) { open($0, O_RDONLY) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            data += buffer[..<n]
        }
        return Data(data)
    }

    /// A JSON file's top-level object.
    public static func json(_ path: [UInt8]) -> [String: Any]? {
        read(path).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Every entry under `root` (names as bytes) with type, size, mode, mtime and content:
    /// equal snapshots mean a byte-identical tree, whatever the names.
    public static func snapshot(_ root: String) -> Data {
        let find = Process()
        find.executableURL = URL(fileURLWithPath: "/usr/bin/find")
        find.arguments = [root, "-printf", "%p\\0%y %s %m %T@\\0"]
        let pipe = Pipe()
        find.standardOutput = pipe
        try? find.run()
        var listing = pipe.fileHandleForReading.readDataToEndOfFile()
        find.waitUntilExit()
        // Contents too: the listing alone would miss a rewrite within one mtime tick.
        let entries = listing.split(separator: 0, omittingEmptySubsequences: false)
        for index in stride(from: 0, to: entries.count - 1, by: 2) where entries[index + 1].first == UInt8(ascii: "f") {
            listing += contents(Array(entries[index])) ?? Data()
        }
        return listing
    }
}
