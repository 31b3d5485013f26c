#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A failed system call, naming what was attempted on which file, so every error a user
/// sees says where to look ("unlink /r/bash-tasks/ab/x.stdout: Permission denied").
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    /// The raw errno, for the system layer's own comparisons.
    public let errno: Int32

    public init(_ operation: String, _ path: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public init(_ operation: String, _ path: String, code: Errno) {
        self.init(operation, path, errno: code.rawValue)
    }

    /// The errno, typed: what code above the system layer compares against.
    public var code: Errno { Errno(rawValue: errno) }

    public var description: String { "\(operation) \(path): \(code.description)" }
}
