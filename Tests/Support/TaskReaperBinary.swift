import Foundation

/// The built `taskreaper` executable, run as a user would run it.
public enum TaskReaperBinary {
    /// `.build/<config>/taskreaper`, beside the test bundle SwiftPM built.
    public static var url: URL {
        if let explicit = ProcessInfo.processInfo.environment["TASKREAPER_BINARY"] { return URL(fileURLWithPath: explicit) }
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("taskreaper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        // Fallback: the package's own debug build, from this source file's location.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/taskreaper")
    }

    public struct Run {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        /// The `--json` lines, parsed.
        public var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        public func actions(_ name: String) -> [[String: Any]] { jsonLines.filter { $0["action"] as? String == name } }
    }

    public static func run(_ arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil) throws -> Run {
        let output = try Subprocess.run(url.path, arguments, environment: environment, directory: workingDirectory)
        return Run(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }
}
