#if canImport(Glibc)
import Glibc
#endif
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

        /// 1 when anything failed, else 75 when a root was locked by another sweep, else 0.
        public var exitCode: Int32 {
            if counters.failures > 0 { return ExitStatus.itemsFailed }
            if !lockedRoots.isEmpty { return ExitStatus.locked }
            return ExitStatus.success
        }
    }

    public func run() -> Result {
        let started = context.clock()
        var lockedRoots: [String] = []
        var held: [DirectoryHandle] = []  // locks live until the sweep ends
        var seen: [(UInt64, UInt64)] = []
        var sessions: [(Tree, String)] = []
        for path in roots {
            let location = Location(root: path, harness: nil)
            let root: DirectoryHandle
            do {
                root = try DirectoryHandle.open(root: path)
                // The same directory named twice (or via a link) is swept once: a second
                // flock on it from this process would fail and look like another sweep.
                let status = try root.status()
                if seen.contains(where: { $0 == (status.device, status.inode) }) { continue }
                seen.append((status.device, status.inode))
                if !context.dryRun {
                    guard try root.tryLock() else {
                        lockedRoots.append(path)
                        context.reporter.report(ActionReport(.skipLockedRoot, path: path, location: location, dryRun: false,
                                                             message: "Skipped root \(path): another taskreaper holds its lock"))
                        continue
                    }
                    held.append(root)
                }
            } catch {
                context.reporter.failed(error, at: location, dryRun: context.dryRun, doing: "open storage root")
                continue
            }
            for tree in Tree.discover(in: root, context: context) {
                do {
                    for entry in try tree.directory.entries() where entry.kind == .directory || entry.kind == .unknown || entry.kind == .symlink {
                        sessions.append((tree, entry.name))
                    }
                } catch {
                    context.reporter.failed(error, at: tree.location(), dryRun: context.dryRun, doing: "list the bash-tasks tree")
                }
            }
        }
        let work = sessions
        let context = self.context
        forEachConcurrently(work.count, workers: workers) { index in
            SessionReconciler(tree: work[index].0, name: work[index].1, context: context).reconcile()
        }
        let summary = context.reporter.summarize(roots: roots, dryRun: context.dryRun,
                                                 durationMs: age(of: started, at: context.clock()))
        withExtendedLifetime(held) {}
        return Result(counters: context.reporter.counters, lockedRoots: lockedRoots, summary: summary)
    }
}

/// The process exit statuses of `sweep` (README: "Exit status").
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let itemsFailed: Int32 = 1
    public static let usage: Int32 = 2
    /// EX_TEMPFAIL: try again later.
    public static let locked: Int32 = 75
}
