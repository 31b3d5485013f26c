import SystemPackage
import TaskReaperCore
import Synchronization
import TaskReaperSystem

/// One session directory, reconciled: every bundle, every stray, and the directory itself.
/// The unit of work of a sweep (sessions run in parallel) and of a `watch` event.
public struct SessionReconciler: Sendable {
    public let tree: Tree
    public let name: String
    public let context: ReconcileContext
    /// Threads for the bundles of this session: 1 in a sweep (which already runs sessions
    /// in parallel), more in watch, where one session's bundles often come due together.
    public let bundleWorkers: Int

    public init(tree: Tree, name: String, context: ReconcileContext, bundleWorkers: Int = 1) {
        self.tree = tree
        self.name = name
        self.context = context
        self.bundleWorkers = bundleWorkers
    }

    /// When to look again, and which live processes to wait for.
    @discardableResult
    public func reconcile() -> SessionOutcome {
        let location = tree.location(session: name)
        let session: DirectoryHandle
        let entries: [DirectoryEntry]
        do {
            session = try tree.directory.openDirectory(name)
            entries = try session.entries()
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory: break  // gone since the listing
            case .notDirectory, .tooManySymbolicLinkLevels:
                // O_NOFOLLOW|O_DIRECTORY on a link fails with either; a plain file is no session.
                if (try? tree.directory.status(name))??.kind == .symlink {
                    Tree.reportSymlink(tree.directory.childPath(name), location: location, context: context)
                }
            default: context.reporter.failed(error, at: location, doing: "read session directory")
            }
            return SessionOutcome(exists: false)
        }
        if entries.isEmpty { return SessionOutcome(nextDue: emptySession(session)) }

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
        let ordered = sorted.bundles.sorted(by: { $0.key < $1.key })
        let withJSON = ordered.filter { $0.value.hasJSON }
        // Bundles of one session in parallel when asked (watch): finalizations fsync, and
        // concurrent fsyncs share one journal commit instead of queueing behind each other.
        let outcomes = Mutex([BundleReconciler.Outcome](repeating: .init(), count: withJSON.count))
        let (tree, name, context) = (self.tree, self.name, self.context)
        forEachConcurrently(withJSON.count, workers: withJSON.count > 1 ? bundleWorkers : 1) { index in
            let (taskID, bundle) = withJSON[index]
            let outcome = BundleReconciler(tree: tree, session: session, sessionName: name, taskID: taskID,
                                           members: bundle.members, context: context).reconcile()
            outcomes.withLock { $0[index] = outcome }
        }
        for outcome in outcomes.withLock({ $0 }) {
            removed += outcome.removedEntries
            nextDue = earliest(nextDue, outcome.nextDue)
            if let process = outcome.liveProcess { live.append(process) }
        }
        let bundles = withJSON.count
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
        if Housekeeping.sessionLeftEmpty(removedEntries: removed, entriesAtStart: sorted.total) {
            // In a dry run the directory stays: a watcher keeps watching it.
            let gone = removeSessionDirectory(why: "left empty") && !context.dryRun
            // Not removed (failed, or refilled meanwhile): look again (Policy.failureRetry).
            let retry = gone || context.dryRun ? nextDue : earliest(nextDue, context.retryAfterFailure())
            return SessionOutcome(exists: !gone, nextDue: gone ? nil : retry)
        }
        return SessionOutcome(nextDue: nextDue, liveProcesses: live)
    }

    private func emptySession(_ session: DirectoryHandle) -> Millis? {
        context.reporter.counted(sessions: 1)
        let modified: Millis
        do { modified = try session.status().modified } catch {
            context.reporter.failed(error, at: tree.location(session: name), doing: "stat session directory")
            return nil
        }
        switch Decide.emptySession(modified: modified, now: context.clock(), policy: context.policy) {
        case .leave(let recheckAt): return recheckAt
        case .remove, .quarantine:
            let gone = removeSessionDirectory(why: "empty for \(DurationText.format(context.policy.emptySessionAge)) or more")
            return gone ? nil : context.retryAfterFailure()
        }
    }

    /// True when the directory is gone (or, in a dry run, would be).
    @discardableResult
    private func removeSessionDirectory(why: String) -> Bool {
        let path = tree.directory.childPath(name)
        let location = tree.location(session: name)
        if !context.dryRun {
            do {
                // ENOTEMPTY/ENOENT: the harness wrote or removed meanwhile; both are fine.
                switch try tree.directory.removeDirectory(name) {
                case .removed: break
                case .absent: return true
                case .notEmpty: return false
                }
            } catch {
                context.reporter.failed(error, at: location, doing: "remove session directory")
                return false
            }
        }
        var event = ActionReport(.removeSessionDir, path: path, location: location,
                                 message: "\(context.verb("Removed", "remove")) session directory \(path) (\(why))")
        event.reason = why
        context.reporter.report(event)
        return true
    }

    /// A stray file: decide from its own mtime, remove it when due.
    private func stray(_ entryName: String, in session: DirectoryHandle, taskID: String?, kind: ActionKind,
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
