import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// The harness's SQLite mirror of one root, `<root>/aft.db` (CONTRACT §6), as the bundle
/// reconcilers use it. The JSON stays the truth for what we decide; the row follows it:
/// updated after a finalization, deleted before a removal, and repaired whenever a terminal
/// JSON still has a non-terminal row (the harness would trust the row and undo us).
///
/// Problems never stop the filesystem side. A database that cannot be used (not SQLite,
/// unknown schema, I/O error) is reported once per pass (`beginPass`); a busy one makes
/// every row change wait until `busyBackoff` has passed, so a harness holding its write
/// lock costs us one busy timeout per backoff, never one per bundle.
public final class TaskMirror: Sendable {
    let root: DirectoryHandle
    let rootPath: String
    /// `<root>/aft.db` as the user named the root: what reports say.
    let path: String
    let busyTimeoutMs: Int32
    let busyBackoff: Millis
    private let state = SleepingLock(State())
    /// Set once an aft.db was seen here; until then a missing file needs no lock.
    private let everFound = Atomic<Bool>(false)
    /// When (MonotonicClock) aft.db was last seen missing: believed for `absenceTrusted`.
    private let absentAt = Atomic<UInt64>(0)
    /// A sweep removes a bundle every few µs per worker, and a statx of the missing file per
    /// removal was 4.6 % of its CPU (bench-results/profile-20261126-1550.md). An aft.db the
    /// harness creates is noticed within this long; a check per removal only narrowed that
    /// window (the file can appear between the check and the unlink), never closed it.
    static let absenceTrusted: Millis = 10
    private static let databaseName = FileName(MirrorDatabase.fileName)

    struct State {
        var database: MirrorDatabase?
        /// The file the connection (or the last failure) is about; a new file is tried afresh.
        var identity: FileStatus?
        /// The file has no bash_tasks table: believed until then.
        var noTableUntil: Millis?
        /// Opening failed; not tried again until the file changes, a new pass begins or
        /// `failureUntil` (Policy.failureRetry) has passed: a read-only or full file system
        /// that comes back changes nothing in the file, and `watch` retries the bundles then.
        var failure: String?
        var failureUntil: Millis = 0
        var failureReported = false
        var busyUntil: Millis?
    }

    /// What happened to the row, for reports (`db_row`) and for the caller's next step.
    public enum RowResult: Equatable, Sendable {
        /// No aft.db: nothing to say.
        case noDatabase
        /// Updated or deleted (or, in a dry run, would be).
        case changed
        /// Nothing to change.
        case unchanged(Unchanged)
        /// Busy: try again at this moment.
        case deferred(until: Millis)
        /// The database is unusable (reported once per pass); the filesystem side goes on.
        case failed
    }

    public enum Unchanged: String, Sendable {
        case noTable = "no_table"
        case noRow = "no_row"
        /// The harness finalized the row itself: its row wins.
        case alreadyTerminal = "already_terminal"
        case inStep = "in_step"
    }

    public init(root: DirectoryHandle, rootPath: String, policy: Policy) {
        self.root = root
        self.rootPath = rootPath
        self.path = (rootPath.hasSuffix("/") ? rootPath : rootPath + "/") + MirrorDatabase.fileName
        self.busyTimeoutMs = Int32(clamping: policy.dbBusyTimeout)
        self.busyBackoff = policy.dbBusyBackoff
    }

    /// A new pass (a sweep, a watch rescan): an unusable database is reported again.
    public func beginPass() {
        state.withLock { state in
            state.failureReported = false
            state.failure = nil
            state.identity = nil
        }
    }

    // MARK: Row changes

    /// After a finalization (CONTRACT §6): the row takes the JSON's new state.
    func finalized(_ document: TaskDocument, taskID: String, harness: String?, context: ReconcileContext) -> RowResult {
        withDatabase(key(document, taskID: taskID, harness: harness), context: context) { database, key throws(MirrorDatabase.Failure) in
            let before = context.dryRun ? try database.status(of: key) : try database.finalize(key, to: MirrorRow(document))
            guard let before else { return .unchanged(.noRow) }
            return MirrorDatabase.isTerminal(before) ? .unchanged(.alreadyTerminal) : .changed
        }
    }

