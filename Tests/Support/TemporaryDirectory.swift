import Foundation
import XCTest

/// A fresh directory under /tmp (mkdtemp), removed with everything in it on `remove()` or
/// when the last reference goes away.
public final class TemporaryDirectory {
    public let path: String
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    public init(_ prefix: String = "taskreaper-test", in parent: String = "/tmp") throws {
        var template = Array("\(parent)/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    /// A fresh directory on tmpfs (/dev/shm), which stores any 64-bit file time: ext4 clamps
    /// times to the year 2446, so only there can a test give a file an mtime near 2^62 s, as a
    /// hostile user can on a tmpfs root. Skips where no such directory keeps such a time.
    public static func onTmpfs(_ prefix: String = "taskreaper-test") throws -> TemporaryDirectory {
        guard let directory = try? TemporaryDirectory(prefix, in: "/dev/shm") else {
            throw XCTSkip("no /dev/shm to hold extreme file times")
        }
        var times = [timespec(tv_sec: 1 << 62, tv_nsec: 0), timespec(tv_sec: 1 << 62, tv_nsec: 0)]
        var st = stat()
        guard utimensat(AT_FDCWD, directory.path, &times, 0) == 0, lstat(directory.path, &st) == 0,
              st.st_mtim.tv_sec == 1 << 62 else {
            throw XCTSkip("/dev/shm does not keep a file time of 2^62 s (not a tmpfs?)")
        }
        return directory
    }

    /// Recursive; links inside are removed, never followed. Idempotent.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}
