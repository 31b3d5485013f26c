import Foundation

/// A fresh directory under /tmp, removed with everything in it when the test is done.
public final class TemporaryDirectory {
    public let path: String

    public init(_ prefix: String = "taskreaper-test") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}
