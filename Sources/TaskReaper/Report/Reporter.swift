import Synchronization
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
    /// Human lines (README "Console output"); nil: none.
    public let console: Console?
    /// Whether each report goes to the logger (the journal); the summary always does. Off for
    /// a dry run under `--log-target auto`: 20 000 "would" entries are no record of anything.
    public let logsItems: Bool
    private let clock: @Sendable () -> Millis
    /// `--json` lines of a one-shot pass, held until the summary and written in a stable
    /// order (root, harness, session; within a session as reported) instead of the order of
    /// the worker threads; nil: written as they come (watch).
    private let holdsLines: Bool
    private let heldLines = Mutex<[HeldLine]>([])

    private struct HeldLine {
        let root: String
        let harness: String
        let session: String
        let sequence: Int
        let line: String
    }

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
    /// `ordersJSONLines`: hold `--json` lines until the summary and write them sorted (sweep).
    public init(logger: Logger, jsonLinesFD: Int32? = nil, dryRun: Bool = false, console: Console? = nil, logsItems: Bool = true,
                ordersJSONLines: Bool = false, clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.logger = logger
        self.jsonLines = jsonLinesFD.map(OutputLines.init)
        self.dryRun = dryRun
        self.console = console
        self.logsItems = logsItems
        self.clock = clock
        holdsLines = ordersJSONLines && jsonLinesFD != nil
    }

    public var counters: Counters { tally.snapshot }

    public func report(_ report: ActionReport) {
        let fields = report.fields(dryRun: dryRun, at: clock())
        announce(report, fields)
        tally.add(report.action)
        writeLine(report, fields)
    }

    /// Routine removals of one session in one pass (issue 14): one journal entry and one
    /// console line for all of them (MESSAGE names the count, `TASKREAPER_TASK_ID` once per
    /// task), while each keeps its own `--json` line and count. Journald stores 20 000
    /// entries slowly and rate-limits a service at 10 000 per 30 s; a session's worth of
    /// "removed" is one fact.
    func reportBatch(_ reports: [ActionReport], as summary: ActionReport) {
        guard reports.count > 1 else { reports.forEach(report); return }
        let now = clock()
        for report in reports {
            tally.add(report.action)
            writeLine(report, report.fields(dryRun: dryRun, at: now))
        }
        announce(summary, summary.fields(dryRun: dryRun, at: now))
    }

    /// The journal entry (unless items are not logged) and the console line.
    private func announce(_ report: ActionReport, _ fields: ReportFields) {
        if logsItems {
            logger.log(level: report.action.level, "\(report.message)", metadata: fields.journalMetadata(messageID: report.action.messageID))
        }
        console?.show(report, dryRun: dryRun)
    }

    private func writeLine(_ report: ActionReport, _ fields: ReportFields) {
        guard let jsonLines else { return }
        let line = JSONWriter.compact(.object(fields.jsonObject))
        if holdsLines {
            let location = report.location
            heldLines.withLock { held in
                held.append(HeldLine(root: location.root, harness: location.harness ?? "", session: location.session ?? "",
                                     sequence: held.count, line: line))
            }
        } else {
            jsonLines.write(line)
        }
    }

    /// The held lines, sorted: roots in the order given, then harness (legacy first),
    /// session, and the order reported (one thread reports a session's lines, in order).
    private func flushHeldLines(roots: [String]) {
        guard holdsLines, let jsonLines else { return }
        let held = heldLines.withLock { held in defer { held.removeAll() }; return held }
        guard !held.isEmpty else { return }
        var rank: [String: Int] = [:]
        for (index, root) in roots.enumerated() where rank[root] == nil { rank[root] = index }
        let sorted = held.sorted { a, b in
            let (ra, rb) = (rank[a.root] ?? Int.max, rank[b.root] ?? Int.max)
            if ra != rb { return ra < rb }
            if a.root != b.root { return a.root < b.root }
            if a.harness != b.harness { return a.harness < b.harness }
            if a.session != b.session { return a.session < b.session }
            return a.sequence < b.sequence
        }
        var bytes: [UInt8] = []
        for entry in sorted {
            bytes.append(contentsOf: entry.line.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        jsonLines.write(bytes: bytes)
    }

    /// Not an action, not counted: a warning about the run itself (no root found...), in the
    /// journal when it gets the summary, and on stderr unless quiet.
    public func warn(_ message: String) {
        logger.warning("\(message)", metadata: ["TASKREAPER_DRY_RUN": .string(dryRun ? "1" : "0")])
        console?.warning(message)
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
        flushHeldLines(roots: roots)
        var fields = ReportFields()
        fields.addLineHeader(at: clock())
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
        console?.summary(message)
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
