import TaskReaperCore
import TaskReaperSystem

/// A session's routine removals of one pass, reported together (issue 14): per reason, one
/// journal entry and one console line ("Removed 12 delivered bundles of session 3f2a… (48
/// files)", `TASKREAPER_TASK_ID` once per task), while every task keeps its own `--json`
/// line and count. A lone removal is reported as itself, exactly as before.
enum RemovalReports {
    static func report(_ removals: [ActionReport], session: DirectoryHandle, location: Location, context: ReconcileContext) {
        let byReason = Dictionary(grouping: removals) { $0.reason ?? "" }
        for reason in byReason.keys.sorted() {
            let reports = byReason[reason]!.sorted { ($0.location.taskID ?? "") < ($1.location.taskID ?? "") }
            context.reporter.reportBatch(reports, as: summary(of: reports, reason: reason, session: session, location: location, context: context))
        }
    }

    private static func summary(of reports: [ActionReport], reason: String, session: DirectoryHandle, location: Location,
                                context: ReconcileContext) -> ActionReport {
        let files = reports.reduce(0) { total, report in
            total + (report.details.first { $0.key == "files" }?.value.integerValue(Int.self) ?? 0)
        }
        let directories = reports.filter { $0.path.hasSuffix("/" + ($0.location.taskID ?? "\u{0}")) }.count
        let what = directories == reports.count ? "task directories" : directories == 0 ? "bundles" : "tasks"
        let fileCount = files > 0 ? " (\(files) files)" : ""
        var batch = ActionReport(.removeBundle, path: session.path, location: location,
                                 message: "\(context.verb("Removed", "remove")) \(reports.count) \(reason) \(what) of session \(location.session ?? session.path)\(fileCount)")
        batch.reason = reason.isEmpty ? nil : reason
        batch.taskIDs = reports.compactMap { $0.location.taskID }
        batch.sessionID = Set(reports.compactMap(\.sessionID)).count == 1 ? reports.first?.sessionID : nil
        batch.since = reports.compactMap(\.since).max()
        batch.details = [("tasks", .integer(reports.count))] + (files > 0 ? [("files", .integer(files))] : [])
        return batch
    }
}
