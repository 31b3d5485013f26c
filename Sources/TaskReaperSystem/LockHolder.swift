#if canImport(Glibc)
import Glibc
#endif

/// Who holds a flock on a file (README "One sweep per root"): from /proc/locks, the pid
/// of the FLOCK lock on the file's device and inode, and its command line from
/// /proc/<pid>/cmdline. nil when the kernel does not say (another pid namespace, a lock
/// released meanwhile, no /proc).
public struct LockHolder: Equatable, Sendable {
    public let pid: Int32
    /// The command line, arguments joined by spaces (at most 200 characters); nil if unreadable.
    public let command: String?

    public var description: String { "pid \(pid)" + (command.map { ": \($0)" } ?? "") }

    public static func of(device: UInt64, inode: UInt64, locks: String = "/proc/locks", proc: String = "/proc") -> LockHolder? {
        guard let text = readSmall(locks) else { return nil }
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        for line in text.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 12345 fd:01:123456 0 EOF" (blocked waiters: "1: -> FLOCK ...")
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]), pid > 0 else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor,
                  UInt64(id[2]) == inode else { continue }
            return LockHolder(pid: pid, command: commandLine(of: pid, proc: proc))
        }
        return nil
    }

    static func commandLine(of pid: Int32, proc: String) -> String? {
        guard let raw = readSmall("\(proc)/\(pid)/cmdline"), !raw.isEmpty else { return nil }
        let words = raw.split(separator: "\u{0}").map { word in
            String(word.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        }
        let line = words.joined(separator: " ")
        return line.count > 200 ? String(line.prefix(199)) + "…" : line
    }

    private static func readSmall(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
