import SystemPackage
import TaskReaperCore
import TaskReaperSystem

/// CONTRACT §5: an unparseable JSON and its bundle move beside the tree, to
/// `<harness dir or root>/bash-tasks-quarantine/<session_hash>/`, under names suffixed
/// with the time so nothing already there is ever replaced.
struct Quarantine {
    let tree: Tree
    let session: DirectoryHandle
    let sessionName: FileName
    let context: ReconcileContext

    func move(taskID: String, names: [FileName], problem: String, now: Millis) -> BundleReconciler.Outcome {
        let location = tree.location(session: sessionName, taskID: taskID)
        let jsonPath = session.childPath(FileName(taskID + ".json"))
        let destinationPath = tree.parent.childPath(Tree.quarantineName) + "/" + sessionName.escaped
        let suffix = ".quarantined-\(now)"
        var event = ActionReport(.quarantine, path: jsonPath, location: location,
                                 message: "\(context.verb("Quarantined", "quarantine")) task \(taskID) (\(names.count) files) to \(destinationPath): its JSON \(problem.hasPrefix("is") ? problem : "is unreadable: " + problem)")
        event.details = [("destination", .string(destinationPath)), ("files", .integer(names.count)), ("error", .string(problem))]
        if !context.dryRun {
            do throws(SystemError) {
                // Private by default (outputs can hold secrets), owned like the tree.
                let owner = try? tree.directory.status()
                let quarantine = try tree.parent.makeDirectory(Tree.quarantineName, mode: 0o700, ownedLike: owner)
                let destination = try quarantine.makeDirectory(sessionName, mode: 0o700, ownedLike: owner)
                // The JSON goes last, as in removal: a crash leaves it to be found again.
                for name in names {
                    do { try session.rename(name, to: FileName(escaped: name.escaped + suffix), in: destination) } catch {
                        if error.code == .noSuchFileOrDirectory { continue }
                        throw error
                    }
                }
            } catch {
                context.reporter.failed(error, at: location, doing: "quarantine task \(taskID)")
                return BundleReconciler.Outcome(nextDue: context.retryAfterFailure())
            }
        }
        context.reporter.report(event)
        return BundleReconciler.Outcome(removedEntries: names.count)
    }

    /// A task directory that is not valid (CONTRACT §7.1), moved whole in one rename, named as
    /// the harness names its quarantine (`<id>.invalid-<16 hex>`, docs/formats.md §6).
    func moveTaskDirectory(_ taskID: String, problem: String) -> BundleReconciler.Outcome {
        let location = tree.location(session: sessionName, taskID: taskID)
        let path = session.childPath(FileName(taskID))
        let destinationPath = tree.parent.childPath(Tree.quarantineName) + "/" + sessionName.escaped
        var event = ActionReport(.quarantine, path: path, location: location,
                                 message: "\(context.verb("Quarantined", "quarantine")) task directory \(path) to \(destinationPath): it \(problem)")
        event.details = [("destination", .string(destinationPath)), ("files", .integer(1)), ("error", .string(problem))]
        if !context.dryRun {
            do throws(SystemError) {
                let owner = try? tree.directory.status()
                let quarantine = try tree.parent.makeDirectory(Tree.quarantineName, mode: 0o700, ownedLike: owner)
                let destination = try quarantine.makeDirectory(sessionName, mode: 0o700, ownedLike: owner)
                let name = FileName(taskID + ".invalid-" + (try HarnessTempName.randomHex(bytes: 8)))
                try session.rename(FileName(taskID), to: name, in: destination)
                event.details[0] = ("destination", .string(destination.childPath(name)))
            } catch {
                if error.code == .noSuchFileOrDirectory { return BundleReconciler.Outcome() }
                context.reporter.failed(error, at: location, doing: "quarantine task directory \(taskID)")
                return BundleReconciler.Outcome()
            }
        }
        context.reporter.report(event)
        return BundleReconciler.Outcome(removedEntries: 1)
    }
}
