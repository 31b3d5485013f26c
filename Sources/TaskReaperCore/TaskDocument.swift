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
        schemaVersion = try fields.required(.schemaVersion, UInt32.self)
        guard Self.readableSchemaVersions.contains(schemaVersion) else { throw .unsupportedSchema(schemaVersion) }
        if let field = fields.duplicate { throw .invalidField(field.name, "appears more than once") }
        taskID = try fields.requiredString(.taskID)
        sessionID = try fields.requiredString(.sessionID)
        _ = try fields.requiredString(.command)
        _ = try fields.requiredString(.workdir)
        _ = try fields.optionalString(.projectRoot)
        _ = try fields.optionalString(.statusReason)
        let statusText = try fields.requiredString(.status)
        guard let status = TaskStatus(rawValue: statusText) else {
            throw .invalidField("status", "has unknown value '\(statusText)'")
        }
        self.status = status
        let modeText = try fields.optionalString(.mode) ?? "pipes"
        guard let mode = TaskMode(rawValue: modeText) else { throw .invalidField("mode", "has unknown value '\(modeText)'") }
        self.mode = mode
        startedAt = try fields.required(.startedAt, UInt64.self)
        _ = try fields.optional(.finishedAt, UInt64.self)
        _ = try fields.optional(.durationMs, UInt64.self)
        timeoutMs = try fields.optional(.timeoutMs, UInt64.self)
        exitCode = try fields.optional(.exitCode, Int32.self)
        childPID = try fields.optional(.childPID, UInt32.self)
        pgid = try fields.optional(.pgid, Int32.self)
        _ = try fields.optional(.ptyRows, UInt16.self)
        _ = try fields.optional(.ptyCols, UInt16.self)
        completionDelivered = try fields.requiredBool(.completionDelivered)
        notifyOnCompletion = try fields.optionalBool(.notifyOnCompletion) ?? true
        _ = try fields.optionalBool(.compressed)
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

    /// Keys serde fills in when reading an older file; written back on upgrade.
    private static let schema4Defaults: [(String, JSONValue)] = [
        ("mode", .string("pipes")), ("project_root", .null), ("finished_at", .null),
        ("duration_ms", .null), ("timeout_ms", .null), ("exit_code", .null),
        ("child_pid", .null), ("pgid", .null), ("notify_on_completion", .bool(true)),
        ("compressed", .bool(true)), ("pty_rows", .null), ("pty_cols", .null),
        ("status_reason", .null),
    ]
}

/// Every field of the seed's `PersistedTask`.
private enum Field: Int, CaseIterable {
    case schemaVersion, taskID, sessionID, command, mode, workdir, projectRoot, status, startedAt, finishedAt,
         durationMs, timeoutMs, exitCode, childPID, pgid, completionDelivered, notifyOnCompletion, compressed,
         ptyRows, ptyCols, statusReason

    var name: String {
        switch self {
        case .schemaVersion: "schema_version"
        case .taskID: "task_id"
        case .sessionID: "session_id"
        case .command: "command"
        case .mode: "mode"
        case .workdir: "workdir"
        case .projectRoot: "project_root"
        case .status: "status"
        case .startedAt: "started_at"
        case .finishedAt: "finished_at"
        case .durationMs: "duration_ms"
        case .timeoutMs: "timeout_ms"
        case .exitCode: "exit_code"
        case .childPID: "child_pid"
        case .pgid: "pgid"
        case .completionDelivered: "completion_delivered"
        case .notifyOnCompletion: "notify_on_completion"
        case .compressed: "compressed"
        case .ptyRows: "pty_rows"
        case .ptyCols: "pty_cols"
        case .statusReason: "status_reason"
        }
    }

    /// The field a key names. The length and a byte or two pick the one candidate, which
    /// then has to be equal as a String (the same `==` a lookup by name used). A key that is
    /// not ASCII is compared with every name, so it matches exactly what `==` would match.
    init?(key: String) {
        let utf8 = key.utf8
        var candidate: Field?
        if utf8.allSatisfy({ $0 < 0x80 }) {
            candidate = Self.candidate(utf8)
        } else {
            candidate = Self.allCases.first { $0.name == key }
        }
        guard let candidate, candidate.name == key else { return nil }
        self = candidate
    }

