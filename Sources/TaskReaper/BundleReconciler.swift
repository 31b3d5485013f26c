import TaskReaperCore
import TaskReaperSystem

/// Observe, decide, act for one task, flat (`<id>.json` and members, CONTRACT §2–5) or a task
/// directory (`<id>/control/metadata.json`, §7). Paths come from the listing (`taskID`),
/// never from the record's own task_id.
struct BundleReconciler {
    /// What the listing found under `taskID`.
    enum Layout {
        case flat(members: [FileName])
        case directory
    }

    let tree: Tree
    let session: DirectoryHandle
    let sessionName: FileName
    let taskID: String
    let layout: Layout
    let context: ReconcileContext

    struct Outcome {
        /// Directory entries this task no longer occupies (for "session left empty").
        var removedEntries = 0
        var nextDue: Millis?
        /// A task left running because its process is alive: `watch` waits on its pidfd.
        var liveProcess: LiveProcess?
        /// A task directory's `control/` and `io/` to watch (`watch` only): the record
        /// replaced by the harness, the marker written in place. Nothing for a flat bundle
        /// (its session directory's watch sees both), nor for a task nothing can change.
        var watchDirectories: [DirectoryHandle] = []
        /// A removal done (or, in a dry run, due), not reported yet: the session reports its
        /// removals together (`RemovalReports`).
        var removal: ActionReport?
    }

    /// How often the record may change under us before we leave the task to the next pass.
    static let attempts = 3

