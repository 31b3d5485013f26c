import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// `taskreaper sweep`: every session of every tree of every root, observe/decide/act,
/// once. Roots are locked (flock on the root directory) so two sweeps, or a sweep and a
/// `watch`, never work on the same root at once; a dry run takes no lock.
public struct Sweeper: Sendable {
    public let roots: [String]
    public let context: ReconcileContext
    /// Sessions are reconciled on this many threads.
    public let workers: Int

    public init(roots: [String], context: ReconcileContext, workers: Int = 8) {
        self.roots = roots
        self.context = context
        self.workers = workers
    }

    public struct Result: Sendable {
        public var counters: Reporter.Counters
        public var lockedRoots: [String]
        public var summary: JSONObject

        /// 1 when anything failed, else 75 when a root was locked by another sweep or an
        /// aft.db by its harness (work left for the next run), else 0.
        public var exitCode: Int32 {
            if counters.failures > 0 { return ExitStatus.itemsFailed }
            if !lockedRoots.isEmpty || counters[.dbBusy] > 0 { return ExitStatus.locked }
            return ExitStatus.success
        }
    }

    public func run() -> Result {
        let started = context.clock()
        let pass = PassSessions(roots: roots, lock: !context.dryRun, mirrors: true, context: context)  // locks live until the sweep ends
        let work = pass.sessions
        let context = self.context
        let removals = Mutex([SessionRemoval]())
        forEachConcurrently(work.count, workers: workers) { index in
            let outcome = SessionReconciler(tree: work[index].0, name: work[index].1, context: context).reconcile()
            if let removal = outcome.removal { removals.withLock { $0.append(removal) } }
        }
        SessionDirectoryRemoval.removeEmpty(removals.withLock { $0 }, context: context)
        let duration = age(of: started, at: context.clock())
        context.reporter.passFinished(durationMs: duration)
        let summary = context.reporter.summarize(roots: roots, durationMs: duration)
        withExtendedLifetime(pass) {}
        return Result(counters: context.reporter.counters, lockedRoots: pass.lockedRoots, summary: summary)
    }
}
