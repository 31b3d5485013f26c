import TaskReaperCore
import TaskReaperSystem

/// The inotify side of `watch`: which roots are open, which trees and sessions exist, and
/// which watch descriptor stands for what. Trees are found through `Tree`'s discovery, the
/// one `sweep` uses. Events come in, `RegistryChanges` go out: the registry never decides
/// anything about a task, it only says where to look.
final class WatchRegistry {
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

    private struct TreeState {
        let tree: Tree
        let wd: Int32?
    }

    private let inotify: Inotify
    private let context: ReconcileContext
    private let options: WatchOptions
    private(set) var roots: [RootState]
    private var targets: [Int32: WatchTarget] = [:]
    private var watched: [WatchTarget: Int32] = [:]
    /// Watch point (parent or nearest existing ancestor) -> the roots watched from it
    /// (several roots may share one).
    private var rootParents: [Int32: [Int]] = [:]
    private var trees: [String: TreeState] = [:]
    /// Per session, the task directories' control/ and io/ watched (by path).
    private var taskFiles: [SessionKey: Set<String>] = [:]
    private(set) var watchLimitReached = false
    /// While the watch limit leaves part of the trees unwatched: the next covering rescan.
    private(set) var uncoveredRescanAt: Millis?

    init(roots: [String], inotify: Inotify, context: ReconcileContext, options: WatchOptions) {
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
    private(set) var sessionCount = 0
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

    // MARK: Roots

    /// Opens every root not open yet (locking it unless a dry run); a missing one is
    /// waited for from its watch point. Returns how many were opened now.
    @discardableResult
    func openRoots() -> Int {
        var seen = Set(roots.compactMap(\.identity))
        var opened = 0
        for index in roots.indices where roots[index].handle == nil {
            roots[index].retryAt = nil
            roots[index].duplicate = false
            watchRoot(index)  // first: a root created after the check below raises an event
            let path = roots[index].path
            guard PathProbe.exists(path) else { continue }  // comes back: the watch point says so
            switch StorageRoot.open(path, lock: !context.dryRun, seen: &seen, context: context,
                                    reportLocked: !roots[index].lockReported) {
            case .opened(let handle):
                opened += 1
                roots[index].handle = handle
                roots[index].identity = (try? handle.status()).map { StorageRoot.Identity(device: $0.device, inode: $0.inode) }
                roots[index].mirror = TaskMirror(root: handle, rootPath: path, policy: context.policy)
                roots[index].lockReported = false
                roots[index].wd = addWatch(handle, mask: Inotify.rootMask, target: .root(index))
            case .locked:
                // A sweep is running; it will finish. Try again soon.
                roots[index].lockReported = true
                roots[index].retryAt = context.clock().adding(options.rootRetryInterval)
            case .duplicate:
                roots[index].duplicate = true
            case .failed:
                roots[index].retryAt = context.clock().adding(options.rootRetryInterval)
            }
        }
        return opened
    }

    /// A root's retry time has come: true when the caller should retry and rescan.
    func retryDue(now: Millis) -> Bool {
        guard roots.contains(where: { ($0.retryAt ?? .max) <= now }) else { return false }
        for index in roots.indices where roots[index].handle != nil { roots[index].retryAt = nil }
        return true
    }

    /// Watches the root's watch point: its parent (which tells when the root goes away or
    /// comes back) or, while the parent is missing too, the nearest existing ancestor
    /// (which tells when the next directory on the way appears; then the watch moves down).
    /// Watch first, look second: a directory created in between is found by the look.
    private func watchRoot(_ index: Int) {
        while let point = RootPath.watchPoint(for: roots[index].path) {
            if point == roots[index].watchPoint, roots[index].watchPointWD != nil { return }
            unwatchRoot(index)
            do {
                let wd = try inotify.addWatch(path: point, mask: Inotify.ancestorMask)
                rootParents[wd, default: []].append(index)
                roots[index].watchPoint = point
                roots[index].watchPointWD = wd
            } catch {
                // Without it the root is looked for by the retry timer only.
                roots[index].retryAt = context.clock().adding(options.rootRetryInterval)
                return
            }
            // Did the next directory appear before the watch was in place? Then go deeper.
            if RootPath.watchPoint(for: roots[index].path) == point { return }
        }
    }

    /// Stops watching the root's watch point (the kernel's watch goes once no root and no
    /// other target uses it).
    private func unwatchRoot(_ index: Int) {
        defer {
            roots[index].watchPoint = nil
            roots[index].watchPointWD = nil
        }
        guard let wd = roots[index].watchPointWD, var indices = rootParents[wd] else { return }
        indices.removeAll { $0 == index }
        if indices.isEmpty {
            rootParents[wd] = nil
            if targets[wd] == nil { inotify.removeWatch(wd) }
        } else {
            rootParents[wd] = indices
        }
    }

    private func rootGone(_ index: Int) -> RegistryChanges {
        let path = roots[index].path
        removeWatch(.root(index))
        roots[index].wd = nil
        roots[index].identity = nil
        roots[index].handle = nil  // releases the lock (once the trees and the mirror let go too)
        roots[index].mirror = nil
        var changes = RegistryChanges()
        for (treePath, state) in trees where state.tree.root == path { changes.merge(forgetTree(treePath)) }
        for target in watched.keys {
            if case .harnessDirectory(index, _) = target { removeWatch(target) }
        }
        return changes
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
    private func addHarnessDirectory(_ name: String, _ directory: DirectoryHandle, root index: Int) -> RegistryChanges {
        if watched[.harnessDirectory(root: index, name: name)] == nil {
            _ = addWatch(directory, mask: Inotify.directoryMask, target: .harnessDirectory(root: index, name: name))
        }
        guard let tree = Tree.open(in: directory, harness: name, rootPath: roots[index].path, mirror: roots[index].mirror,
                                   context: context) else { return RegistryChanges() }
        return addTree(tree)
    }

    private func addTree(_ tree: Tree) -> RegistryChanges {
        let path = tree.directory.path
        if trees[path] == nil {
            let wd = addWatch(tree.directory, mask: Inotify.directoryMask, target: .tree(path))
            trees[path] = TreeState(tree: tree, wd: wd)
        }
        guard let state = trees[path] else { return RegistryChanges() }
        return RegistryChanges(look: state.tree.sessionNames(context: context).map { SessionKey(tree: path, name: $0) })
    }

    private func forgetTree(_ path: String) -> RegistryChanges {
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

    private func treePath(root index: Int, harness: String?) -> String {
        roots[index].path + "/" + (harness.map { $0 + "/" } ?? "") + Tree.directoryName
    }

    // MARK: Events

    func handle(_ events: [Inotify.Event]) -> RegistryChanges {
        var changes = RegistryChanges()
        for event in events {
            if event.overflowed {
                changes.rescan = changes.rescan ?? "inotify queue overflow"
                continue
            }
            if let indices = rootParents[event.wd] {
                changes.merge(handleWatchPoint(event, roots: indices))
                continue
            }
            guard let target = targets[event.wd] else { continue }
            if event.watchEnded {
                targets[event.wd] = nil
                if watched[target] == event.wd { forgetTarget(target) }
            }
            changes.merge(handle(event, on: target))
        }
        return changes
    }

    /// An event on a watch point: the root itself (in its parent) or the next directory on
    /// the way to it (in an ancestor) appeared or went, or the watch point itself went.
    private func handleWatchPoint(_ event: Inotify.Event, roots indices: [Int]) -> RegistryChanges {
        var changes = RegistryChanges()
        if event.watchEnded || event.selfGone {
            // The watch point itself was deleted or moved: every root waiting there looks
            // for a new one; an open root whose path no longer leads to it is gone.
            if event.watchEnded { rootParents[event.wd] = nil }
            for index in indices {
                if event.watchEnded, roots[index].watchPointWD == event.wd {
                    roots[index].watchPoint = nil
                    roots[index].watchPointWD = nil
                } else {
                    unwatchRoot(index)
                }
                if roots[index].handle != nil, !PathProbe.exists(roots[index].path) { changes.merge(rootGone(index)) }
            }
            if openRoots() > 0 { changes.rescan = changes.rescan ?? "a root appeared" }
            return changes
        }
        guard let name = event.name else { return changes }
        for index in indices {
            guard let point = roots[index].watchPoint else { continue }
            let parts = RootPath.components(roots[index].path)
            let depth = RootPath.components(point).count
            guard depth < parts.count, parts[depth] == name else { continue }
            if depth == parts.count - 1 {
                // The root itself, in its parent.
                if event.vanished, roots[index].handle != nil { changes.merge(rootGone(index)) }
                if event.appeared, openRoots() > 0 {
                    changes.rescan = changes.rescan ?? "root \(roots[index].path) appeared"
                }
            } else if event.appeared {
                // A directory on the way: watch from further down (and open the root if a
                // `mkdir -p` already made all of it).
                if openRoots() > 0 { changes.rescan = changes.rescan ?? "root \(roots[index].path) appeared" }
            }
        }
        return changes
    }

    private func handle(_ event: Inotify.Event, on target: WatchTarget) -> RegistryChanges {
        switch target {
        case .session(let key):
            if event.watchEnded { return RegistryChanges(forgotten: [key]) }
            return event.selfGone ? RegistryChanges() : RegistryChanges(look: [key])
        case .taskFiles(let key, let path):
            if event.watchEnded {
                taskFiles[key]?.remove(path)
                return RegistryChanges()
            }
            return RegistryChanges(look: [key])
        case .tree(let path):
            if event.watchEnded { return forgetTree(path) }
            guard let name = event.name else { return RegistryChanges() }
            let key = SessionKey(tree: path, name: name)
            var changes = RegistryChanges()
            if event.vanished {
                forgetSession(key)
                changes.forgotten.append(key)
            }
            if event.appeared { changes.look.append(key) }
            return changes
        case .harnessDirectory(let index, let harness):
            guard !event.watchEnded, event.name == Tree.directoryName else { return RegistryChanges() }
            var changes = RegistryChanges()
            if event.vanished { changes.merge(forgetTree(treePath(root: index, harness: harness))) }
            if event.appeared, let directory = try? roots[index].handle?.openDirectory(harness) {
                changes.merge(addHarnessDirectory(harness, directory, root: index))
            }
            return changes
        case .root(let index):
            if event.name == ReaderFloor.fileName, event.appeared || event.vanished || event.mask & Inotify.closeWriteMask != 0 {
                return RegistryChanges(rescan: "\(ReaderFloor.fileName) changed in \(roots[index].path)")
            }
            guard !event.watchEnded, let name = event.name, event.isDirectory,
                  let root = roots[index].handle else { return RegistryChanges() }
            var changes = RegistryChanges()
            if event.vanished {
                if name == Tree.directoryName {
                    changes.merge(forgetTree(treePath(root: index, harness: nil)))
                } else {
                    removeWatch(.harnessDirectory(root: index, name: name))
                    changes.merge(forgetTree(treePath(root: index, harness: name)))
                }
            }
            if event.appeared {
                if name == Tree.directoryName {
                    if let tree = Tree.open(in: root, harness: nil, rootPath: roots[index].path, mirror: roots[index].mirror, context: context) {
                        changes.merge(addTree(tree))
                    }
                } else if Tree.isHarnessName(name), event.isDirectory, let directory = try? root.openDirectory(name) {
                    changes.merge(addHarnessDirectory(name, directory, root: index))
                }
            }
            return changes
        }
    }

    // MARK: Watches

    /// nil when the watch could not be added (reported; the rescan timer covers it).
    private func addWatch(_ directory: DirectoryHandle, mask: UInt32, target: WatchTarget) -> Int32? {
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

    private func removeWatch(_ target: WatchTarget) {
        guard let wd = watched[target] else { return }
        forgetTarget(target)
        inotify.removeWatch(wd)
        targets[wd] = nil
    }

    /// The bookkeeping of a target whose watch is gone (removed, or ended by the kernel).
    private func forgetTarget(_ target: WatchTarget) {
        guard watched.removeValue(forKey: target) != nil else { return }
        if case .session = target { sessionCount -= 1 }
    }

    /// The rescan covering what the watch limit left unwatched is due.
    func uncoveredRescanDue(now: Millis) -> Bool {
        guard let at = uncoveredRescanAt, at <= now else { return false }
        uncoveredRescanAt = nil
        return true
    }

    private func watchLimit(at path: String) {
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
