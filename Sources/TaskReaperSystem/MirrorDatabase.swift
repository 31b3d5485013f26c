#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import TaskReaperCore
import Synchronization

/// One connection to the harness's `<root>/aft.db` (CONTRACT §6) and the few statements
/// taskreaper runs on table `bash_tasks`. It never creates the database (no
/// SQLITE_OPEN_CREATE), never follows a symbolic link to it (SQLITE_OPEN_NOFOLLOW), never
/// creates or alters a table and never changes the journal mode: the harness owns the schema.
/// Thread-safe: calls are serialized on one connection.
public final class MirrorDatabase: Sendable {
    /// What the harness calls the file, under the root.
    public static let fileName = "aft.db"
    public static let table = "bash_tasks"
    /// The columns our statements touch; a table without one of them is not the schema we know.
    public static let requiredColumns = ["harness", "session_id", "task_id", "status", "exit_code", "pid",
                                         "completed_at", "completion_delivered", "metadata"]

    /// SQLITE_CANTOPEN_SYMLINK (a macro Swift does not import): NOFOLLOW met a link.
    private static let cantOpenSymlink = SQLITE_CANTOPEN | (6 << 8)

    /// The path SQLite opened (the root's real path + aft.db).
    public let path: String
    public let readOnly: Bool
    private let connection: SleepingLock<Connection>

    /// Row identity. `harness` is nil for the legacy `<root>/bash-tasks` tree, whose rows may
    /// carry any harness: then session_id and task_id must match exactly one row.
    public struct Key: Sendable, Equatable {
        public var harness: String?
        public var sessionID: String
        public var taskID: String

        public init(harness: String?, sessionID: String, taskID: String) {
            self.harness = harness
            self.sessionID = sessionID
            self.taskID = taskID
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Another connection held the lock past the busy timeout.
        case busy
        /// Not an SQLite database, or a damaged one.
        case notADatabase(String)
        /// `bash_tasks` lacks columns we write.
        case schema(missing: [String])
        /// More than one row matches a key without a harness.
        case ambiguous(rows: Int)
        /// aft.db is a symbolic link (never followed).
        case symlink
        /// Anything else SQLite said (I/O error, disk full, permissions...).
        case sqlite(String)

        public var description: String {
            switch self {
            case .busy: return "the database stayed locked past the busy timeout"
            case .notADatabase(let message): return "not an SQLite database (\(message))"
            case .schema(let missing):
                return "table \(MirrorDatabase.table) lacks column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))"
            case .ambiguous(let rows): return "\(rows) rows of different harnesses match this session_id and task_id"
            case .symlink: return "is a symbolic link (never followed)"
            case .sqlite(let message): return message
            }
        }
    }

