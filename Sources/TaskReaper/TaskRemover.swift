import TaskReaperCore
import TaskReaperSystem

/// The act step of a removal, in either layout: the aft.db row first (a row left behind by
/// files already gone could never be found again), then the files in an order a crash at
/// any point leaves finishable: a flat bundle's members before its JSON (CONTRACT §5); a
/// task directory renamed to a tombstone first, then emptied (§7.6).
struct TaskRemover {
    let reconciler: BundleReconciler
    let task: ObservedTask

    private var context: ReconcileContext { reconciler.context }
    private var taskID: String { reconciler.taskID }

    func remove(_ reason: RemovalReason) -> BundleReconciler.Outcome {
        let document = task.observation.document
        let row = reconciler.tree.mirror?.removing(document, taskID: taskID, harness: reconciler.tree.harnessName?.text, context: context) ?? .noDatabase
        if case .deferred(let until) = row { return BundleReconciler.Outcome(nextDue: until) }
        var files: Int
        switch task.files.layout {
        case .flat(let members): files = members.count + 1
        case .directory: files = 0
        }
        if !context.dryRun {
            do throws(SystemError) {
                switch try removeFiles() {
                case .some(let removed): files = removed
                case nil: return BundleReconciler.Outcome()  // replaced under us: the next look decides
                }
            } catch {
                context.reporter.failed(error, at: reconciler.location, doing: "remove the bundle of task \(taskID)")
                return BundleReconciler.Outcome(nextDue: context.retryAfterFailure())
            }
        }
        let what = task.files.isDirectory ? "task directory" : "bundle"
        let count = task.files.isDirectory && context.dryRun ? "" : " (\(files) file\(files == 1 ? "" : "s"))"
        var event = ActionReport(.removeBundle, path: task.files.isDirectory ? reconciler.entryPath : task.files.recordPath,
                                 location: reconciler.location,
                                 message: "\(context.verb("Removed", "remove")) \(reason.rawValue) \(what) of task \(taskID)\(count)"
                                     + reconciler.rowSentence(row, done: "deleted", wouldDo: "delete"))
        event.sessionID = document.sessionID
        event.reason = reason.rawValue
        event.since = task.recordStatus.modified
        if !(task.files.isDirectory && context.dryRun) { event.details = [("files", .integer(files))] }
        if let field = row.field(dryRun: context.dryRun, change: "delete") { event.details.append(("db_row", .string(field))) }
        // Reported with the session's other removals (one journal entry for all, issue 14).
        var outcome = BundleReconciler.Outcome(removedEntries: task.files.isDirectory ? 1 : files)
        outcome.removal = event
        return outcome
    }

    /// The number of files removed; nil when a task directory is no longer the one observed.
    private func removeFiles() throws(SystemError) -> Int? {
        switch task.files.layout {
        case .flat(let members):
            // Members first, the JSON last: a crash in between leaves a JSON that still
            // says "remove me", so the next pass finishes the job.
            for name in members.sorted() + [task.files.recordName] { try reconciler.session.unlink(name) }
            return members.count + 1
        case .directory(_, _, let identity):
            switch try reconciler.session.removeTaskDirectory(FileName(taskID), expected: identity) {
            case .removed(_, let count): return count
            case .identityChanged: return nil
            case .absent: return 0
            }
        }
    }
}
