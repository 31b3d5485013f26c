import Logging
import TaskReaperCore

/// Where a report points: the tree it is in and, when known, the session and task.
public struct Location: Sendable, Equatable {
    public var root: String
    /// nil for the legacy `<root>/bash-tasks` layout.
    public var harness: String?
    /// The session directory's name (`<session_hash>`).
    public var session: String?
    /// From the file name, never from the JSON.
    public var taskID: String?

    public init(root: String, harness: String?, session: String? = nil, taskID: String? = nil) {
        self.root = root
        self.harness = harness
        self.session = session
        self.taskID = taskID
    }
}

/// One event: what was done (or, in dry-run, would be done) to what, and why. The same
/// value becomes a journal entry, a `--json` line and a counter.
public struct ActionReport: Sendable {
    public var action: ActionKind
    public var path: String
    public var location: Location
    public var dryRun: Bool
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

    public init(_ action: ActionKind, path: String, location: Location, dryRun: Bool, message: String) {
        self.action = action
        self.path = path
        self.location = location
        self.dryRun = dryRun
        self.message = message
    }

    /// One line of `--json` output.
    public func jsonObject() -> JSONObject {
        var object = JSONObject()
        object["action"] = .string(action.rawValue)
        object["path"] = .string(path)
        object["dry_run"] = .bool(dryRun)
        if let taskID = location.taskID { object["task_id"] = .string(taskID) }
        if let session = location.session { object["session"] = .string(session) }
        if let sessionID { object["session_id"] = .string(sessionID) }
        if let harness = location.harness { object["harness"] = .string(harness) }
        object["root"] = .string(location.root)
        if action == .finalize, let from, let to {
            object["from"] = .string(from.rawValue)
            object["to"] = .string(to.rawValue)
            object["exit_code"] = exitCode.map { .integer($0) } ?? .null
            object["reason"] = reason.map(JSONValue.string) ?? .null
        } else if let reason {
            object["reason"] = .string(reason)
        }
        for (key, value) in details { object[key] = value }
        object["message"] = .string(message)
        return object
    }

    /// Journal fields (the handler adds MESSAGE, PRIORITY, SYSLOG_IDENTIFIER).
    public func journalMetadata() -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "MESSAGE_ID": .string(action.messageID),
            "TASKREAPER_ACTION": .string(action.rawValue),
            "TASKREAPER_PATH": .string(path),
            "TASKREAPER_ROOT": .string(location.root),
            "TASKREAPER_DRY_RUN": .string(dryRun ? "1" : "0"),
        ]
        if let taskID = location.taskID { fields["TASKREAPER_TASK_ID"] = .string(taskID) }
        if let session = location.session { fields["TASKREAPER_SESSION"] = .string(session) }
        if let sessionID { fields["TASKREAPER_SESSION_ID"] = .string(sessionID) }
        if let harness = location.harness { fields["TASKREAPER_HARNESS"] = .string(harness) }
        if let from { fields["TASKREAPER_FROM"] = .string(from.rawValue) }
        if let to { fields["TASKREAPER_TO"] = .string(to.rawValue) }
        if let exitCode { fields["TASKREAPER_EXIT_CODE"] = .string(String(exitCode)) }
        if let reason { fields["TASKREAPER_REASON"] = .string(reason) }
        for (key, value) in details {
            fields["TASKREAPER_" + key.uppercased()] = .string(value.stringValue ?? JSONWriter.compact(value))
        }
        return fields
    }
}
