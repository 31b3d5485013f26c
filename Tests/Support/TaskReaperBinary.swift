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

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// The `--json` lines, parsed.
        public var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        public func actions(_ name: String) -> [[String: Any]] { jsonLines.filter { $0["action"] as? String == name } }
    }

    /// The configuration directories every test run uses unless it names its own: none. A
    /// test never reads the machine's /etc/taskreaper or ~/.config/taskreaper.
    public static let configDirsVariable = "TASKREAPER_CONFIG_DIRS"

    /// `environment` (or this process's), with no configuration directories unless it sets some.
    public static func isolated(_ environment: [String: String]? = nil) -> [String: String] {
        var result = environment ?? ProcessInfo.processInfo.environment
        if result[configDirsVariable] == nil { result[configDirsVariable] = "" }
        return result
    }

    /// The same, for an environment given as `KEY=value` entries.
    public static func isolated(_ entries: [String]) -> [String] {
        entries.contains { $0.hasPrefix(configDirsVariable + "=") } ? entries : entries + [configDirsVariable + "="]
    }

    public static func run(_ arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil) throws -> Run {
        let output = try Subprocess.run(url.path, arguments, environment: isolated(environment), directory: workingDirectory)
        return Run(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }
}