    private static func candidate(_ utf8: String.UTF8View) -> Field? {
        guard let first = utf8.first else { return nil }
        func byte(_ offset: Int) -> UInt8 { utf8[utf8.index(utf8.startIndex, offsetBy: offset)] }
        switch (utf8.count, first) {
        case (4, UInt8(ascii: "m")): return .mode
        case (4, UInt8(ascii: "p")): return .pgid
        case (6, _): return .status
        case (7, UInt8(ascii: "t")): return .taskID
        case (7, UInt8(ascii: "c")): return .command
        case (7, UInt8(ascii: "w")): return .workdir
        case (8, _): return byte(4) == UInt8(ascii: "r") ? .ptyRows : .ptyCols
        case (9, UInt8(ascii: "e")): return .exitCode
        case (9, UInt8(ascii: "c")): return .childPID
        case (10, UInt8(ascii: "s")): return byte(1) == UInt8(ascii: "e") ? .sessionID : .startedAt
        case (10, UInt8(ascii: "t")): return .timeoutMs
        case (10, UInt8(ascii: "c")): return .compressed
        case (11, UInt8(ascii: "f")): return .finishedAt
        case (11, UInt8(ascii: "d")): return .durationMs
        case (12, _): return .projectRoot
        case (13, _): return .statusReason
        case (14, _): return .schemaVersion
        case (20, UInt8(ascii: "c")): return .completionDelivered
        case (20, UInt8(ascii: "n")): return .notifyOnCompletion
        default: return nil
        }
    }
}

/// Typed reads of the known keys with serde's rules: `Option` keys may be missing or null,
/// integers must be plain literals that fit the Rust type. One pass over the members finds
/// every field (the last one of a name, as a lookup by name does) and the first field given
/// twice; reads then go straight to their member.
private struct FieldReader {
    let object: JSONObject
    /// The member index of each field, -1 when absent.
    private var slots = InlineArray<21, Int>(repeating: -1)
    /// The first field of `PersistedTask` given twice. serde's derived reader rejects such a
    /// file ("duplicate field"), so the harness cannot read it: neither do we (reading the
    /// last one, as a plain lookup would, could finalize a task from a value the harness
    /// never sees). Unknown keys given twice are ignored by serde, and kept as they are here.
    private(set) var duplicate: Field?

    init(object: JSONObject) {
        self.object = object
        for (index, member) in object.members.enumerated() {
            guard let field = Field(key: member.key) else { continue }
            if slots[field.rawValue] >= 0, duplicate == nil { duplicate = field }
            slots[field.rawValue] = index
        }
    }

    private func value(_ field: Field) -> JSONValue? {
        let index = slots[field.rawValue]
        return index < 0 ? nil : object.members[index].value
    }

    func required<T: FixedWidthInteger>(_ field: Field, _ type: T.Type) throws(TaskDocument.Problem) -> T {
        guard let value = value(field) else { throw .invalidField(field.name, "is missing") }
        guard let number = value.integerValue(T.self) else { throw .invalidField(field.name, "is not a \(T.self)") }
        return number
    }

    func optional<T: FixedWidthInteger>(_ field: Field, _ type: T.Type) throws(TaskDocument.Problem) -> T? {
        guard let value = value(field), !value.isNull else { return nil }
        guard let number = value.integerValue(T.self) else { throw .invalidField(field.name, "is not a \(T.self) or null") }
        return number
    }

    func requiredString(_ field: Field) throws(TaskDocument.Problem) -> String {
        guard let value = value(field) else { throw .invalidField(field.name, "is missing") }
        guard let string = value.stringValue else { throw .invalidField(field.name, "is not a string") }
        return string
    }

    func optionalString(_ field: Field) throws(TaskDocument.Problem) -> String? {
        guard let value = value(field), !value.isNull else { return nil }
        guard let string = value.stringValue else { throw .invalidField(field.name, "is not a string or null") }
        return string
    }

    func requiredBool(_ field: Field) throws(TaskDocument.Problem) -> Bool {
        guard let value = value(field) else { throw .invalidField(field.name, "is missing") }
        guard let bool = value.boolValue else { throw .invalidField(field.name, "is not a boolean") }
        return bool
    }

    func optionalBool(_ field: Field) throws(TaskDocument.Problem) -> Bool? {
        guard let value = value(field) else { return nil }
        guard let bool = value.boolValue else { throw .invalidField(field.name, "is not a boolean") }
        return bool
    }
}
