import TaskReaperCore
import TaskReaperSystem

/// An empty session directory a pass would remove (CONTRACT §5), identified by the
/// handle the pass held on it.
public struct SessionRemoval: Sendable {
    let tree: Tree
    let name: FileName
    let identity: FileIdentity
    let owner: UInt32
    let why: String

    var key: SessionKey { SessionKey(tree: tree.directory.path, name: name) }
}

/// Removes the empty session directories of a pass, except those a live process holds open
/// as an fd or its cwd (CONTRACT §7.7: the current harness creates tasks through its open
/// session handle; an rmdir under it breaks its next spawn). One /proc scan answers for all
/// of them, and none is made when there is nothing to remove.
enum SessionDirectoryRemoval {
    /// The ones removed (or, in a dry run, that would be). `retry`: a session kept and when
    /// to look at it again: a removal that failed (EROFS, EACCES...: Policy.failureRetry) or a
    /// directory held open (Policy.heldSessionRecheck). `watch` gets no event when the file
    /// system comes back or the holder lets go.
    @discardableResult
    static func removeEmpty(_ removals: [SessionRemoval], context: ReconcileContext,
                            retry: (SessionKey, Millis) -> Void = { _, _ in }) -> [SessionKey] {
        guard !removals.isEmpty else { return [] }
        let scan = HeldDirectories.scan(Set(removals.map(\.identity)))
        func lookAgain(_ key: SessionKey, after delay: Millis) {
            let at = context.clock().adding(delay)
            context.reporter.counted(nextDue: at)
            retry(key, at)
        }
        var removed: [SessionKey] = []
        for removal in removals {
            let path = removal.tree.directory.childPath(removal.name)
            let location = removal.tree.location(session: removal.name)
            switch scan.answer(for: removal.identity, owner: removal.owner) {
            case .held:
                context.reporter.debug("Keeping \(path): a process holds it open", location: location)
                lookAgain(removal.key, after: context.policy.heldSessionRecheck)
                continue
            case .unknown:
                context.reporter.debug("Keeping \(path): a process of its owner could not be read, it may hold it open", location: location)
                lookAgain(removal.key, after: context.policy.heldSessionRecheck)
                continue
            case .notHeld: break
            }
            if !context.dryRun {
                do {
                    // ENOTEMPTY/ENOENT: the harness wrote or removed meanwhile; both are fine.
                    switch try removal.tree.directory.removeDirectory(removal.name) {
                    case .removed: break
                    case .absent:
                        removed.append(removal.key)
                        continue
                    case .notEmpty: continue
                    }
                } catch {
                    context.reporter.failed(error, at: location, doing: "remove session directory")
                    lookAgain(removal.key, after: context.policy.failureRetry)
                    continue
                }
            }
            var event = ActionReport(.removeSessionDir, path: path, location: location,
                                     message: "\(context.verb("Removed", "remove")) session directory \(path) (\(removal.why))")
            event.reason = removal.why
            context.reporter.report(event)
            removed.append(removal.key)
        }
        return removed
    }
}
