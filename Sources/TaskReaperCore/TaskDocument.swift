/// A task's JSON (CONTRACT §3), validated the way the harness's serde reader validates it,
/// and kept as the ordered JSON object so that a rewrite preserves unknown keys and the
/// exact text of every value it does not change.
public struct TaskDocument: Equatable, Sendable {
    /// What a rewrite of a schema 2-4 record becomes (the seed's `write_task`). A record of
    /// schema 5 or later keeps its own version (CONTRACT §7.2).
    public static let writtenSchemaVersion: UInt32 = 4
    /// Every schema the harness has written (docs/formats.md §3.4); flat or directory.
    public static let readableSchemaVersions: ClosedRange<UInt32> = 2...7
    /// The first schema of the current harness's rules (CONTRACT §7.4).
    public static let currentRulesSchema: UInt32 = 5

    public private(set) var object: JSONObject
    public let schemaVersion: UInt32
    public let taskID: String
    public let sessionID: String
    public let status: TaskStatus
    public let mode: TaskMode
    public let startedAt: Millis
    public let timeoutMs: Millis?
    public let exitCode: Int32?
    public let childPID: UInt32?
    public let pgid: Int32?
    public let completionDelivered: Bool
    public let notifyOnCompletion: Bool

    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        case notJSON(JSONParseError)
        case notAnObject
        /// A schema this version does not know: never rewritten, never removed.
        case unsupportedSchema(UInt32)
        case invalidField(String, String)

        public var description: String {
            switch self {
            case .notJSON(let error): return "not valid JSON: \(error)"
            case .notAnObject: return "not a JSON object"
            case .unsupportedSchema(let v): return "unsupported schema_version \(v) (expected 2 to 7)"
            case .invalidField(let key, let why): return "field '\(key)' \(why)"
            }
        }
    }

    public init(parsing bytes: [UInt8]) throws(Problem) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw .notJSON(error) }
        guard case .object(let object) = value else { throw .notAnObject }
        try self.init(object: object)
    }

    public init(object: JSONObject) throws(Problem) {
        self.object = object
        let fields = FieldReader(object: object)
        schemaVersion = try fields.required("schema_version", UInt32.self)
        guard Self.readableSchemaVersions.contains(schemaVersion) else { throw .unsupportedSchema(schemaVersion) }
        if let key = Self.duplicatedField(in: object) { throw .invalidField(key, "appears more than once") }
        taskID = try fields.requiredString("task_id")
        sessionID = try fields.requiredString("session_id")
        _ = try fields.requiredString("command")
        _ = try fields.requiredString("workdir")
        _ = try fields.optionalString("project_root")
        _ = try fields.optionalString("status_reason")
        let statusText = try fields.requiredString("status")
        guard let status = TaskStatus(rawValue: statusText) else {
            throw .invalidField("status", "has unknown value '\(statusText)'")
        }
        self.status = status
        let modeText = try fields.optionalString("mode") ?? "pipes"
        guard let mode = TaskMode(rawValue: modeText) else { throw .invalidField("mode", "has unknown value '\(modeText)'") }
        self.mode = mode
        startedAt = try fields.required("started_at", UInt64.self)
        _ = try fields.optional("finished_at", UInt64.self)
        _ = try fields.optional("duration_ms", UInt64.self)
        timeoutMs = try fields.optional("timeout_ms", UInt64.self)
        exitCode = try fields.optional("exit_code", Int32.self)
        childPID = try fields.optional("child_pid", UInt32.self)
        pgid = try fields.optional("pgid", Int32.self)
        _ = try fields.optional("pty_rows", UInt16.self)
        _ = try fields.optional("pty_cols", UInt16.self)
        completionDelivered = try fields.requiredBool("completion_delivered")
        notifyOnCompletion = try fields.optionalBool("notify_on_completion") ?? true
        _ = try fields.optionalBool("compressed")
    }

    /// The seed's `mark_terminal` followed by `write_task`: status, exit_code, finished_at,
    /// duration_ms (saturating), child_pid = null, status_reason, completion_delivered =
    /// !notify_on_completion; pgid kept; every schema-4 key present (serde writes them all);
    /// schema 2-3 upgraded to 4, 5-7 kept. Unknown keys stay where they were.
    public func markedTerminal(_ status: TaskStatus, exitCode: Int32?, reason: String?, now: Millis) -> TaskDocument {
        precondition(status.isTerminal)
        var object = self.object
        for (key, defaultValue) in Self.schema4Defaults where object[key] == nil {
            object[key] = defaultValue
        }
        object["schema_version"] = .integer(max(schemaVersion, Self.writtenSchemaVersion))
        object["status"] = .string(status.rawValue)
        object["exit_code"] = exitCode.map { .integer($0) } ?? .null
        object["finished_at"] = .integer(now)
        object["duration_ms"] = .integer(now > startedAt ? now - startedAt : 0)
        object["child_pid"] = .null
        object["status_reason"] = reason.map(JSONValue.string) ?? .null
        object["completion_delivered"] = .bool(!notifyOnCompletion)
        // The object was valid before and every value set here is valid: cannot throw.
        return try! TaskDocument(object: object)
    }

    /// Whether the current harness's rules apply (CONTRACT §7.4): fate_unknown, no stale-after.
    public var followsCurrentRules: Bool { schemaVersion >= Self.currentRulesSchema }

    /// Pretty-printed like serde_json's `to_vec_pretty`.
    public func encoded() -> [UInt8] { JSONWriter.pretty(.object(object)) }

    /// Every field of the seed's `PersistedTask`.
    private static let fields: Set<String> = [
        "schema_version", "task_id", "session_id", "command", "mode", "workdir", "project_root", "status",
        "started_at", "finished_at", "duration_ms", "timeout_ms", "exit_code", "child_pid", "pgid",
        "completion_delivered", "notify_on_completion", "compressed", "pty_rows", "pty_cols", "status_reason",
    ]

    /// The first field of `PersistedTask` given twice. serde's derived reader rejects such a
    /// file ("duplicate field"), so the harness cannot read it: neither do we (reading the
    /// last one, as a plain lookup would, could finalize a task from a value the harness
    /// never sees). Unknown keys given twice are ignored by serde, and kept as they are here.
    private static func duplicatedField(in object: JSONObject) -> String? {
        var seen = Set<String>()
        for member in object.members where fields.contains(member.key) {
            if !seen.insert(member.key).inserted { return member.key }
        }
        return nil
    }

    /// Keys serde fills in when reading an older file; written back on upgrade.
    private static let schema4Defaults: [(String, JSONValue)] = [
        ("mode", .string("pipes")), ("project_root", .null), ("finished_at", .null),
        ("duration_ms", .null), ("timeout_ms", .null), ("exit_code", .null),
        ("child_pid", .null), ("pgid", .null), ("notify_on_completion", .bool(true)),
        ("compressed", .bool(true)), ("pty_rows", .null), ("pty_cols", .null),
        ("status_reason", .null),
    ]
}

