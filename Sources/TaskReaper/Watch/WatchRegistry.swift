import TaskReaperCore
import TaskReaperSystem

/// The inotify side of `watch`: which roots are open, which trees and sessions exist, and
/// which watch descriptor stands for what. Trees are found through `Tree`'s discovery, the
/// one `sweep` uses. Events come in, `RegistryChanges` go out: the registry never decides
/// anything about a task, it only says where to look.
final class WatchRegistry {
    // Its state is internal rather than private: the registry is three files (this one,
    // +Roots, +Events), and nothing outside Watch/ uses it but the Watcher.
    struct RootState {
        let path: String
        var handle: DirectoryHandle?
        var wd: Int32?
        /// Missing or locked: try again at this moment.
        var retryAt: Millis?
        var lockReported = false
        /// The root's aft.db while the root is open.
        var mirror: TaskMirror?
        /// Where the root's appearing or going is watched: its parent, or while that is
        /// missing too, the nearest existing ancestor (`RootPath.watchPoint`).
        var watchPoint: String?
        var watchPointWD: Int32?
        /// Device and inode while open: the same directory named twice is opened once.
        var identity: StorageRoot.Identity?
        /// The same directory as another root (by device and inode): not waited for.
        var duplicate = false
    }

    struct TreeState {
        let tree: Tree
        let wd: Int32?
    }

    /// The event source (inotify, or fanotify told in inotify's terms: `WatchEvents`);
    /// replaced once when `--events auto` moves to fanotify (WatchRegistry+EventSource).
    var inotify: any WatchEvents
    let context: ReconcileContext
    let options: WatchOptions
    var roots: [RootState]
    var targets: [Int32: WatchTarget] = [:]
    var watched: [WatchTarget: Int32] = [:]
    /// Watch point (parent or nearest existing ancestor) -> the roots watched from it
    /// (several roots may share one).
    var rootParents: [Int32: [Int]] = [:]
    var trees: [String: TreeState] = [:]
    /// Per session, the task directories' control/ and io/ watched (by path).
    var taskFiles: [SessionKey: Set<String>] = [:]
    var watchLimitReached = false
    var eventSourceSwitch = EventSourceSwitch()
    /// Set by the watcher once the first pass is done: roots opened after it appeared later.
    var startPassDone = false
    /// A root that appeared after the start is read-only here while under systemd: its
    /// ReadWritePaths= bind did not exist when the service started. Only a restart (a new
    /// mount namespace) makes it writable; the watcher exits for it (status 75).
    var restartReason: String?
    /// While the watch limit leaves part of the trees unwatched: the next covering rescan.
    var uncoveredRescanAt: Millis?

    init(roots: [String], inotify: any WatchEvents, context: ReconcileContext, options: WatchOptions) {
        self.inotify = inotify
        self.context = context
        self.options = options
        // One spelling per root: paths of trees are compared as strings.
        self.roots = roots.map { path in
            var path = path
            while path.count > 1, path.hasSuffix("/") { path.removeLast() }
            return RootState(path: path)
        }
    }

    // MARK: What the loop asks

    var rootPaths: [String] { roots.map(\.path) }
    var openRootCount: Int { roots.filter { $0.handle != nil }.count }
    /// Roots not open yet (missing, locked, failing), for `ctl status` and STATUS=.
    var waitingRoots: [String] { roots.filter { $0.handle == nil && !$0.duplicate }.map(\.path) }
    var treeCount: Int { trees.count }
    /// Session directories with a watch.
    var sessionCount = 0
    var watchCount: Int { targets.count + rootParents.count }
    var nextRetry: Millis? { roots.compactMap(\.retryAt).min() }

    func tree(of key: SessionKey) -> Tree? { trees[key.tree]?.tree }

    /// Watch a session before looking at it: whatever changes after the listing raises an event.
    func watchSession(_ key: SessionKey) {
        guard watched[.session(key)] == nil, let tree = tree(of: key),
              let directory = try? tree.directory.openDirectory(key.name) else { return }
        _ = addWatch(directory, mask: Inotify.sessionMask, target: .session(key))
    }

    func forgetSession(_ key: SessionKey) {
        removeWatch(.session(key))
        watchTaskFiles(key, [])
    }

    /// The task directories' control/ and io/ of a session to watch now: exactly these (a
    /// task that went terminal, or was removed, loses its watches with the next reconcile).
    func watchTaskFiles(_ key: SessionKey, _ directories: [DirectoryHandle]) {
        let current = taskFiles[key] ?? []
        let wanted = Set(directories.map(\.path))
        guard current != wanted else { return }
        for path in current.subtracting(wanted) { removeWatch(.taskFiles(key, path)) }
        var watching = current.intersection(wanted)
        for directory in directories where !current.contains(directory.path) {
            if addWatch(directory, mask: Inotify.taskFilesMask, target: .taskFiles(key, directory.path)) != nil {
                watching.insert(directory.path)
            }
        }
        taskFiles[key] = watching.isEmpty ? nil : watching
    }

    // MARK: Discovery

