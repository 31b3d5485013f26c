import SystemPackage

/// Lines to a descriptor (stdout for `--json`, stderr for the console log), shared by
/// worker threads: one lock so lines never interleave (a line over PIPE_BUF is not one
/// atomic write on a pipe), and every byte written (short writes and EINTR retried).
/// The lock is held across write(2): a sleeping lock, because Swift's Mutex spun while the
/// other worker was in the kernel (2 % of a sweep's CPU, issue 14).
public final class OutputLines: Sendable {
    private let descriptor: FileDescriptor
    private let lock = SleepingLock(())

    public init(_ fd: Int32) { descriptor = FileDescriptor(rawValue: fd) }

    /// The newline is added here. A failed write (a closed pipe) is dropped: the journal
    /// keeps the record, and a reader that went away cannot be told.
    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        write(bytes: bytes)
    }

    public func write(bytes: [UInt8]) {
        lock.withLock { _ in _ = try? descriptor.writeAll(bytes) }
    }
}
