import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// `taskreaper list`: every task of every tree of every root, observed exactly as a sweep
/// observes it (`BundleReconciler.observe`) and decided by the same `Decide`, but never
/// acted on: no lock, no write, no aft.db. Problems on the way (a link where a tree should
/// be, an unreadable directory) go to the context's reporter, as in a sweep.
public struct TaskLister: Sendable {
    public let roots: [String]
    public let context: ReconcileContext
    public let workers: Int

    public init(roots: [String], context: ReconcileContext, workers: Int = 8) {
        self.roots = roots
        self.context = context
        self.workers = workers
    }

    public struct Result: Sendable {
        /// Every task, sorted by root, harness, session and id.
        public var tasks: [TaskListing]
        /// Roots left alone by their reader floor (a newer harness's tree).
        public var refusedRoots: [String]
    }

    public func run() -> Result {
        let pass = PassSessions(roots: roots, for: .list, context: context)
        let work = pass.sessions
        let context = self.context
        let rows = Mutex([[TaskListing]](repeating: [], count: work.count))
        forEachConcurrently(work.count, workers: workers) { index in
            let listed = Self.list(tree: work[index].0, session: work[index].1, context: context)
            rows.withLock { $0[index] = listed }
        }
        withExtendedLifetime(pass) {}
        return Result(tasks: rows.withLock { $0 }.flatMap { $0 }, refusedRoots: pass.refusedRoots)
    }

    /// One session's tasks, in the session's own order (`SessionEntries.tasks`).
    static func list(tree: Tree, session name: FileName, context: ReconcileContext) -> [TaskListing] {
        // A link where a session should be is the sweep's to report, not the listing's.
        guard let (session, entries) = tree.openSession(name, context: context, reportLinks: false) else { return [] }
        var rows: [TaskListing] = []
        for (taskID, layout) in SessionEntries(listing: entries, in: session).tasks {
            let reconciler = BundleReconciler(tree: tree, session: session, sessionName: name, taskID: taskID,
                                              layout: layout, context: context)
            do {
                let observation = try reconciler.observe()
                if let row = observation.listing(at: reconciler.location, layout: layout, entryPath: reconciler.entryPath,
                                                 policy: context.policy, now: context.clock()) {
                    rows.append(row)
                }
            } catch {
                context.reporter.failed(error, at: reconciler.location, doing: "read task \(taskID)")
            }
        }
        return rows
    }
}
