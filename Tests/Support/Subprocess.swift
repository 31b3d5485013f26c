import Foundation

/// Reads a pipe to its end on a thread of its own. A pipe holds 64 KiB: a child (or a
/// writer in this process) that fills one pipe while we block reading another, or waiting
/// for it to exit, blocks for ever. Every pipe a test reads goes through this.
public final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `handle` now, until end of file.
    public init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    /// Everything read, once the writing ends have all been closed (blocks until then).
    public func wait() -> Data {
        done.wait()
        done.signal()  // a second call returns at once
        return data
    }
}

/// Runs a program to completion, its stdout and stderr drained concurrently (`PipeDrain`).
public enum Subprocess {
    public struct Output {
        public let status: Int32
        public let stdout: Data
        /// Empty with `mergeOutput`: stderr went into `stdout`.
        public let stderr: Data

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// `environment` replaces ours; `mergeOutput` sends stderr down the stdout pipe (one
    /// stream, in the order written). stdin is /dev/null.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, mergeOutput: Bool = false) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = mergeOutput ? out : Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes are read while the child runs, whatever it writes to which first.
        let outDrain = PipeDrain(out.fileHandleForReading)
        let errDrain = mergeOutput ? nil : PipeDrain(err.fileHandleForReading)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: outDrain.wait(), stderr: errDrain?.wait() ?? Data())
    }
}