    /// What reports point at before the record was found: the JSON, or the task directory.
    var entryPath: String {
        switch layout {
        case .flat: return session.childPath(FileName(taskID + ".json"))
        case .directory: return session.childPath(FileName(taskID))
        }
    }

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
        var event = ActionReport(.error, path: entryPath, location: location,
                                 message: "Task \(taskID) changed under us \(Self.attempts) times in a row; left for the next pass")
        event.details = [("error", .string("concurrent writer"))]
        context.reporter.report(event)
        return Outcome()
    }

    /// One observe/decide/act round; nil when another writer changed the task and the
    /// decision must start over from what is on disk now.
    private func attempt() throws(SystemError) -> Outcome? {
        let task: ObservedTask
        let observation = try observe()
        context.reporter.observed(location, status: observation.censusStatus)  // taskreaper_tasks{status}
        switch observation {
        case .absent: return Outcome()
        case .corrupt(let problem, let modified): return corrupt(problem, modified: modified)
        case .incomplete(let problem, let since, let markerWritten, let watch):
            return incomplete(problem, since: since, markerWritten: markerWritten, watch: watch)
        case .unsupported(let error):
            context.reporter.report(ActionReport(.skipUnsupportedSchema, path: entryPath, location: location,
                                                 message: "Leaving task \(taskID) alone: \(error)"))
            return Outcome()
        case .task(let observed): task = observed
        }
        let temps = ControlTemps.settle(task.files, location: location, context: context)
        if temps.putBack { return nil }
        if let kind = task.irregularMarker { irregularMarker(kind, task) }
        guard var outcome = try decideAndAct(task) else { return nil }
        outcome.nextDue = earliest(outcome.nextDue, temps.nextDue)
        return outcome
    }

    /// The decision for an observed task, and its action.
    private func decideAndAct(_ task: ObservedTask) throws(SystemError) -> Outcome? {
        let document = task.observation.document
        switch Decide.task(task.observation, policy: context.policy) {
        case .leave(let recheckAt):
            var outcome = Outcome(nextDue: recheckAt)
            // A terminal record whose row still says running: the harness would undo us (§6).
            if document.status.isTerminal, let mirror = tree.mirror {
                switch Housekeeping.rowSync(jsonModified: task.recordStatus.modified, now: task.observation.now, policy: context.policy) {
                case .settlingUntil(let settled): outcome.nextDue = earliest(recheckAt, settled)
                case .now:
                    if case .deferred(let until) = mirror.syncTerminal(document, taskID: taskID, harness: tree.harnessName?.text, at: location,
                                                                       jsonPath: task.files.recordPath, context: context) {
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
            if task.files.isDirectory {
                // Not terminal: the record and the marker may change. Terminal but not yet
                // delivered: the record's delivery flag will (and starts the retention).
                if !document.status.isTerminal {
                    outcome.watchDirectories = [task.files.recordDirectory, task.files.markerDirectory]
                } else if !document.completionDelivered {
                    outcome.watchDirectories = [task.files.recordDirectory]
                }
            }
            return outcome
        case .finalize(let finalization):
            return try TaskFinalizer(reconciler: self, task: task).finalize(finalization, now: task.observation.now)
        case .enforceTimeout(let finalization):
            let enforcement = TimeoutEnforcement(context: context, location: location, jsonPath: task.files.recordPath, taskID: taskID)
            guard enforcement.terminate(document, fileOwner: task.recordStatus.owner) else { return Outcome() }
            return try TaskFinalizer(reconciler: self, task: task).finalize(finalization, now: context.clock())
        case .removeBundle(let reason):
            return TaskRemover(reconciler: self, task: task).remove(reason)
        }
    }

    /// "; updated its row in /r/aft.db", for the sentence of an event that changed a row.
    func rowSentence(_ row: TaskMirror.RowResult, done: String, wouldDo: String) -> String {
        guard row == .changed, let mirror = tree.mirror else { return "" }
        return "; \(context.dryRun ? "would " + wouldDo : done) its row in \(mirror.path)"
    }

    // MARK: Corrupt

    /// A FIFO, socket, directory, device or link where the marker goes, or a file too big to
    /// be one: no marker, whatever it is (a socket used to fail the whole task on every pass, the others went unsaid),
    /// said once per look at the task. It still counts as "a marker exists" for the kill path.
    private func irregularMarker(_ kind: FileStatus.Kind, _ task: ObservedTask) {
        let what: String
        switch kind {
        case .directory: what = "is a directory"
        case .symlink: what = "is a symbolic link (never followed)"
        case .regular: what = "is larger than \(ReadLimits.marker) bytes"
        case .other: what = "is not a regular file (a FIFO, socket or device)"
        }
        let path = task.files.markerPath
        var event = ActionReport(.reportCorrupt, path: path, location: location, message: "Exit marker \(path) \(what): read as no marker")
        event.sessionID = task.observation.document.sessionID
        event.details = [("error", .string(what))]
        context.reporter.report(event)
    }

    /// A record we cannot use: reported while young, quarantined once old (CONTRACT §5, §7).
    private func corrupt(_ problem: String, modified: Millis) -> Outcome {
        let now = context.clock()
        switch Decide.corrupt(modified: modified, now: now, policy: context.policy) {
        case .leave(let recheckAt):
            let what: String
            switch layout {
            case .flat: what = "Task JSON \(entryPath)"
            case .directory: what = "Task directory \(entryPath)"
            }
            var event = ActionReport(.reportCorrupt, path: entryPath, location: location,
                                     message: "\(what) \(problem.hasPrefix("is") || problem.hasPrefix("has") || problem.hasPrefix("names") ? problem : "is unreadable: " + problem); quarantined once \(DurationText.format(context.policy.corruptQuarantineAge)) old")
            event.details = [("error", .string(problem))]
            event.since = modified  // a rewrite is a new problem, reported again in watch
            context.reporter.report(event)
            return Outcome(nextDue: recheckAt)
        case .quarantine, .remove:
            let quarantine = Quarantine(tree: tree, session: session, sessionName: sessionName, context: context)
            switch layout {
            case .flat(let members):
                return quarantine.move(taskID: taskID, names: members.sorted() + [FileName(taskID + ".json")], problem: problem, now: now)
            case .directory:
                return quarantine.moveTaskDirectory(taskID, problem: problem)
            }
        }
    }

    /// A task directory without its control/, io/ or record (CONTRACT §7.1): initialising
    /// while young (5 min, unless its marker is already written), then reported, and
    /// quarantined once as old as a corrupt record would be.
    private func incomplete(_ problem: String, since: Millis, markerWritten: Bool, watch: [DirectoryHandle]) -> Outcome {
        if !markerWritten, case .leave(let recheckAt) = Decide.initialising(since: since, now: context.clock(), policy: context.policy) {
            // `watch` sees the rest appear (inside the task directory, not the session's).
            return Outcome(nextDue: recheckAt, watchDirectories: watch)
        }
        return corrupt(problem, modified: since)
    }
}
