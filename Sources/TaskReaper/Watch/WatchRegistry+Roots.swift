import TaskReaperCore
import TaskReaperSystem

/// The roots of the watch registry: opened (and locked) when they exist, waited for from
/// their nearest existing ancestor when they do not, retried when locked.
extension WatchRegistry {
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
                if !context.dryRun, ReadOnlyMount.contains(handle) { readOnly(index) }
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

    /// A root on a read-only mount: nothing under it can be changed. At start that is how
    /// the operator set it up (reported once); a root that appeared later under systemd is
    /// a sandbox left over from before it existed: restart (reported, with the way out).
    func readOnly(_ index: Int) {
        let path = roots[index].path
        var message: String
        if startPassDone, ReadOnlyMount.underSystemd {
            message = "Root \(path) appeared after the service started and is read-only in its sandbox "
                + "(ReadWritePaths= are bound at start): exiting with status 75 so that systemd restarts the service with it writable"
            restartReason = message
        } else {
            message = "Root \(path) is on a read-only mount: nothing under it can be finalized or removed"
                + (ReadOnlyMount.underSystemd ? " (add it to the unit's ReadWritePaths= with systemctl edit)" : "")
        }
        var event = ActionReport(.error, path: path, location: Location(root: path, harness: nil), message: message)
        event.details = [("error", .string("read-only file system")), ("operation", .string("open storage root"))]
        context.reporter.report(event)
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
    func watchRoot(_ index: Int) {
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
    func unwatchRoot(_ index: Int) {
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

    func rootGone(_ index: Int) -> RegistryChanges {
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
}
