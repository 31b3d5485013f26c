#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// Where every ActionReport goes: the logger (journald or stderr), `--json` lines on
/// stdout, and the counters of the summary. Shared by the sweep's worker threads.
public final class Reporter: Sendable {
    private let logger: Logger
    private let jsonLinesFD: Int32?
    private let tally = ActionCounters()
    /// Serializes `--json` lines (a line over PIPE_BUF is not one atomic write on a pipe).
    private let lines = Mutex(())

    public struct Counters: Sendable, Equatable {
        public var actions: [ActionKind: Int] = [:]
        public var bundles = 0
        public var sessions = 0
        /// The earliest moment a decision asked to look again (Unix ms).
        public var nextDue: Millis?

        public subscript(kind: ActionKind) -> Int { actions[kind, default: 0] }
        /// Items that failed: the sweep exits 1 when this is not 0.
        public var failures: Int { self[.error] }
    }

    /// `jsonLinesFD`: where `--json` lines go (stdout), nil without `--json`.
    public init(logger: Logger, jsonLinesFD: Int32? = nil) {
        self.logger = logger
        self.jsonLinesFD = jsonLinesFD
    }

    public var counters: Counters { tally.snapshot }

    public func report(_ report: ActionReport) {
        logger.log(level: report.action.level, "\(report.message)", metadata: report.journalMetadata())
        tally.add(report.action)
        if let fd = jsonLinesFD {
            let line = JSONWriter.compact(.object(report.jsonObject()))  // built outside the lock
            lines.withLock { _ in Self.writeLine(line, to: fd) }
        }
    }

    /// Not an action, not counted: detail an operator may ask for (--log-level debug).
    public func debug(_ message: String, location: Location) {
        logger.debug("\(message)", metadata: ["TASKREAPER_ROOT": .string(location.root)])
    }

    /// A system call failed on `error.path`: reported, counted, and the pass goes on.
    public func failed(_ error: SystemError, at location: Location, dryRun: Bool, doing what: String) {
        var event = ActionReport(.error, path: error.path, location: location, dryRun: dryRun,
                                 message: "Could not \(what): \(error)")
        event.details = [("operation", .string(error.operation)), ("error", .string(String(cString: strerror(error.errno))))]
        report(event)
    }

    func counted(bundles: Int = 0, sessions: Int = 0, nextDue: Millis? = nil) {
        tally.add(bundles: bundles, sessions: sessions, nextDue: nextDue)
    }

    /// The summary, as a journal entry and (with `--json`) the last line.
    public func summarize(roots: [String], dryRun: Bool, durationMs: Millis) -> JSONObject {
        let counters = self.counters
        var counts = JSONObject()
        for kind in ActionKind.allCases where kind != .summary { counts[kind.rawValue] = .integer(counters[kind]) }
        var object = JSONObject()
        object["action"] = .string(ActionKind.summary.rawValue)
        object["dry_run"] = .bool(dryRun)
        object["roots"] = .array(roots.map(JSONValue.string))
        object["sessions"] = .integer(counters.sessions)
        object["bundles"] = .integer(counters.bundles)
        object["counts"] = .object(counts)
        object["next_due_at"] = counters.nextDue.map { .integer($0) } ?? .null
        object["duration_ms"] = .integer(durationMs)
        let message = Self.summarySentence(counters, roots: roots.count, dryRun: dryRun, durationMs: durationMs)
        object["message"] = .string(message)
        var fields: Logger.Metadata = [
            "MESSAGE_ID": .string(ActionKind.summary.messageID),
            "TASKREAPER_ACTION": .string(ActionKind.summary.rawValue),
            "TASKREAPER_DRY_RUN": .string(dryRun ? "1" : "0"),
            "TASKREAPER_ROOTS": .string(roots.joined(separator: ":")),
            "TASKREAPER_BUNDLES": .string(String(counters.bundles)),
            "TASKREAPER_DURATION_MS": .string(String(durationMs)),
        ]
        for kind in ActionKind.allCases where kind != .summary && counters[kind] > 0 {
            fields["TASKREAPER_COUNT_" + kind.rawValue.uppercased()] = .string(String(counters[kind]))
        }
        logger.log(level: counters.failures > 0 ? .warning : .info, "\(message)", metadata: fields)
        if let fd = jsonLinesFD {
            let line = JSONWriter.compact(.object(object))
            lines.withLock { _ in Self.writeLine(line, to: fd) }
        }
        return object
    }

    static func summarySentence(_ c: Counters, roots: Int, dryRun: Bool, durationMs: Millis) -> String {
        let verb = dryRun ? "Dry run over" : "Swept"
        var parts: [String] = []
        func add(_ kind: ActionKind, _ label: String) { if c[kind] > 0 { parts.append("\(c[kind]) \(label)") } }
        add(.finalize, dryRun ? "to finalize" : "finalized")
        add(.terminateGroup, dryRun ? "to terminate" : "terminated")
        add(.removeBundle, dryRun ? "bundles to remove" : "bundles removed")
        add(.quarantine, dryRun ? "to quarantine" : "quarantined")
        add(.removeStrayTemp, dryRun ? "stray temp files to remove" : "stray temp files removed")
        add(.removeOrphanFile, dryRun ? "orphan files to remove" : "orphan files removed")
        add(.removeSessionDir, dryRun ? "session dirs to remove" : "session dirs removed")
        add(.reportCorrupt, "corrupt")
        add(.skipUnsupportedSchema, "unsupported schema")
        add(.skipSymlink, "symlinks skipped")
        add(.skipLockedRoot, "roots locked")
        add(.rescan, "rescans")
        add(.watchLimit, "watch limit reached")
        add(.syncRow, dryRun ? "aft.db rows to sync" : "aft.db rows synced")
        add(.dbBusy, "aft.db busy")
        add(.error, "errors")
        let done = parts.isEmpty ? "nothing to do" : parts.joined(separator: ", ")
        return "\(verb) \(roots) root\(roots == 1 ? "" : "s"), \(c.sessions) sessions, \(c.bundles) bundles in \(durationMs) ms: \(done)"
    }

    /// One write(2) per line, so lines from worker threads never interleave.
    static func writeLine(_ line: String, to fd: Int32) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}
