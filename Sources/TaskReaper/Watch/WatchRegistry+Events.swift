import TaskReaperCore
import TaskReaperSystem

/// inotify events to registry changes: where to look, what is gone, when to look everywhere.
extension WatchRegistry {
    func handle(_ events: [Inotify.Event]) -> RegistryChanges {
        var changes = RegistryChanges()
        for event in events {
            if event.overflowed {
                changes.rescan = changes.rescan ?? "\(inotify.name) queue overflow"
                continue
            }
            if let indices = rootParents[event.wd] {
                changes.merge(handleWatchPoint(event, roots: indices))
                continue
            }
            guard let target = targets[event.wd] else { continue }
            if event.watchEnded {
                targets[event.wd] = nil
                if wd(of: target) == event.wd { forgetTarget(target) }
            }
            changes.merge(handle(event, on: target))
        }
        return changes
    }

    /// An event on a watch point: the root itself (in its parent) or the next directory on
    /// the way to it (in an ancestor) appeared or went, or the watch point itself went.
    func handleWatchPoint(_ event: Inotify.Event, roots indices: [Int]) -> RegistryChanges {
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
            guard depth < parts.count, FileName(parts[depth]) == name else { continue }
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

    func handle(_ event: Inotify.Event, on target: WatchTarget) -> RegistryChanges {
        switch target {
        case .session(let id):
            if event.watchEnded {
                forgetSession(id)
                return RegistryChanges(forgotten: [id])
            }
            return event.selfGone ? RegistryChanges() : RegistryChanges(look: [id])
        case .taskFiles(let key, let path):
            if event.watchEnded {
                taskFiles[key]?.remove(path)
                return RegistryChanges()
            }
            return RegistryChanges(look: [key])
        case .tree(let path):
            if event.watchEnded { return forgetTree(path) }
            guard let name = event.name, let tree = trees[path] else { return RegistryChanges() }
            var changes = RegistryChanges()
            if event.vanished, let id = sessions.find(tree: tree.number, name: name) {
                forgetSession(id)
                changes.forgotten.append(id)
            }
            if event.appeared { changes.look.append(sessions.id(tree: tree.number, name: name)) }
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
            if event.name == FileName(ReaderFloor.fileName), event.appeared || event.vanished || event.mask & Inotify.closeWriteMask != 0 {
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
}