    /// Before removing a bundle: its row goes first. `.deferred` means leave the bundle.
    func removing(_ document: TaskDocument, taskID: String, harness: String?, context: ReconcileContext) -> RowResult {
        withDatabase(key(document, taskID: taskID, harness: harness), context: context) { database, key throws(MirrorDatabase.Failure) in
            let existed = context.dryRun ? try database.status(of: key) != nil : try database.delete(key)
            return existed ? .changed : .unchanged(.noRow)
        }
    }

    /// A terminal JSON left in place: repairs a row that still says the task runs. Reads
    /// first (no write lock) and writes only when the row is behind; reports `sync_row`.
    func syncTerminal(_ document: TaskDocument, taskID: String, harness: String?, at location: Location,
                      jsonPath: String, context: ReconcileContext) -> RowResult {
        let result = withDatabase(key(document, taskID: taskID, harness: harness), context: context) { database, key throws(MirrorDatabase.Failure) in
            guard let status = try database.status(of: key) else { return .unchanged(.noRow) }
            guard !MirrorDatabase.isTerminal(status) else { return .unchanged(.inStep) }
            if !context.dryRun {
                // Caught up between our read and the write lock? finalize re-checks under the lock.
                guard let before = try database.finalize(key, to: MirrorRow(document)),
                      !MirrorDatabase.isTerminal(before) else { return .unchanged(.inStep) }
            }
            return .changed
        }
        if result == .changed {
            var event = ActionReport(.syncRow, path: path, location: location,
                                     message: "\(context.verb("Updated", "update")) the row of task \(taskID) in \(path) to \(document.status.rawValue), as its JSON says")
            event.sessionID = document.sessionID
            event.to = document.status
            event.details = [("json", .string(jsonPath))]
            context.reporter.report(event)
        }
        return result
    }

    // MARK: The connection

    private static let noTableRecheck: Millis = 2_000

    private func key(_ document: TaskDocument, taskID: String, harness: String?) -> MirrorDatabase.Key {
        MirrorDatabase.Key(harness: harness, sessionID: document.sessionID, taskID: taskID)
    }

    /// Runs `body` on the open database, handling absence, backoff, and failures. Everything
    /// happens under the one lock: the connection is serial anyway, and a thread queued
    /// behind a busy timeout must see the backoff it set rather than wait out its own.
    private func withDatabase(_ key: MirrorDatabase.Key, context: ReconcileContext,
                       _ body: (MirrorDatabase, MirrorDatabase.Key) throws(MirrorDatabase.Failure) -> RowResult) -> RowResult {
        // The common case, no aft.db at all, answers without the lock, so the sweep's
        // threads never queue on it when there is nothing to keep in step.
        if !everFound.load(ordering: .relaxed) {
            let now = MonotonicClock.now()
            let seenMissing = absentAt.load(ordering: .relaxed)
            if seenMissing != 0, now >= seenMissing, now - seenMissing < Self.absenceTrusted { return .noDatabase }
            if (try? root.status(Self.databaseName)) == .some(nil) {
                absentAt.store(now, ordering: .relaxed)
                return .noDatabase
            }
        }
        return state.withLock { state -> RowResult in
            let database: MirrorDatabase
            switch open(&state, now: context.clock(), context: context) {
            case .database(let open): database = open
            case .result(let result): return result
            }
            do throws(MirrorDatabase.Failure) {
                return try body(database, key)
            } catch .busy {
                return busy(&state, now: context.clock(), context: context)
            } catch .ambiguous(let rows) {
                var event = ActionReport(.error, path: path, location: Location(root: rootPath, harness: nil, taskID: key.taskID),
                                         message: "Left the rows of task \(key.taskID) in \(path) alone: \(rows) rows of different harnesses match its session_id")
                event.sessionID = key.sessionID
                event.details = [("error", .string("ambiguous row"))]
                context.reporter.report(event)
                return .failed
            } catch {
                // The file went bad under us (I/O error, disk full, replaced): report once, reopen later.
                state.database = nil
                return failOpen(&state, problem: error.description, context: context)
            }
        }
    }

