import TaskReaperCore
import TaskReaperSystem

/// `.aft-tmp-*` files left in a task directory's `control/` (CONTRACT §7.5): our own record
/// rewrite's temps after a crash (the last step of an exchange may hold a writer's newer
/// record: put back, never lost, issue 11.2), or the harness's from a crash of its own.
/// Settled once a minute old (as flat stray temps are), so a rewrite in progress, ours or the
/// harness's (a temp and its rename are microseconds apart), is never raced.
enum ControlTemps {
    /// True when a newer record was put back: the decision must start over from it.
    static func settle(_ files: TaskFiles, location: Location, context: ReconcileContext) -> Bool {
        guard files.isDirectory, !context.dryRun else { return false }
        let control = files.recordDirectory
        guard let entries = try? control.entries() else { return false }
        var putBack = false
        for entry in entries where HarnessTempName.matches(entry.name) {
            let path = control.childPath(entry.name)
            do {
                guard let status = try control.status(entry.name), status.kind == .regular,
                      age(of: status.modified, at: context.clock()) >= context.policy.strayTempAge,
                      let intent = TempNames.harnessIntent(entry.name) else { continue }
                let settled = try control.settle(entry.name, target: files.recordName, intent: intent,
                                                 temps: .harness(random: { () throws(SystemError) in try HarnessTempName.make() }))
                guard settled != .gone else { continue }
                var why = "a record rewrite that was cut short"
                if case .putBack = settled {
                    why += "; the newer record it held is back at \(files.recordPath)"
                    putBack = true
                }
                var event = ActionReport(.removeStrayTemp, path: path, location: location,
                                         message: "Removed stray temp file \(path) (\(why))")
                event.reason = why
                context.reporter.report(event)
            } catch {
                context.reporter.failed(error, at: location, doing: "settle \(path)")
            }
        }
        return putBack
    }
}
