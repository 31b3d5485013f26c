import Logging
import TaskReaperCore
import TaskReaperSystem

/// Where every ActionReport goes: the logger (journald or stderr), `--json` lines on
/// stdout, and the counters of the summary. Shared by the sweep's worker threads. It
/// owns the run's mode: every report it emits says whether it was a dry run.
public final class Reporter: Sendable {
    private let logger: Logger
    private let jsonLines: OutputLines?
    /// Reports describe what would be done; nothing is changed.
    public let dryRun: Bool
    private let tally = ActionCounters()

    public struct Counters: Sendable, Equatable {
        public var actions: [ActionKind: Int] = [:]
        public var bundles = 0
        public var sessions = 0
        /// The earliest moment a decision asked to look again (Unix ms).
        public var nextDue: Millis?

        public subscript(kind: ActionKind) -> Int { actions[kind, default: 0] }
        /// Items that failed: the sweep exits 1 when this is not 0.
        public var failures: Int { self[.error] }

        /// `{"finalize": n, ...}` for every kind but the summary, in the vocabulary's order.
        public var countsObject: JSONObject {
            JSONObject(ActionKind.allCases.filter { $0 != .summary }.map { ($0.rawValue, .integer(self[$0])) })
        }

        /// What happened after `earlier` was taken.
        public func since(_ earlier: Counters) -> Counters {
            var delta = Counters()
            for kind in ActionKind.allCases { delta.actions[kind] = self[kind] - earlier[kind] }
            delta.bundles = bundles - earlier.bundles
            delta.sessions = sessions - earlier.sessions
            return delta
        }
    }

    /// `jsonLinesFD`: where `--json` lines go (stdout), nil without `--json`.
    public init(logger: Logger, jsonLinesFD: Int32? = nil, dryRun: Bool = false) {
        self.logger = logger
        self.jsonLines = jsonLinesFD.map(OutputLines.init)
        self.dryRun = dryRun
    }

    public var counters: Counters { tally.snapshot }

    public func report(_ report: ActionReport) {
        let fields = report.fields(dryRun: dryRun)
        logger.log(level: report.action.level, "\(report.message)", metadata: fields.journalMetadata(messageID: report.action.messageID))
        tally.add(report.action)
        jsonLines?.write(JSONWriter.compact(.object(fields.jsonObject)))
    }

    /// Not an action, not counted: detail an operator may ask for (--log-level debug).
    public func debug(_ message: String, location: Location) {
        logger.debug("\(message)", metadata: ["TASKREAPER_ROOT": .string(location.root)])
    }

    /// A system call failed on `error.path`: reported, counted, and the pass goes on.
    public func failed(_ error: SystemError, at location: Location, doing what: String) {
        var event = ActionReport(.error, path: error.path, location: location, message: "Could not \(what): \(error)")
        event.details = [("operation", .string(error.operation)), ("error", .string(error.code.description))]
        report(event)
    }

    func counted(bundles: Int = 0, sessions: Int = 0, nextDue: Millis? = nil) {
        tally.add(bundles: bundles, sessions: sessions, nextDue: nextDue)
    }

    /// The summary, as a journal entry and (with `--json`) the last line.
    public func summarize(roots: [String], durationMs: Millis) -> JSONObject {
        let counters = self.counters
        let message = Self.summarySentence(counters, roots: roots.count, dryRun: dryRun, durationMs: durationMs)
        var fields = ReportFields()
        fields.add("action", .string(ActionKind.summary.rawValue))
        fields.add("dry_run", .bool(dryRun))
        fields.add("roots", .array(roots.map(JSONValue.string)))
        fields.add("sessions", .integer(counters.sessions))
        fields.add("bundles", .integer(counters.bundles))
        fields.add("counts", .object(counters.countsObject), journalName: "COUNT")
        fields.add("next_due_at", counters.nextDue.map { .integer($0) } ?? .null)
        fields.add("duration_ms", .integer(durationMs))
        fields.add("message", .string(message))
        logger.log(level: counters.failures > 0 ? .warning : .info, "\(message)",
                   metadata: fields.journalMetadata(messageID: ActionKind.summary.messageID))
        let object = fields.jsonObject
        jsonLines?.write(JSONWriter.compact(.object(object)))
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
        add(.skipBadName, "non-UTF-8 names skipped")
        add(.skipLockedRoot, "roots locked")
        add(.skipReaderFloor, "roots left to a newer harness")
        add(.rescan, "rescans")
        add(.watchLimit, "watch limit reached")
        add(.descriptorLimit, "descriptor limit reached")
        add(.syncRow, dryRun ? "aft.db rows to sync" : "aft.db rows synced")
        add(.dbBusy, "aft.db busy")
        add(.error, "errors")
        let done = parts.isEmpty ? "nothing to do" : parts.joined(separator: ", ")
        return "\(verb) \(roots) root\(roots == 1 ? "" : "s"), \(c.sessions) sessions, \(c.bundles) bundles in \(durationMs) ms: \(done)"
    }
}