    /// Every tree of every open root, and every session in them, to be looked at.
    func discover() -> RegistryChanges {
        var changes = RegistryChanges()
        for index in roots.indices {
            guard let root = roots[index].handle else { continue }
            guard ReaderFloorCheck.allows(root, rootPath: roots[index].path, context: context) else {
                // A newer harness owns this root now: stop watching its trees until a floor we
                // can live with appears (the root's watch sees the file change: a rescan).
                for (treePath, tree) in trees where tree.tree.root == roots[index].path { changes.merge(forgetTree(treePath)) }
                continue
            }
            // A rescan is a new pass: an unusable aft.db is reported again.
            roots[index].mirror?.beginPass()
            if let legacy = Tree.open(in: root, harness: nil, rootPath: roots[index].path, mirror: roots[index].mirror, context: context) {
                changes.merge(addTree(legacy))
            }
            for (name, directory) in Tree.harnessDirectories(in: root, rootPath: roots[index].path, context: context) {
                changes.merge(addHarnessDirectory(name, directory, root: index))
            }
        }
        return changes
    }

    /// Watches a harness directory (its bash-tasks may appear later) and adds its tree.
    func addHarnessDirectory(_ name: FileName, _ directory: DirectoryHandle, root index: Int) -> RegistryChanges {
        if watched[.harnessDirectory(root: index, name: name)] == nil {
            _ = addWatch(directory, mask: Inotify.directoryMask, target: .harnessDirectory(root: index, name: name))
        }
        guard let tree = Tree.open(in: directory, harness: name, rootPath: roots[index].path, mirror: roots[index].mirror,
                                   context: context) else { return RegistryChanges() }
        return addTree(tree)
    }

    func addTree(_ tree: Tree) -> RegistryChanges {
        let path = tree.directory.path
        if trees[path] == nil {
            let wd = addWatch(tree.directory, mask: Inotify.directoryMask, target: .tree(path))
            trees[path] = TreeState(tree: tree, wd: wd)
        }
        guard let state = trees[path] else { return RegistryChanges() }
        return RegistryChanges(look: state.tree.sessionNames(context: context).map { SessionKey(tree: path, name: $0) })
    }

    func forgetTree(_ path: String) -> RegistryChanges {
        guard trees.removeValue(forKey: path) != nil else { return RegistryChanges() }
        removeWatch(.tree(path))
        for target in watched.keys {
            switch target {
            case .session(let key) where key.tree == path, .taskFiles(let key, _) where key.tree == path: removeWatch(target)
            default: break
            }
        }
        taskFiles = taskFiles.filter { $0.key.tree != path }
        return RegistryChanges(forgottenTrees: [path])
    }

    func treePath(root index: Int, harness: FileName?) -> String {
        roots[index].path + "/" + (harness.map { $0.escaped + "/" } ?? "") + Tree.directoryName.escaped
    }

    // MARK: Watches

    /// nil when the watch could not be added (reported; the rescan timer covers it).
    func addWatch(_ directory: DirectoryHandle, mask: UInt32, target: WatchTarget) -> Int32? {
        do {
            let wd = try inotify.addWatch(directory, mask: mask)
            // Two directories can share an inode only if one replaced the other: the
            // kernel hands back the same wd, and the newest target is the true one.
            if let old = targets[wd], old != target { forgetTarget(old) }
            if watched[target] == nil, case .session = target { sessionCount += 1 }
            targets[wd] = target
            watched[target] = wd
            return wd
        } catch {
            if error.code == .noSpace {
                watchLimit(at: directory.path)
            } else {
                context.reporter.failed(error, at: Location(root: "", harness: nil), doing: "watch \(directory.path)")
            }
            return nil
        }
    }

    func removeWatch(_ target: WatchTarget) {
        guard let wd = watched[target] else { return }
        forgetTarget(target)
        inotify.removeWatch(wd)
        targets[wd] = nil
    }

    /// The bookkeeping of a target whose watch is gone (removed, or ended by the kernel).
    func forgetTarget(_ target: WatchTarget) {
        guard watched.removeValue(forKey: target) != nil else { return }
        if case .session = target { sessionCount -= 1 }
    }

    /// The rescan covering what the watch limit left unwatched is due.
    func uncoveredRescanDue(now: Millis) -> Bool {
        guard let at = uncoveredRescanAt, at <= now else { return false }
        uncoveredRescanAt = nil
        return true
    }

    func watchLimit(at path: String) {
        if eventSourceSwitch.wanted(options.events, at: path) { return }  // fanotify instead, if it can be had
        let now = context.clock()
        uncoveredRescanAt = min(uncoveredRescanAt ?? .max, now.adding(options.uncoveredRescanInterval))
        guard !watchLimitReached else { return }
        watchLimitReached = true
        let limit = Inotify.maxUserWatches().map(String.init) ?? "unknown"
        var event = ActionReport(.watchLimit, path: path, location: Location(root: "", harness: nil),
                                 message: "inotify watch limit (\(limit)) reached at \(path): unwatched parts are rescanned every "
                                     + "\(DurationText.format(options.uncoveredRescanInterval)); raise it with "
                                     + "`sysctl fs.inotify.max_user_watches=<n>` (persist in /etc/sysctl.d/)")
        event.details = [("max_user_watches", .string(limit))]
        context.reporter.report(event)
    }
}
