import ArgumentParser
import Synchronization
import TaskReaper
import TaskReaperCore
import TaskReaperSystem

/// `--metrics-file PATH`, shared by `sweep` and `watch` (README "Metrics").
struct MetricsOptions: ParsableArguments {
    @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Write Prometheus text-format metrics here after every pass (atomically: a temp file beside it, then rename), e.g. for node_exporter's textfile collector. Default: the configuration's [Metrics] File=, else none.", valueName: "PATH"))
    var metricsFile: String?

    func validate() throws {
        if let metricsFile, !metricsFile.hasSuffix("/"), !metricsFile.isEmpty { return }
        if metricsFile != nil { throw ValidationError("--metrics-file needs a file name") }
    }

    /// The flag (made absolute), else the configuration's, else none.
    var path: String? {
        if let metricsFile { return RootOptions.absolute(metricsFile) }
        return ConfigurationStore.shared.configuration.metricsFile
    }
}

/// Writes the metrics file; a failure is said on stderr once until it changes (or succeeds).
final class MetricsFile: Sendable {
    let path: String
    private let lastError = Mutex<String?>(nil)

    init(path: String) { self.path = path }

    @discardableResult
    func write(_ text: String) -> Bool {
        let slash = path.lastIndex(of: "/")!
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        do {
            let handle = try DirectoryHandle.open(root: directory)
            // The temp (.<name>.tmp.<pid>.metrics) never ends in .prom: the collector skips it.
            _ = try handle.writeAtomically(FileName(name), bytes: Array(text.utf8), tag: "metrics")
            lastError.withLock { $0 = nil }
            return true
        } catch {
            let message = "cannot write the metrics file \(path): \(error)"
            let isNew = lastError.withLock { last in
                defer { last = message }
                return last != message
            }
            if isNew { printError("taskreaper: error: " + message) }
            return false
        }
    }
}

/// `ctl metrics`: the daemon answers `{"ok":true,"metrics":"..."}` (one JSON line, as every
/// answer); `ctl` prints the text inside.
enum MetricsAnswer {
    static func text(of answer: String) -> String? {
        guard case .object(let object)? = try? JSONParser.parse(Array(answer.utf8)) else { return nil }
        return object["metrics"]?.stringValue
    }
}
