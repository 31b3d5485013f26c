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
    /// `watch`: a recurring problem is reported once until it changes (README "Console output").
    public let reportsProblemsOnce: Bool
    private let lastProblems = Mutex<[String: String]>([:])
    /// Tasks by status, as each session's last look left them (`taskreaper_tasks{status}`).
    let census = TaskCensus()
    private let passes = Mutex(PassRecord())

    /// The last pass (a sweep, or one round of `watch`), for the metrics.
    public struct PassRecord: Sendable, Equatable {
        public var count = 0
        /// Unix ms when the last pass ended; nil before the first.
        public var lastEndedAt: Millis?
        public var lastDurationMs: Millis = 0
        /// Unix ms when the last pass without a new error ended.
        public var lastSuccessAt: Millis?
        /// The error count when the last pass ended (a pass's errors are the difference).
        var errorsAtLastEnd = 0
    }
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

    /// `jsonLinesFD`: where `--json` lines go (stdout), nil without `--json`.
    /// `ordersJSONLines`: hold `--json` lines until the summary and write them sorted (sweep).
    public init(logger: Logger, jsonLinesFD: Int32? = nil, dryRun: Bool = false, console: Console? = nil, logsItems: Bool = true,
                ordersJSONLines: Bool = false, reportsProblemsOnce: Bool = false,
                clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.reportsProblemsOnce = reportsProblemsOnce
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
        if dryRun, let refused = Self.wouldFail(report) {
            emit(refused)
            return
        }
        if reportsProblemsOnce, isRepeat(report) { return }
        emit(report)
    }

    /// The same problem about the same item as last time (a corrupt JSON, an unsupported
    /// schema, a link), in a `watch`: said once until it changes (its message or the file's
    /// time), not on every event and pass. Any other report about the item forgets it.
    private func isRepeat(_ report: ActionReport) -> Bool {
        switch report.action {
        case .reportCorrupt, .skipUnsupportedSchema, .skipSymlink, .skipProtected:
            let fingerprint = report.message + "\u{0}" + (report.since.map { String($0) } ?? "")
            return lastProblems.withLock { last in
                defer { last[report.path] = fingerprint }
                return last[report.path] == fingerprint
            }
        case .rescan, .summary, .error:
            return false
        default:
            lastProblems.withLock { last in
                if !last.isEmpty { last[report.path] = nil }
            }
            return false
        }
    }

    /// A dry run's promise the real run could not keep (no write permission on the directory,
    /// a read-only file system, a sticky directory): an `error` instead of the "would" report,
    /// so the dry run's exit status (1) and summary say so.
    static func wouldFail(_ report: ActionReport) -> ActionReport? {
        switch report.action {
        case .finalize, .writeKillMarker, .removeBundle, .quarantine, .removeStrayTemp, .removeOrphanFile, .removeSessionDir,
             .removeQuarantined:
            guard let problem = WriteAccess.problem(changing: report.path) else { return nil }
            var error = ActionReport(.error, path: report.path, location: report.location,
                                     message: "The real run could not \(ConsoleLine.verb(report.action, dryRun: true).dropFirst(6)) "
                                         + "\(report.path): \(problem)")
            error.sessionID = report.sessionID
            error.details = [("operation", .string(report.action.rawValue)), ("error", .string(problem))]
            return error
        default:
            return nil
        }
    }

    private func emit(_ report: ActionReport) {
        let fields = report.fields(dryRun: dryRun, at: clock())
        announce(report, fields)
        tally.add(report.action)
        updateCensus(report)
        writeLine(report, fields)
    }

    /// Routine removals of one session in one pass (issue 14): one journal entry and one
    /// console line for all of them (MESSAGE names the count, `TASKREAPER_TASK_ID` once per
    /// task), while each keeps its own `--json` line and count. Journald stores 20 000
    /// entries slowly and rate-limits a service at 10 000 per 30 s; a session's worth of
    /// "removed" is one fact.
    func reportBatch(_ reports: [ActionReport], as summary: ActionReport) {
        // A dry run's promise the real run could not keep is an error of its own (see `report`).
        if dryRun, reports.contains(where: { Self.wouldFail($0) != nil }) { reports.forEach(report); return }
        guard reports.count > 1 else { reports.forEach(report); return }
        let now = clock()
        for report in reports {
            tally.add(report.action)
            updateCensus(report)
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

    /// What a report changes in the census (a dry run changes nothing on disk).
    private func updateCensus(_ report: ActionReport) {
        if report.action == .rescan { census.clear(); return }
        guard !dryRun else { return }
        switch report.action {
        case .removeBundle, .quarantine: census.set(report.location, status: nil)
        case .finalize: if let to = report.to { census.set(report.location, status: to.rawValue) }
        case .removeSessionDir: census.removeSession(report.location)
        default: break
        }
    }

    /// A task as observed (`BundleObservation.censusStatus`; nil: gone).
    func observed(_ location: Location, status: String?) { census.set(location, status: status) }

    /// A look at a session starts (`location`: the session): its tasks are counted anew.
    func lookStarted(_ location: Location) { census.begin(location) }

    /// The look ends: what it saw is what the session counts until the next look.
    func lookEnded(_ location: Location) { census.end(location) }

    /// Tasks by status, as last observed.
    public var tasksByStatus: [String: Int] { census.counts }

    /// A pass ended (a sweep's, or one round of `watch`'s work): its duration and, if it
    /// added no error, the time of the last success.
    public func passFinished(durationMs: Millis) {
        let errors = counters.failures
        let now = clock()
        passes.withLock { record in
            record.count += 1
            record.lastEndedAt = now
            record.lastDurationMs = durationMs
            if errors == record.errorsAtLastEnd { record.lastSuccessAt = now }
            record.errorsAtLastEnd = errors
        }
    }

    public var lastPass: PassRecord { passes.withLock { $0 } }

    /// Not an action, not counted: something about the run itself worth a line (a
    /// configuration reloaded), in the journal when it gets the summary, and where action
    /// lines go.
    public func note(_ message: String) {
        logger.notice("\(message)", metadata: ["TASKREAPER_DRY_RUN": .string(dryRun ? "1" : "0")])
        console?.summary(message)
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
    /// `watching`: the summary of a `watch` at its exit: `sessions` and `bundles` are what it
    /// watches now (the tree's size), not how many looks it took (the sessions it reconciled,
    /// counted once per look, were many times the tree).
    public func summarize(roots: [String], durationMs: Millis, watchingSessions: Int? = nil) -> JSONObject {
        var counters = self.counters
        if let watchingSessions {
            counters.sessions = watchingSessions
            counters.bundles = census.counts.values.reduce(0, +)
        }
        let message = Self.summarySentence(counters, roots: roots.count, dryRun: dryRun, durationMs: durationMs,
                                           watching: watchingSessions != nil)
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
}
