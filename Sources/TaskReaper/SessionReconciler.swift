import SystemPackage
import TaskReaperCore
import Synchronization
import TaskReaperSystem

/// One session directory, reconciled: every bundle, every stray, and the directory itself.
/// The unit of work of a sweep (sessions run in parallel) and of a `watch` event.
public struct SessionReconciler: Sendable {
    public let tree: Tree
    /// The session directory's name, exactly as listed (UTF-8 or not: every name is reconciled).
    public let name: FileName
    public let context: ReconcileContext
    /// Threads for the bundles of this session: 1 in a sweep (which already runs sessions
    /// in parallel), more in watch, where one session's bundles often come due together.
    public let bundleWorkers: Int

    public init(tree: Tree, name: FileName, context: ReconcileContext, bundleWorkers: Int = 1) {
        self.tree = tree
        self.name = name
        self.context = context
        self.bundleWorkers = bundleWorkers
    }

    /// When to look again, and which live processes to wait for.
    @discardableResult
    public func reconcile() -> SessionOutcome {
        let location = tree.location(session: name)
        // The metric counts what this look finds (a gone or protected session: nothing).
        context.reporter.lookStarted(location)
        defer { context.reporter.lookEnded(location) }
        // Protected (README "Protect"): never opened; `watch` forgets it like a gone session.
        if tree.skipsProtected(session: name, context: context) { return SessionOutcome(exists: false) }
        guard let (session, entries) = tree.openSession(name, context: context, reportLinks: true) else {
            return SessionOutcome(exists: false)
        }
        if entries.isEmpty { return emptySession(session) }

        let sorted = SessionEntries(entries) { entryName in
            switch (try? session.status(entryName))??.kind {
            case .regular: return .regular
            case .symlink: return .symlink
            case .directory: return .directory
            default: return .other
            }
        }
        var removed = 0
        var nextDue: Millis?
        var live: [LiveProcess] = []
        var watchDirectories: [DirectoryHandle] = []
        let ordered = sorted.bundles.sorted(by: { $0.key < $1.key })
        // One id in both layouts is corrupt input (CONTRACT §7.1): reported, neither touched.
        let dual = sorted.dualLayouts
        for taskID in dual.sorted() { reportDualLayout(taskID, in: session) }
        let tasks = sorted.tasks
        // Tasks of one session in parallel when asked (watch): finalizations fsync, and
        // concurrent fsyncs share one journal commit instead of queueing behind each other.
        let outcomes = Mutex([BundleReconciler.Outcome](repeating: .init(), count: tasks.count))
        let (tree, name, context) = (self.tree, self.name, self.context)
        forEachConcurrently(tasks.count, workers: tasks.count > 1 ? bundleWorkers : 1) { index in
            let (taskID, layout) = tasks[index]
            let outcome = BundleReconciler(tree: tree, session: session, sessionName: name, taskID: taskID,
                                           layout: layout, context: context).reconcile()
            outcomes.withLock { $0[index] = outcome }
        }
        var removals: [ActionReport] = []
        for outcome in outcomes.withLock({ $0 }) {
            removed += outcome.removedEntries
            nextDue = earliest(nextDue, outcome.nextDue)
            if let process = outcome.liveProcess { live.append(process) }
            watchDirectories += outcome.watchDirectories
            if let removal = outcome.removal { removals.append(removal) }
        }
        RemovalReports.report(removals, session: session, location: location, context: context)
        for tombstone in sorted.tombstones {
            let outcome = finishTombstone(tombstone, in: session)
            if outcome.removed { removed += 1 }
            nextDue = earliest(nextDue, outcome.nextDue)
        }
        let bundles = tasks.count
        for (taskID, bundle) in ordered where !bundle.hasJSON {
            for member in bundle.members.sorted() {
                let outcome = stray(member, in: session, taskID: taskID, kind: .removeOrphanFile) { status, now in
                    Decide.orphanFile(modified: status.modified, now: now, policy: context.policy)
                }
                if outcome.removed { removed += 1 }
                nextDue = earliest(nextDue, outcome.nextDue)
            }
        }
        for temp in sorted.temps {
            let outcome = stray(temp.name, in: session, taskID: nil, kind: .removeStrayTemp) { status, now in
                let gone = TempNames.isOwnStep(temp.name)
                    || context.processes.writerIsGone(pid: temp.writerPID, fileExistedBy: status.existedBy)
                return Decide.strayTemp(modified: status.modified, writerGone: gone, now: now, policy: context.policy)
            }
            if outcome.removed { removed += 1 }
            nextDue = earliest(nextDue, outcome.nextDue)
        }
        context.reporter.counted(bundles: bundles, sessions: 1, nextDue: nextDue)
        var outcome = SessionOutcome(nextDue: nextDue, liveProcesses: live, watchDirectories: watchDirectories)
        if Housekeeping.sessionLeftEmpty(removedEntries: removed, entriesAtStart: sorted.total) {
            outcome.removal = removal(of: session, why: "left empty")
        }
        return outcome
    }

