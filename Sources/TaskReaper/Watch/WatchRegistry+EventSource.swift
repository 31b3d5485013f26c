import TaskReaperCore
import TaskReaperSystem

/// `--events auto`: inotify until it runs out of watches (ENOSPC), then fanotify for the
/// rest of the run. Once only: a tree that outgrew the limit will again, and going back
/// would need every directory's inotify watch anew.
struct EventSourceSwitch {
    /// Where the watch limit was hit, while the watcher has yet to try fanotify.
    private(set) var pendingAt: String?
    /// Tried (moved, or fanotify could not be had): the watch limit is reported as usual.
    private(set) var tried = false

    /// The watch limit was hit at `path`: true when fanotify is to be tried instead of
    /// reporting it (the watcher does so once the current pass is done).
    mutating func wanted(_ choice: EventSourceChoice, at path: String) -> Bool {
        guard choice == .auto, !tried else { return false }
        if pendingAt == nil { pendingAt = path }
        return true
    }

    /// The pending switch, taken once.
    mutating func take() -> String? {
        guard let path = pendingAt else { return nil }
        pendingAt = nil
        tried = true
        return path
    }
}

extension WatchRegistry {
    /// Moves every watch to `source`: the roots, their watch points and the trees (held
    /// open) are watched again now; harness directories, sessions and task directories as
    /// the rescan that must follow finds them (their targets are forgotten here, so it
    /// watches them anew). Events the old source still held are lost: the rescan covers them.
    func replaceEvents(with source: any WatchEvents) {
        inotify = source
        targets = [:]
        watched = [:]
        rootParents = [:]
        taskFiles = [:]
        sessions.forgetWatches()  // the sessions stay known (and keep their ids), unwatched
        sessionCount = 0
        watchLimitReached = false
        uncoveredRescanAt = nil
        for index in roots.indices {
            roots[index].watchPoint = nil
            roots[index].watchPointWD = nil
            roots[index].wd = roots[index].handle.flatMap { addWatch($0, mask: Inotify.rootMask, target: .root(index)) }
            watchRoot(index)
        }
        for (path, state) in trees {
            trees[path] = TreeState(tree: state.tree, wd: addWatch(state.tree.directory, mask: Inotify.directoryMask, target: .tree(path)),
                                    number: state.number)
        }
    }
}
