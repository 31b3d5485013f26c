import TaskReaperCore
import TaskReaperSystem

/// The act step of a finalization, in either layout: the `killed` marker when the verdict
/// asks for one, then the record rewritten terminal (re-read just before it replaces the
/// old one), then its aft.db row, then the report.
struct TaskFinalizer {
    let reconciler: BundleReconciler
    let task: ObservedTask

    private var context: ReconcileContext { reconciler.context }
    private var files: TaskFiles { task.files }
    private var taskID: String { reconciler.taskID }

    /// nil when the task changed under us: decide again from what is on disk now.
    func finalize(_ f: Finalization, now: Millis) throws(SystemError) -> BundleReconciler.Outcome? {
        let document = task.observation.document
        if f.writeKilledMarker, task.killMarkerWritable {
            if !context.dryRun, try !writeKilledMarker() { return nil }
            var event = ActionReport(.writeKillMarker, path: files.markerPath, location: reconciler.location,
                                     message: "\(context.verb("Wrote", "write")) a killed exit marker for task \(taskID)")
            event.sessionID = document.sessionID
            context.reporter.report(event)
        }

        let updated = document.markedTerminal(f.to, exitCode: f.exitCode, reason: f.reason, now: now)
        if !context.dryRun, try !writeRecord(updated) { return nil }
        // The row follows the record (CONTRACT §6); a deferred one is repaired on the next look.
        let row = reconciler.tree.mirror?.finalized(updated, taskID: taskID, harness: reconciler.tree.harnessName?.text, context: context) ?? .noDatabase
        var event = ActionReport(.finalize, path: files.recordPath, location: reconciler.location,
                                 message: "\(context.verb("Finalized", "finalize")) task \(taskID): \(f.from.rawValue) -> \(f.to.rawValue)"
                                     + (f.exitCode.map { " (exit code \($0))" } ?? "") + (f.reason.map { ": \($0)" } ?? "")
                                     + reconciler.rowSentence(row, done: "updated", wouldDo: "update"))
        event.sessionID = document.sessionID
        event.from = f.from
        event.to = f.to
        event.exitCode = f.exitCode
        event.reason = f.reason
        if let field = row.field(dryRun: context.dryRun, change: "update") { event.details.append(("db_row", .string(field))) }
        context.reporter.report(event)
        if case .deferred(let until) = row { return BundleReconciler.Outcome(nextDue: until) }
        return BundleReconciler.Outcome()
    }

    /// False when a marker appeared since we looked (it may say something else).
    private func writeKilledMarker() throws(SystemError) -> Bool {
        let killed = Array("killed".utf8)
        switch files.layout {
        case .flat:
            // Added, never replacing: linked into place only if still absent. Tagged `kill` as
            // the seed tags its own kill marker: the temp name must fit NAME_MAX whatever the
            // id's length (`<name>` already holds it; TempNames.seed).
            let result = try files.markerDirectory.writeAtomically(files.markerName, bytes: killed, tag: "kill",
                                                                   like: task.recordStatus, exclusive: true)
            return result != .targetExists
        case .directory:
            // §7.3: into the existing empty io/exit, in place (the child and the harness hold
            // handles on that inode); created only if it was never made. Never a rename.
            switch try files.markerDirectory.writeIntoEmptyFile(files.markerName, bytes: killed) {
            case .written: return true
            case .absent:
                return try files.markerDirectory.createExclusively(files.markerName, bytes: killed, ownedLike: task.recordStatus) == .created
            case .notEmpty, .notRegular, .multipleLinks, .unlinked: return false
            }
        }
    }

    /// False when the record changed since it was read (CONTRACT §3): theirs wins, is never
    /// lost (issue 11.2: CheckedReplace), and we decide again from it.
    private func writeRecord(_ updated: TaskDocument) throws(SystemError) -> Bool {
        // A task directory's record is replaced through temps named as the harness names its
        // own (§7.5), so its readers and cleanup treat ours as theirs: a temp, never a task.
        let temps: TempNames = files.isDirectory ? .harness(random: { () throws(SystemError) in try HarnessTempName.make() })
            : .seed(for: files.recordName)
        let result = try files.recordDirectory.replace(files.recordName, with: updated.encoded(),
                                                       ifStill: .init(status: task.recordStatus, bytes: task.record), temps: temps)
        return result == .replaced
    }
}
