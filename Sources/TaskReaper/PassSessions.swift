import TaskReaperCore
import TaskReaperSystem

/// The sessions of a one-shot pass (`sweep`, `list`): every root opened once (locked when
/// the pass may write), its reader floor respected, its trees found by `Tree`'s one
/// discovery. The roots stay open (and locked) as long as this value lives.
struct PassSessions {
    /// Every session of every tree, by root in the order given, then tree, then name.
    var sessions: [(tree: Tree, name: String)] = []
    /// Roots another taskreaper holds the lock of (skipped).
    var lockedRoots: [String] = []
    /// Roots left alone by their reader floor (a newer harness's tree).
    var refusedRoots: [String] = []
    /// The open roots: their locks last as long as these handles.
    private var held: [DirectoryHandle] = []

    /// `lock`: take each root's lock (a pass that writes); `mirrors`: give the trees their
    /// root's aft.db (a pass that keeps rows in step).
    init(roots: [String], lock: Bool, mirrors: Bool, context: ReconcileContext) {
        var seen = Set<StorageRoot.Identity>()
        for path in roots {
            let root: DirectoryHandle
            switch StorageRoot.open(path, lock: lock, seen: &seen, context: context) {
            case .opened(let opened): root = opened
            case .locked: lockedRoots.append(path); continue
            case .duplicate, .failed: continue
            }
            held.append(root)
            guard ReaderFloorCheck.allows(root, rootPath: path, context: context) else { refusedRoots.append(path); continue }
            let mirror = mirrors ? TaskMirror(root: root, rootPath: path, policy: context.policy) : nil
            for tree in Tree.discover(in: root, rootPath: path, mirror: mirror, context: context) {
                sessions += tree.sessionNames(context: context).sorted().map { (tree, $0) }
            }
        }
    }
}