/// Typed reads of the known keys with serde's rules: `Option` keys may be missing or null,
/// integers must be plain literals that fit the Rust type.
private struct FieldReader {
    let object: JSONObject

    func required<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(TaskDocument.Problem) -> T {
        guard let value = object[key] else { throw .invalidField(key, "is missing") }
        guard let number = value.integerValue(T.self) else { throw .invalidField(key, "is not a \(T.self)") }
        return number
    }

    func optional<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(TaskDocument.Problem) -> T? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.integerValue(T.self) else { throw .invalidField(key, "is not a \(T.self) or null") }
        return number
    }

    func requiredString(_ key: String) throws(TaskDocument.Problem) -> String {
        guard let value = object[key] else { throw .invalidField(key, "is missing") }
        guard let string = value.stringValue else { throw .invalidField(key, "is not a string") }
        return string
    }

    func optionalString(_ key: String) throws(TaskDocument.Problem) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let string = value.stringValue else { throw .invalidField(key, "is not a string or null") }
        return string
    }

    func requiredBool(_ key: String) throws(TaskDocument.Problem) -> Bool {
        guard let value = object[key] else { throw .invalidField(key, "is missing") }
        guard let bool = value.boolValue else { throw .invalidField(key, "is not a boolean") }
        return bool
    }

    func optionalBool(_ key: String) throws(TaskDocument.Problem) -> Bool? {
        guard let value = object[key] else { return nil }
        guard let bool = value.boolValue else { throw .invalidField(key, "is not a boolean") }
        return bool
    }
}