    /// Opens `aft.db` in the root held by `directory`; `nil` when there is no `bash_tasks`
    /// table (the harness has not created it yet: fine). A missing file is `.sqlite` with
    /// SQLite's "unable to open": callers look for the file first.
    public static func open(in directory: DirectoryHandle, readOnly: Bool, busyTimeoutMs: Int32) throws(Failure) -> MirrorDatabase? {
        // The root's real path: NOFOLLOW refuses a link anywhere in the path, and the path
        // the user gave may run through one (a symlinked home); the fd's path does not.
        // SQLite takes it as text: a root whose real path is not UTF-8 fails to open (reported).
        let realRoot = (try? directory.realPathBytes()).map { String(decoding: $0, as: UTF8.self) } ?? directory.path
        let path = realRoot == "/" ? "/" + fileName : realRoot + "/" + fileName
        var handle: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX
        var name = path
        if readOnly {
            switch try readOnlyMode(in: directory) {
            case .shared: break
            case .immutable:
                // No -wal: the main file holds every committed row, and `immutable` reads it
                // without the -wal/-shm a WAL-mode reader would otherwise create (a dry run
                // writes nothing, not even SQLite's side files).
                flags |= SQLITE_OPEN_URI
                name = "file:" + uriEscaped(path) + "?immutable=1"
            case .unreadable:
                throw .sqlite("its -wal exists without its -shm: a dry run cannot read it without creating aft.db-shm")
            }
        }
        let rc = sqlite3_open_v2(name, &handle, flags, nil)
        var connection = Connection(handle: handle)
        if rc != SQLITE_OK {
            let failure: Failure = (sqlite3_extended_errcode(handle) == Self.cantOpenSymlink) ? .symlink : connection.failure(rc)
            connection.close()
            throw failure
        }
        do throws(Failure) {
            sqlite3_busy_timeout(handle, busyTimeoutMs)
            // WAL (the harness's mode) with NORMAL: our commits need no fsync of their own and
            // the file can never be corrupted by a crash; a power cut may lose our last row
            // changes, which the next pass makes again from the JSON (finalizations).
            if !readOnly { try connection.execute("PRAGMA synchronous = NORMAL") }
            // Reading the schema is also where a file that is not SQLite says so.
            let tables = try connection.texts("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)])
            guard !tables.isEmpty else {
                connection.close()
                return nil
            }
            let columns = try connection.texts("SELECT name FROM pragma_table_info(?)", [.text(table)]).map { $0[0] }
            let missing = requiredColumns.filter { !columns.contains($0) }
            guard missing.isEmpty else { throw .schema(missing: missing) }
        } catch {
            connection.close()
            throw error
        }
        return MirrorDatabase(path: path, readOnly: readOnly, connection: connection)
    }

    private enum ReadOnlyMode { case shared, immutable, unreadable }

    /// How a reader that must create nothing can open this database: with both side files
    /// present, as any reader (it adds none); with no -wal, immutable; a -wal without its
    /// -shm cannot be read without creating the -shm.
    private static func readOnlyMode(in directory: DirectoryHandle) throws(Failure) -> ReadOnlyMode {
        let wal = (try? directory.status(FileName(fileName + "-wal"))) ?? nil
        let shm = (try? directory.status(FileName(fileName + "-shm"))) ?? nil
        switch (wal, shm) {
        case (nil, _): return .immutable
        case (_?, _?): return .shared
        case (_?, nil): return .unreadable
        }
    }

    /// A path inside a `file:` URI: `%`, `?`, `#` and non-ASCII bytes escaped (SQLite decodes
    /// %HH back to the byte).
    private static func uriEscaped(_ path: String) -> String {
        var escaped = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"), 0x80...:
                escaped += "%" + String(byte, radix: 16, uppercase: true)
            default: escaped.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return escaped
    }

    private init(path: String, readOnly: Bool, connection: consuming Connection) {
        self.path = path
        self.readOnly = readOnly
        self.connection = SleepingLock(connection)
    }

    deinit {
        connection.withLock { $0.close() }
    }

    /// The row's status, or nil when no row matches. A plain read: no write lock.
    public func status(of key: Key) throws(Failure) -> String? {
        try connection.withLock { connection throws(Failure) in try Self.find(&connection, key)?.status }
    }

    /// A row status the harness will not change again. A status this version does not know
    /// counts as not terminal: the JSON we finalized is the better account.
    public static func isTerminal(_ status: String) -> Bool {
        TaskStatus(rawValue: status)?.isTerminal ?? false
    }

    /// Writes the finalized columns when the row exists and is not terminal yet (a harness
    /// that finalized the row itself wins). Check and write share one IMMEDIATE transaction.
    /// Returns the row's status before: nil when there is no row; updated when not terminal.
    @discardableResult
    public func finalize(_ key: Key, to row: MirrorRow) throws(Failure) -> String? {
        try transaction { connection throws(Failure) in
            guard let found = try Self.find(&connection, key) else { return nil }
            if Self.isTerminal(found.status) { return found.status }
            let values: [Connection.Value] = [.text(row.status.rawValue), row.exitCode.map { .integer(Int64($0)) } ?? .null,
                                              row.completedAt.map(Connection.Value.integer) ?? .null,
                                              .integer(row.completionDelivered ? 1 : 0), .text(row.metadata)]
            _ = try connection.run("UPDATE bash_tasks SET status = ?, exit_code = ?, pid = NULL, completed_at = ?, "
                                   + "completion_delivered = ?, metadata = ? WHERE harness = ? AND session_id = ? AND task_id = ?",
                                   values + [.text(found.harness), .text(key.sessionID), .text(key.taskID)])
            return found.status
        }
    }

    /// Deletes the row; returns whether there was one.
    public func delete(_ key: Key) throws(Failure) -> Bool {
        try transaction { connection throws(Failure) in
            guard let found = try Self.find(&connection, key) else { return false }
            return try connection.run("DELETE FROM bash_tasks WHERE harness = ? AND session_id = ? AND task_id = ?",
                                      [.text(found.harness), .text(key.sessionID), .text(key.taskID)]) > 0
        }
    }

    /// The one row the key names, by the primary key. Without a harness (legacy tree) every
    /// harness in the table is tried: a loose index scan walks the distinct values of the
    /// key's first column, so it costs a few seeks, never a scan of the table (a plain
    /// `session_id = ? AND task_id = ?` read all 20 000 rows per bundle, measured).
    private static func find(_ connection: inout Connection, _ key: Key) throws(Failure) -> (harness: String, status: String)? {
        let rows: [[String]]
        if let harness = key.harness {
            rows = try connection.texts("SELECT harness, status FROM bash_tasks WHERE harness = ? AND session_id = ? AND task_id = ?",
                                        [.text(harness), .text(key.sessionID), .text(key.taskID)], columns: 2)
        } else {
            rows = try connection.texts("""
                WITH RECURSIVE harnesses(name) AS (
                    SELECT min(harness) FROM bash_tasks
                    UNION ALL
                    SELECT (SELECT min(harness) FROM bash_tasks WHERE harness > name) FROM harnesses WHERE name IS NOT NULL)
                SELECT harness, status FROM bash_tasks
                WHERE harness IN (SELECT name FROM harnesses WHERE name IS NOT NULL) AND session_id = ? AND task_id = ?
                """, [.text(key.sessionID), .text(key.taskID)], columns: 2)
        }
        if rows.count > 1 { throw .ambiguous(rows: rows.count) }
        return rows.first.map { (harness: $0[0], status: $0[1]) }
    }

    /// IMMEDIATE: the write lock first, so waiting for a busy harness happens in the busy
    /// handler, never as a failed upgrade from a read (which SQLite does not wait on).
    private func transaction<T: Sendable>(_ body: (inout Connection) throws(Failure) -> T) throws(Failure) -> T {
        try connection.withLock { connection throws(Failure) in
            // Prepared once (run caches statements), not compiled per row as sqlite3_exec does.
            _ = try connection.run("BEGIN IMMEDIATE", [])
            do throws(Failure) {
                let changed = try body(&connection)
                _ = try connection.run("COMMIT", [])
                return changed
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

}

extension MirrorDatabase.Failure {
    /// SQLite's primary result code, classified.
    init(code: Int32, message: String) {
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: self = .busy
        case SQLITE_NOTADB, SQLITE_CORRUPT: self = .notADatabase(message)
        default: self = .sqlite(message)
        }
    }
}