    private enum Opened {
        case database(MirrorDatabase)
        case result(RowResult)
    }

    private func open(_ state: inout State, now: Millis, context: ReconcileContext) -> Opened {
        if let until = state.busyUntil {
            if now < until { return .result(.deferred(until: until)) }
            state.busyUntil = nil
        }
        let status: FileStatus?
        do { status = try root.status(Self.databaseName) } catch {
            state.identity = nil
            return .result(failOpen(&state, problem: "\(error)", context: context))
        }
        guard let status else {
            state.database = nil
            state.identity = nil
            return .result(.noDatabase)
        }
        everFound.store(true, ordering: .relaxed)
        let sameFile = state.identity.map { $0.device == status.device && $0.inode == status.inode } ?? false
        if let database = state.database, sameFile { return .database(database) }
        // Unchanged since the last failure: do not retry every bundle. "No table" is believed
        // for a moment only: a table the harness creates lands in the WAL, not in this
        // file's size or mtime.
        if state.identity == status, state.failure != nil, now < state.failureUntil { return .result(.failed) }
        if let until = state.noTableUntil, now < until, sameFile { return .result(.unchanged(.noTable)) }
        state.database = nil
        state.noTableUntil = nil
        state.failure = nil
        state.identity = status
        guard status.kind == .regular else {
            let problem = status.kind == .symlink ? "is a symbolic link (never followed)" : "is not a regular file"
            return .result(failOpen(&state, problem: problem, context: context))
        }
        do {
            guard let database = try MirrorDatabase.open(in: root, readOnly: context.dryRun, busyTimeoutMs: busyTimeoutMs) else {
                state.noTableUntil = now.adding(Self.noTableRecheck)
                context.reporter.debug("\(path) has no \(MirrorDatabase.table) table: no rows to keep in step",
                                       location: Location(root: rootPath, harness: nil))
                return .result(.unchanged(.noTable))
            }
            state.database = database
            return .database(database)
        } catch .busy {
            // Opening reads the schema, which waits on a busy harness too.
            state.identity = nil
            return .result(busy(&state, now: context.clock(), context: context))
        } catch {
            return .result(failOpen(&state, problem: error.description, context: context))
        }
    }

    /// Remembers the failure for the file `state.identity` names, reporting it once per pass.
    private func failOpen(_ state: inout State, problem: String, context: ReconcileContext) -> RowResult {
        state.failure = problem
        state.failureUntil = context.retryAfterFailure()
        if !state.failureReported {
            state.failureReported = true
            var event = ActionReport(.error, path: path, location: Location(root: rootPath, harness: nil),
                                     message: "Cannot keep \(path) in step: \(problem.hasPrefix("is ") ? "it " + problem : problem); the task files are handled anyway")
            event.details = [("error", .string(problem))]
            context.reporter.report(event)
        }
        return .failed
    }

    private func busy(_ state: inout State, now: Millis, context: ReconcileContext) -> RowResult {
        if let until = state.busyUntil, until > now { return .deferred(until: until) }
        let until = now.adding(busyBackoff)
        state.busyUntil = until
        var event = ActionReport(.dbBusy, path: path, location: Location(root: rootPath, harness: nil),
                                 message: "\(path) stayed locked for \(DurationText.format(Millis(busyTimeoutMs))): its row changes, and the removals waiting on them, are left for \(DurationText.format(busyBackoff))")
        event.details = [("busy_timeout_ms", .integer(busyTimeoutMs)), ("retry_after_ms", .integer(busyBackoff))]
        context.reporter.report(event)
        return .deferred(until: until)
    }
}

extension TaskMirror.RowResult {
    /// The `db_row` report field: what became of the row (nil: no aft.db).
    func field(dryRun: Bool, change: String) -> String? {
        switch self {
        case .noDatabase: return nil
        case .changed: return dryRun ? "would_" + change : change + "d"
        case .unchanged(let why): return why.rawValue
        case .deferred: return "deferred"
        case .failed: return "failed"
        }
    }
}
