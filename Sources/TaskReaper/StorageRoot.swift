import TaskReaperCore
import TaskReaperSystem

/// Opening a storage root for a pass: once per directory (by device and inode, so a root
/// named twice or through a link is not locked twice by us), locked unless a dry run.
enum StorageRoot {
    enum Opening {
        case opened(DirectoryHandle)
        /// Another taskreaper holds the lock (reported as skip_locked_root).
        case locked
        /// Already opened under another name.
        case duplicate
        /// Reported as an error.
        case failed
    }

    struct Identity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    static func open(_ path: String, lock: Bool, seen: inout Set<Identity>, context: ReconcileContext,
                     reportLocked: Bool = true) -> Opening {
        let location = Location(root: path, harness: nil)
        do {
            let root = try DirectoryHandle.open(root: path)
            let status = try root.status()
            guard seen.insert(Identity(device: status.device, inode: status.inode)).inserted else { return .duplicate }
            if lock, try !root.tryLock() {
                seen.remove(Identity(device: status.device, inode: status.inode))
                if reportLocked {
                    // Name the holder (/proc/locks): "which watch?" is the operator's next question.
                    let holder = LockHolder.of(device: status.device, inode: status.inode)
                    var event = ActionReport(.skipLockedRoot, path: path, location: location,
                                             message: "Skipped root \(path): another taskreaper holds its lock"
                                                 + (holder.map { " (\($0.description))" } ?? " (holder unknown)"))
                    if let holder {
                        event.details = [("holder_pid", .integer(holder.pid)),
                                         ("holder_command", holder.command.map(JSONValue.string) ?? .null)]
                    }
                    context.reporter.report(event)
                }
                return .locked
            }
            return .opened(root)
        } catch {
            context.reporter.failed(error, at: location, doing: "open storage root")
            return .failed
        }
    }
}
