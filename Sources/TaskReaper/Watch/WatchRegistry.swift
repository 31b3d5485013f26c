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
        /// Its number in `treePaths` (and in its sessions' entries).
        let number: UInt32
    }

    /// The event source (inotify, or fanotify told in inotify's terms: `WatchEvents`);
    /// replaced once when `--events auto` moves to fanotify (WatchRegistry+EventSource).
    var inotify: any WatchEvents
    let context: ReconcileContext
    let options: WatchOptions
    var roots: [RootState]
    var targets: [Int32: WatchTarget] = [:]
    /// Target -> wd, but for sessions: theirs is in `sessions`.
    var watched: [WatchTarget: Int32] = [:]
    /// Watch point (parent or nearest existing ancestor) -> the roots watched from it
    /// (several roots may share one).
    var rootParents: [Int32: [Int]] = [:]
    var trees: [String: TreeState] = [:]
    /// Tree paths by number (nil: a free number).
    var treePaths: [String?] = []
    /// Every session named so far and not forgotten: name, tree and watch, by id.
    var sessions = SessionTable()
    /// Per session, the task directories' control/ and io/ watched (by path).
    var taskFiles: [SessionID: Set<String>] = [:]
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

    /// The session's tree and name, while the registry knows it.
    func session(_ id: SessionID) -> (tree: Tree, name: FileName)? {
        guard let session = sessions[id], let path = treePaths[Int(session.tree)], let tree = trees[path]?.tree else { return nil }
        return (tree, session.name)
    }

    /// The id of a session a pass named by its tree and name, if the registry knows it.
    func session(_ key: SessionKey) -> SessionID? {
        trees[key.tree].flatMap { sessions.find(tree: $0.number, name: key.name) }
    }

    /// Watch a session before looking at it: whatever changes after the listing raises an event.
    func watchSession(_ id: SessionID) {
        guard sessions[id]?.wd == nil, let (tree, name) = session(id),
              let directory = try? tree.directory.openDirectory(name) else { return }
        _ = addWatch(directory, mask: Inotify.sessionMask, target: .session(id))
    }

    /// The session is gone (or its tree): its watches go, and its id is free again.
    func forgetSession(_ id: SessionID) {
        removeWatch(.session(id))
        watchTaskFiles(id, [])
        sessions.remove(id)
    }

    /// The task directories' control/ and io/ of a session to watch now: exactly these (a
    /// task that went terminal, or was removed, loses its watches with the next reconcile).
    func watchTaskFiles(_ key: SessionID, _ directories: [DirectoryHandle]) {
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
            let number = treePaths.firstIndex(of: nil) ?? treePaths.count
            if number == treePaths.count { treePaths.append(nil) }
            treePaths[number] = path
            trees[path] = TreeState(tree: tree, wd: wd, number: UInt32(number))
        }
        guard let state = trees[path] else { return RegistryChanges() }
        return RegistryChanges(look: state.tree.sessionNames(context: context).map { sessions.id(tree: state.number, name: $0) })
    }

    /// The tree is gone: so are its sessions (their watches, their ids).
    func forgetTree(_ path: String) -> RegistryChanges {
        guard let state = trees.removeValue(forKey: path) else { return RegistryChanges() }
        removeWatch(.tree(path))
        let gone = sessions.ids(inTree: state.number)
        for id in gone { forgetSession(id) }
        treePaths[Int(state.number)] = nil
        return RegistryChanges(forgotten: gone)
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
            if case .session(let id) = target {
                if sessions[id]?.wd == nil { sessionCount += 1 }
                sessions.setWatch(wd, of: id)
            } else {
                watched[target] = wd
            }
            targets[wd] = target
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
        guard let wd = wd(of: target) else { return }
        forgetTarget(target)
        inotify.removeWatch(wd)
        targets[wd] = nil
    }

    func wd(of target: WatchTarget) -> Int32? {
        if case .session(let id) = target { return sessions[id]?.wd }
        return watched[target]
    }

    /// The bookkeeping of a target whose watch is gone (removed, or ended by the kernel).
    func forgetTarget(_ target: WatchTarget) {
        if case .session(let id) = target {
            guard sessions[id]?.wd != nil else { return }
            sessions.setWatch(nil, of: id)
            sessionCount -= 1
            return
        }
        watched.removeValue(forKey: target)
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
