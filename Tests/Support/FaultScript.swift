import Foundation
import XCTest

/// The fault drivers in `scripts/fault/` (Python), run from the tests: a short run of each is
/// part of the suite; the long runs are the same commands with bigger numbers.
public enum FaultScript {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/fault").path

    /// Runs `scripts/fault/<name>` to completion with the built binary; exit 77 is a skip.
    public static func run(_ name: String, _ arguments: [String]) throws -> Subprocess.Output {
        var environment = ProcessInfo.processInfo.environment
        environment["TASKREAPER_BINARY"] = TaskReaperBinary.url.path
        let output = try Subprocess.run("/usr/bin/python3", [directory + "/" + name] + arguments,
                                        environment: environment, mergeOutput: true)
        if output.status == 77 { throw XCTSkip("\(name): \(output.stdoutText)") }
        return output
    }

    /// Starts `scripts/fault/<name>` and returns once it has printed `line` (e.g. "ready").
    public static func start(_ name: String, _ arguments: [String], until line: String,
                             timeout: TimeInterval = 30) throws -> Started {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory + "/" + name] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let started = Started(process: process, output: out.fileHandleForReading)
        guard started.waitForLine(line, timeout: timeout) else {
            process.terminate()
            process.waitUntilExit()
            if process.terminationStatus == 77 { throw XCTSkip("\(name): \(started.text)") }
            throw NSError(domain: "FaultScript", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) never said \(line): \(started.text)"])
        }
        return started
    }

    public final class Started: @unchecked Sendable {
        public let process: Process
        private let lock = NSLock()
        private var buffer = Data()

        init(process: Process, output: FileHandle) {
            self.process = process
            output.readabilityHandler = { [weak self] handle in
                let chunk = handle.availableData
                if chunk.isEmpty { handle.readabilityHandler = nil; return }
                self?.lock.withLock { self?.buffer.append(chunk) }
            }
        }

        public var text: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

        func waitForLine(_ line: String, timeout: TimeInterval) -> Bool {
            _ = holds(within: timeout) { text.split(separator: "\n").contains(Substring(line)) || !process.isRunning }
            return text.split(separator: "\n").contains(Substring(line))
        }

        /// The exit status, once it exits (within `timeout`; nil if it did not).
        public func wait(timeout: TimeInterval = 60) -> Int32? {
            _ = holds(within: timeout) { !process.isRunning }
            if process.isRunning { process.terminate(); process.waitUntilExit(); return nil }
            return process.terminationStatus
        }
    }
}
