import TaskReaperCore
import TaskReaperSystem

/// Observe, decide, act for one bundle that has a `<id>.json` (CONTRACT §3–5). Paths come
/// from the file name (`taskID`), never from the JSON's own task_id.
struct BundleReconciler {
    let tree: Tree
    let session: DirectoryHandle
    let sessionName: String
    let taskID: String
    /// The bundle's other files, as listed.
    let members: [String]
    let context: ReconcileContext

    struct Outcome {
        /// Directory entries this bundle no longer occupies (for "session left empty").
        var removedEntries = 0
        var nextDue: Millis?
        /// A task left running because its process is alive: `watch` waits on its pidfd.
        var liveProcess: LiveProcess?
    }

    /// How often the JSON may change under us before we leave the bundle to the next pass.
    static let attempts = 3

    var jsonName: String { taskID + ".json" }
    var markerName: String { taskID + ".exit" }
    var jsonPath: String { session.childPath(jsonName) }
    var location: Location { tree.location(session: sessionName, taskID: taskID) }

    func reconcile() -> Outcome {
        for _ in 1...Self.attempts {
            do {
                if let outcome = try attempt() { return outcome }
            } catch {
                context.reporter.failed(error, at: location, doing: "reconcile task \(taskID)")
                return Outcome(nextDue: context.retryAfterFailure())
            }
        }
        var event = ActionReport(.error, path: jsonPath, location: location,
                                 message: "Task \(taskID) changed under us \(Self.attempts) times in a row; left for the next pass")
        event.details = [("error", .string("concurrent writer"))]
        context.reporter.report(event)
        return Outcome()
    }

    /// One observe/decide/act round; nil when another writer changed the bundle and the
    /// decision must start over from what is on disk now.
    private func attempt() throws(SystemError) -> Outcome? {
        let task: ObservedTask
        switch try observe() {
        case .absent: return Outcome()
        case .corrupt(let problem, let modified): return corrupt(problem, modified: modified)
        case .unsupported(let error):
            context.reporter.report(ActionReport(.skipUnsupportedSchema, path: jsonPath, location: location,
                                                 message: "Leaving task \(taskID) alone: \(error)"))
            return Outcome()
        case .task(let observed): task = observed
        }
        if let kind = task.irregularMarker { irregularMarker(kind, sessionID: task.observation.document.sessionID) }
        let document = task.observation.document
        switch Decide.task(task.observation, policy: context.policy) {
        case .leave(let recheckAt):
            var outcome = Outcome(nextDue: recheckAt)
            // A terminal JSON whose row still says running: the harness would undo us (§6).
            if document.status.isTerminal, let mirror = tree.mirror {
                switch Housekeeping.rowSync(jsonModified: task.recordStatus.modified, now: task.observation.now, policy: context.policy) {
                case .settlingUntil(let settled): outcome.nextDue = earliest(recheckAt, settled)
                case .now:
                    if case .deferred(let until) = mirror.syncTerminal(document, taskID: taskID, harness: tree.harness, at: location,
                                                                       jsonPath: jsonPath, context: context) {
                        outcome.nextDue = earliest(recheckAt, until)
                    }
                }
            }
            if task.observation.liveness == .alive, let pid = document.childPID {
                // A started_at in the future (up to 2^64 - 1 in a hostile JSON) is clamped to
                // now: the watcher's check "the process started by started_at + slack" gives
                // the same answer for every process alive now, and its sum cannot overflow.
                outcome.liveProcess = LiveProcess(pid: pid, taskStartedAt: min(document.startedAt, task.observation.now),
                                                  pgid: document.pgid)
            }
            return outcome
        case .finalize(let finalization):
            return try finalize(finalization, task, now: task.observation.now)
        case .enforceTimeout(let finalization):
            let enforcement = TimeoutEnforcement(context: context, location: location, jsonPath: jsonPath, taskID: taskID)
            guard enforcement.terminate(document, fileOwner: task.recordStatus.owner) else { return Outcome() }
            return try finalize(finalization, task, now: context.clock())
        case .removeBundle(let reason):
            return removeBundle(reason, document: document)
        }
    }

    // MARK: Finalize

