#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, naming what was attempted on which file, so every error a user
/// sees says where to look ("unlink /r/bash-tasks/ab/x.stdout: Permission denied").
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, _ path: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}