    private func reportDualLayout(_ taskID: String, in session: DirectoryHandle) {
        let path = session.childPath(FileName(taskID))
        var event = ActionReport(.reportCorrupt, path: path, location: tree.location(session: name, taskID: taskID),
                                 message: "Task \(taskID) is both a task directory and a flat \(taskID).json: corrupt input, neither is touched (the harness quarantines both)")
        event.details = [("error", .string("duplicate flat and directory layouts"))]
        context.reporter.report(event)
    }

    /// A `.aft-tmp-*` directory: a removal (ours or the harness's) that stopped half-way
    /// (CONTRACT §7.6). Finished once a minute old, so a removal in progress is not raced.
    private func finishTombstone(_ tombstone: FileName, in session: DirectoryHandle) -> (removed: Bool, nextDue: Millis?) {
        let location = tree.location(session: name)
        let path = session.childPath(tombstone)
        do {
            guard let status = try session.status(tombstone) else { return (true, nil) }
            switch Decide.tombstone(modified: status.modified, now: context.clock(), policy: context.policy) {
            case .leave(let recheckAt): return (false, recheckAt)
            case .remove, .quarantine:
                var files = 0
                if !context.dryRun {
                    switch try session.finishTombstone(tombstone) {
                    case .finished(let count): files = count
                    case .absent: return (true, nil)
                    case .notADirectory: return (false, nil)
                    }
                }
                var event = ActionReport(.removeStrayTemp, path: path, location: location,
                                         message: "\(context.verb("Finished", "finish")) removing \(path) (a task directory whose removal was interrupted)")
                event.reason = "interrupted removal"
                if !context.dryRun { event.details = [("files", .integer(files))] }
                context.reporter.report(event)
                return (true, nil)
            }
        } catch {
            context.reporter.failed(error, at: location, doing: "finish removing \(path)")
            return (false, nil)
        }
    }

    private func emptySession(_ session: DirectoryHandle) -> SessionOutcome {
        context.reporter.counted(sessions: 1)
        let modified: Millis
        do { modified = try session.status().modified } catch {
            context.reporter.failed(error, at: tree.location(session: name), doing: "stat session directory")
            return SessionOutcome()
        }
        switch Decide.emptySession(modified: modified, now: context.clock(), policy: context.policy) {
        case .leave(let recheckAt): return SessionOutcome(nextDue: recheckAt)
        case .remove, .quarantine:
            var outcome = SessionOutcome()
            outcome.removal = removal(of: session, why: "empty for \(DurationText.format(context.policy.emptySessionAge)) or more")
            return outcome
        }
    }

    /// The directory, as this pass holds it, for `SessionDirectoryRemoval` (which removes
    /// the pass's empty sessions together, after one look at who holds them open).
    private func removal(of session: DirectoryHandle, why: String) -> SessionRemoval? {
        do {
            let status = try session.status()
            return SessionRemoval(tree: tree, name: name, identity: FileIdentity(status), owner: status.owner, why: why)
        } catch {
            context.reporter.failed(error, at: tree.location(session: name), doing: "stat session directory")
            return nil
        }
    }

    /// A stray file: decide from its own mtime, remove it when due.
    private func stray(_ entryName: FileName, in session: DirectoryHandle, taskID: String?, kind: ActionKind,
                       decide: (FileStatus, Millis) -> StrayVerdict) -> (removed: Bool, nextDue: Millis?) {
        let location = tree.location(session: name, taskID: taskID)
        let path = session.childPath(entryName)
        do {
            guard let status = try session.status(entryName) else { return (true, nil) }
            switch decide(status, context.clock()) {
            case .leave(let recheckAt): return (false, recheckAt)
            case .remove, .quarantine:
                let what = kind == .removeStrayTemp ? "stray temp file" : "orphan file"
                var why = kind == .removeStrayTemp ? "its writer is gone" : "its task has no JSON"
                if !context.dryRun, kind == .removeOrphanFile { try session.unlink(entryName) }
                // Our own exchange step's temp may hold a writer's newer version: settled, not just unlinked.
                if !context.dryRun, kind == .removeStrayTemp, case .putBack(let target) = try session.settleStrayTemp(entryName) {
                    why += "; the newer version it held is back at \(session.childPath(target))"
                }
                context.reporter.report(ActionReport(kind, path: path, location: location,
                                                     message: "\(context.verb("Removed", "remove")) \(what) \(path) (\(why))"))
                return (true, nil)
            }
        } catch {
            context.reporter.failed(error, at: location, doing: "remove \(path)")
            return (false, context.retryAfterFailure())
        }
    }
}