    private func finalize(_ f: Finalization, _ task: ObservedTask, now: Millis) throws(SystemError) -> Outcome? {
        let (document, original, jsonStatus) = (task.observation.document, task.record, task.recordStatus)
        // The seed's write_kill_marker_if_absent: any existing `.exit`, even unreadable, counts.
        if f.writeKilledMarker, !task.markerFileExists {
            if !context.dryRun {
                let result = try session.writeAtomically(markerName, bytes: Array("killed".utf8), tag: taskID,
                                                         like: jsonStatus, exclusive: true)
                // A marker appeared since we looked: it may say something else. Start over.
                if result == .targetExists { return nil }
            }
            var event = ActionReport(.writeKillMarker, path: session.childPath(markerName), location: location,
                                     message: "\(context.verb("Wrote", "write")) a killed exit marker for task \(taskID)")
            event.sessionID = document.sessionID
            context.reporter.report(event)
        }

        let updated = document.markedTerminal(f.to, exitCode: f.exitCode, reason: f.reason, now: now)
        if !context.dryRun {
            // CONTRACT §3: only over the very file we decided from. A writer's newer version
            // wins, is never lost (issue 11.2: CheckedReplace), and we decide again from it.
            let result = try session.replace(jsonName, with: updated.encoded(), ifStill: .init(status: jsonStatus, bytes: original),
                                             temps: .seed(for: jsonName, tag: taskID))
            if result != .replaced { return nil }
        }
        // The row follows the JSON (CONTRACT §6); a deferred one is repaired on the next look.
        let row = tree.mirror?.finalized(updated, taskID: taskID, harness: tree.harness, context: context) ?? .noDatabase
        var event = ActionReport(.finalize, path: jsonPath, location: location,
                                 message: "\(context.verb("Finalized", "finalize")) task \(taskID): \(f.from.rawValue) -> \(f.to.rawValue)"
                                     + (f.exitCode.map { " (exit code \($0))" } ?? "") + (f.reason.map { ": \($0)" } ?? "")
                                     + rowSentence(row, done: "updated", wouldDo: "update"))
        event.sessionID = document.sessionID
        event.from = f.from
        event.to = f.to
        event.exitCode = f.exitCode
        event.reason = f.reason
        if let field = row.field(dryRun: context.dryRun, change: "update") { event.details.append(("db_row", .string(field))) }
        context.reporter.report(event)
        if case .deferred(let until) = row { return Outcome(nextDue: until) }
        return Outcome()
    }

    /// "; updated its row in /r/aft.db", for the sentence of an event that changed a row.
    private func rowSentence(_ row: TaskMirror.RowResult, done: String, wouldDo: String) -> String {
        guard row == .changed, let mirror = tree.mirror else { return "" }
        return "; \(context.dryRun ? "would " + wouldDo : done) its row in \(mirror.path)"
    }

    // MARK: Remove

    private func removeBundle(_ reason: RemovalReason, document: TaskDocument) -> Outcome {
        let files = members.count + 1
        // The row goes first: a row left behind by files already gone could never be found
        // again, while files left behind by a deleted row are removed by the next pass.
        let row = tree.mirror?.removing(document, taskID: taskID, harness: tree.harness, context: context) ?? .noDatabase
        if case .deferred(let until) = row { return Outcome(nextDue: until) }
        var event = ActionReport(.removeBundle, path: jsonPath, location: location,
                                 message: "\(context.verb("Removed", "remove")) \(reason.rawValue) bundle of task \(taskID) (\(files) file\(files == 1 ? "" : "s"))"
                                     + rowSentence(row, done: "deleted", wouldDo: "delete"))
        event.sessionID = document.sessionID
        event.reason = reason.rawValue
        event.details = [("files", .integer(files))]
        if let field = row.field(dryRun: context.dryRun, change: "delete") { event.details.append(("db_row", .string(field))) }
        if !context.dryRun {
            // Members first, the JSON last: a crash in between leaves a JSON that still
            // says "remove me", so the next pass finishes the job.
            for name in members.sorted() + [jsonName] {
                do { try session.unlink(name) } catch {
                    context.reporter.failed(error, at: location, doing: "remove the bundle of task \(taskID)")
                    return Outcome(nextDue: context.retryAfterFailure())
                }
            }
        }
        context.reporter.report(event)
        return Outcome(removedEntries: files)
    }

    // MARK: Corrupt

    /// A FIFO, socket, directory, device or link named `<id>.exit`: no marker, whatever it is
    /// (a socket used to fail the whole task on every pass, the others went unsaid), said
    /// once per look at the task. It still counts as "a marker exists" for the kill path.
    private func irregularMarker(_ kind: FileStatus.Kind, sessionID: String) {
        let what: String
        switch kind {
        case .directory: what = "is a directory"
        case .symlink: what = "is a symbolic link (never followed)"
        case .regular, .other: what = "is not a regular file (a FIFO, socket or device)"
        }
        let path = session.childPath(markerName)
        var event = ActionReport(.reportCorrupt, path: path, location: location, message: "Exit marker \(path) \(what): read as no marker")
        event.sessionID = sessionID
        event.details = [("error", .string(what))]
        context.reporter.report(event)
    }

    private func corrupt(_ problem: String, modified: Millis) -> Outcome {
        let now = context.clock()
        switch Decide.corrupt(modified: modified, now: now, policy: context.policy) {
        case .leave(let recheckAt):
            var event = ActionReport(.reportCorrupt, path: jsonPath, location: location,
                                     message: "Task JSON \(jsonPath) \(problem.hasPrefix("is") ? problem : "is unreadable: " + problem); quarantined once \(DurationText.format(context.policy.corruptQuarantineAge)) old")
            event.details = [("error", .string(problem))]
            context.reporter.report(event)
            return Outcome(nextDue: recheckAt)
        case .quarantine, .remove:
            return Quarantine(tree: tree, session: session, sessionName: sessionName, context: context)
                .move(taskID: taskID, names: members.sorted() + [jsonName], problem: problem, now: now)
        }
    }
}
