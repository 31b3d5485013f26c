import TaskReaperCore
import TaskReaperSystem

/// `.aft-tmp-*` files left in a task directory's `control/` (CONTRACT §7.5): our own record
/// rewrite's temps after a crash (the last step of an exchange may hold a writer's newer
/// record: put back, never lost, issue 11.2), or the harness's from a crash of its own.
/// Settled once a minute old (as flat stray temps are), so a rewrite in progress, ours or the
/// harness's (a temp and its rename are microseconds apart), is never raced.
enum ControlTemps {
    struct Settlement {
        /// A newer record was put back: the decision must start over from it.
        var putBack = false
        /// When to look again: a temp too young to settle, or one whose settling failed.
        /// `watch` gets no event when a temp merely grows old or a disk comes back.
        var nextDue: Millis?
    }

    static func settle(_ files: TaskFiles, location: Location, context: ReconcileContext) -> Settlement {
        var settlement = Settlement()
        guard files.isDirectory, !context.dryRun else { return settlement }
        let control = files.recordDirectory
        guard let entries = try? control.entries() else { return settlement }
        for entry in entries where HarnessTempName.matches(entry.name) {
            let path = control.childPath(entry.name)
            do {
                guard let status = try control.status(entry.name), status.kind == .regular,
                      let intent = TempNames.harnessIntent(entry.name) else { continue }
                // Its last status change, which no writer can set back (a writer may keep an
                // old mtime): a temp still being written is never a minute "old".
                let since = max(status.modified, status.changed)
                let now = context.clock()
                guard age(of: since, at: now) >= context.policy.strayTempAge else {
                    settlement.nextDue = earliest(settlement.nextDue, since.adding(context.policy.strayTempAge))
                    continue
                }
                let settled = try control.settle(entry.name, target: files.recordName, intent: intent,
                                                 temps: .harness(random: { () throws(SystemError) in try HarnessTempName.make() }))
                guard settled != .gone else { continue }
                var why = "a record rewrite that was cut short"
                if case .putBack = settled {
                    why += "; the newer record it held is back at \(files.recordPath)"
                    settlement.putBack = true
                }
                var event = ActionReport(.removeStrayTemp, path: path, location: location,
                                         message: "Removed stray temp file \(path) (\(why))")
                event.reason = why
                context.reporter.report(event)
            } catch {
                context.reporter.failed(error, at: location, doing: "settle \(path)")
                settlement.nextDue = earliest(settlement.nextDue, context.retryAfterFailure())
            }
        }
        return settlement
    }
}
