import TaskReaperCore

/// One event: what was done (or, in dry-run, would be done) to what, and why. The same
/// value becomes a journal entry, a `--json` line and a counter; whether it was a dry run
/// is the reporter's to say (it knows the mode), never the caller's.
public struct ActionReport: Sendable {
    public var action: ActionKind
    public var path: String
    public var location: Location
    /// session_id from the JSON, when one was read.
    public var sessionID: String?
    public var from: TaskStatus?
    public var to: TaskStatus?
    public var exitCode: Int32?
    public var reason: String?
    /// Extra facts by name (e.g. `files`, `destination`, `error`), in order.
    public var details: [(key: String, value: JSONValue)] = []
    /// The human sentence: MESSAGE in the journal.
    public var message: String
    /// When the state acted on began (a removed bundle's JSON mtime, Unix ms): for the
    /// console's "delivered 2h ago"; not a field of the journal entry or the JSON line.
    public var since: Millis?
    /// A batch's tasks (routine removals of one session, issue 14): the journal gets
    /// `TASKREAPER_TASK_ID` once per task in one entry.
    public var taskIDs: [String] = []

    public init(_ action: ActionKind, path: String, location: Location, message: String) {
        self.action = action
        self.path = path
        self.location = location
        self.message = message
    }

    /// Every fact, in the order of a `--json` line (README "Output").
    func fields(dryRun: Bool, at time: Millis) -> ReportFields {
        var fields = ReportFields()
        fields.addLineHeader(at: time)
        fields.add("action", .string(action.rawValue))
        fields.add("path", .string(path))
        fields.add("dry_run", .bool(dryRun))
        if taskIDs.isEmpty {
            fields.add("task_id", location.taskID)
        } else {
            fields.add("task_id", .array(taskIDs.map(JSONValue.string)), repeated: true)
        }
        fields.add("session", location.session)
        fields.add("session_id", sessionID)
        fields.add("harness", location.harness)
        fields.add("root", .string(location.root))
        if action == .finalize {
            // A finalization always has these four keys, null where empty.
            fields.add("from", from.map { .string($0.rawValue) } ?? .null)
            fields.add("to", to.map { .string($0.rawValue) } ?? .null)
            fields.add("exit_code", exitCode.map { .integer($0) } ?? .null)
            fields.add("reason", reason.map(JSONValue.string) ?? .null)
        } else {
            fields.add("from", from?.rawValue)
            fields.add("to", to?.rawValue)
            if let exitCode { fields.add("exit_code", .integer(exitCode)) }
            fields.add("reason", reason)
        }
        for (key, value) in details { fields.add(key, value) }
        fields.add("message", .string(message))
        return fields
    }
}
