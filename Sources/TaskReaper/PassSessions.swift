import TaskReaperCore
import TaskReaperSystem

/// The sessions of a one-shot pass (`sweep`, `list`): every root opened once (locked when
/// the pass may write), its reader floor respected, its trees found by `Tree`'s one
/// discovery. The roots stay open (and locked) as long as this value lives.
struct PassSessions {
    /// Every session of every tree, by root in the order given, then tree, then name.
    var sessions: [(tree: Tree, name: FileName)] = []
    /// Roots another taskreaper holds the lock of (skipped).
    var lockedRoots: [String] = []
    /// Roots left alone by their reader floor (a newer harness's tree).
    var refusedRoots: [String] = []
    /// The open roots: their locks last as long as these handles.
    private var held: [DirectoryHandle] = []

    /// What the pass is for.
    enum Purpose {
        /// Acting (or a dry run of it): roots locked unless a dry run, trees with their
        /// aft.db, expired quarantine entries removed first (before the sessions: what this
        /// pass quarantines stays until a later one).
        case sweep
        /// Looking only: no lock, no aft.db, and protected sessions left out (listing one
        /// would mean reading it).
        case list
    }

    init(roots: [String], for purpose: Purpose, context: ReconcileContext) {
        var seen = Set<StorageRoot.Identity>()
        let lock = purpose == .sweep && !context.dryRun
        for path in roots {
            if Protected.root(path, context: context) { continue }
            let root: DirectoryHandle
            switch StorageRoot.open(path, lock: lock, seen: &seen, context: context) {
            case .opened(let opened): root = opened
            case .locked: lockedRoots.append(path); continue
            case .duplicate, .failed: continue
            }
            held.append(root)
            guard ReaderFloorCheck.allows(root, rootPath: path, context: context) else { refusedRoots.append(path); continue }
            var mirror: TaskMirror?
            if purpose == .sweep {
                context.reporter.counted(nextDue: QuarantineRetention(root: root, rootPath: path, context: context).run())
                mirror = TaskMirror(root: root, rootPath: path, policy: context.policy)
            }
            for tree in Tree.discover(in: root, rootPath: path, mirror: mirror, context: context) {
                for name in tree.sessionNames(context: context).sorted()
                where purpose == .sweep || !tree.skipsProtected(session: name, context: context) {
                    sessions.append((tree, name))
                }
            }
        }
    }
}
