import Foundation

/// A fresh directory under /tmp (mkdtemp), removed with everything in it on `remove()` or
/// when the last reference goes away.
public final class TemporaryDirectory {
    public let path: String
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    public init(_ prefix: String = "taskreaper-test") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    /// Recursive; links inside are removed, never followed. Idempotent.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}
