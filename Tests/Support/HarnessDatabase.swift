import CSQLite
import Foundation

/// The harness's `<root>/aft.db` as tests need it: created with the harness's table (the
/// columns of CONTRACT §6, primary key `harness, session_id, task_id`) in WAL mode, rows
/// inserted the way `to_bash_task_row` fills them, read back, and its integrity checked.
/// One connection, like the harness's; `lock()` holds its write lock as a busy harness does.
/// Sendable: SQLite is built serialized (SQLITE_THREADSAFE=1), so one connection may be used
/// from a second thread, as the busy-writer tests do.
public final class HarnessDatabase: @unchecked Sendable {
    public let path: String
    private var db: OpaquePointer?

    public struct Row: Equatable {
        public var status: String
        public var exitCode: Int64?
        public var pid: Int64?
        public var completedAt: Int64?
        public var completionDelivered: Int64
        public var metadata: String
    }

    public static let schema = """
        CREATE TABLE bash_tasks (
            harness TEXT NOT NULL, session_id TEXT NOT NULL, task_id TEXT NOT NULL,
            project_key TEXT NOT NULL, command TEXT NOT NULL, cwd TEXT NOT NULL,
            status TEXT NOT NULL, exit_code INTEGER, pid INTEGER, pgid INTEGER,
            started_at INTEGER NOT NULL, completed_at INTEGER, stdout_path TEXT, stderr_path TEXT,
            compressed INTEGER NOT NULL, timeout_ms INTEGER, completion_delivered INTEGER NOT NULL,
            output_bytes INTEGER, metadata TEXT NOT NULL,
            PRIMARY KEY (harness, session_id, task_id)
        )
        """

    /// Creates `<root>/aft.db` with `schema` (the harness's table unless told otherwise).
    public static func create(root: String, schema: String = HarnessDatabase.schema) throws -> HarnessDatabase {
        let database = try HarnessDatabase(path: root + "/aft.db", create: true)
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute(schema)
        return database
    }

    public init(path: String, create: Bool = false) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else { throw failure("open") }
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close_v2(db) }

    public func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    /// A row for a task, as the harness writes it while the task runs (or after).
    public func insert(harness: String, sessionID: String, taskID: String, status: String, pid: Int64? = 4242,
                       exitCode: Int64? = nil, completedAt: Int64? = nil, delivered: Bool = false, metadata: String = "{}") throws {
        try run("""
            INSERT INTO bash_tasks (harness, session_id, task_id, project_key, command, cwd, status, exit_code,
                pid, pgid, started_at, completed_at, stdout_path, stderr_path, compressed, timeout_ms,
                completion_delivered, output_bytes, metadata)
            VALUES (?, ?, ?, 'key', 'sleep 1', '/tmp', ?, ?, ?, ?, 1, ?, '/tmp/x.stdout', '/tmp/x.stderr', 1, NULL, ?, 0, ?)
            """, [harness, sessionID, taskID, status, exitCode, pid, pid, completedAt, delivered ? 1 : 0, metadata])
    }

    public func row(harness: String, sessionID: String, taskID: String) throws -> Row? {
        try query("""
            SELECT status, exit_code, pid, completed_at, completion_delivered, metadata FROM bash_tasks
            WHERE harness = ? AND session_id = ? AND task_id = ?
            """, [harness, sessionID, taskID]) { statement in
            Row(status: text(statement, 0) ?? "", exitCode: integer(statement, 1), pid: integer(statement, 2),
                completedAt: integer(statement, 3), completionDelivered: integer(statement, 4) ?? -1,
                metadata: text(statement, 5) ?? "")
        }.first
    }

    public func count() throws -> Int {
        try query("SELECT count(*) FROM bash_tasks", []) { Int(sqlite3_column_int64($0, 0)) }.first ?? 0
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    public func integrityCheck() throws -> String {
        try query("PRAGMA integrity_check", []) { text($0, 0) ?? "" }.joined(separator: "; ")
    }

    /// BEGIN IMMEDIATE: holds the write lock, as a harness in the middle of a write does.
    public func lock() throws { try execute("BEGIN IMMEDIATE") }
    public func unlock() throws { try execute("COMMIT") }

    // MARK: Plumbing

    private func run(_ sql: String, _ arguments: [Any?]) throws {
        _ = try query(sql, arguments) { _ in () }
    }

    private func query<T>(_ sql: String, _ arguments: [Any?], _ row: (OpaquePointer) -> T) throws -> [T] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw failure(sql) }
        defer { sqlite3_finalize(statement) }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            switch argument {
            case let text as String: sqlite3_bind_text(statement, index, text, -1, taskreaper_sqlite_transient())
            case let number as Int: sqlite3_bind_int64(statement, index, Int64(number))
            case let number as Int64: sqlite3_bind_int64(statement, index, number)
            default: sqlite3_bind_null(statement, index)
            }
        }
        var rows: [T] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw failure(sql) }
            rows.append(row(statement))
        }
    }

    private func failure(_ what: String) -> NSError {
        NSError(domain: "sqlite", code: Int(sqlite3_errcode(db)),
                userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: sqlite3_errmsg(db)))"])
    }
}

private func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
    sqlite3_column_text(statement, column).map { String(cString: $0) }
}

private func integer(_ statement: OpaquePointer, _ column: Int32) -> Int64? {
    sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
}
