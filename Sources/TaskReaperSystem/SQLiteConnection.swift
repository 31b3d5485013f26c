import CSQLite

extension MirrorDatabase {
    /// A thin layer over one `sqlite3*`: bound parameters only (never SQL built from data),
    /// prepared statements cached for the life of the connection. Not thread-safe by itself:
    /// MirrorDatabase keeps it behind a mutex (hence unchecked: the pointer moves, never shared).
    struct Connection: @unchecked Sendable {
        enum Value {
            case text(String)
            case integer(Int64)
            case null
        }

        private(set) var handle: OpaquePointer?
        private var statements: [String: OpaquePointer] = [:]

        init(handle: OpaquePointer?) {
            self.handle = handle
        }

        /// A statement without parameters or results (PRAGMA, BEGIN, COMMIT...).
        mutating func execute(_ sql: String) throws(Failure) {
            let rc = sqlite3_exec(handle, sql, nil, nil, nil)
            guard rc == SQLITE_OK else { throw failure(rc) }
        }

        /// The first `columns` columns of every result row, as text (NULL as "").
        mutating func texts(_ sql: String, _ arguments: [Value], columns: Int32 = 1) throws(Failure) -> [[String]] {
            let statement = try prepared(sql, arguments)
            defer { sqlite3_reset(statement) }
            var results: [[String]] = []
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return results }
                guard rc == SQLITE_ROW else { throw failure(rc) }
                results.append((0..<columns).map { column in sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "" })
            }
        }

        /// An INSERT/UPDATE/DELETE; returns the number of rows it changed.
        mutating func run(_ sql: String, _ arguments: [Value]) throws(Failure) -> Int {
            let statement = try prepared(sql, arguments)
            defer { sqlite3_reset(statement) }
            let rc = sqlite3_step(statement)
            guard rc == SQLITE_DONE else { throw failure(rc) }
            return Int(sqlite3_changes(handle))
        }

        private mutating func prepared(_ sql: String, _ arguments: [Value]) throws(Failure) -> OpaquePointer {
            let statement: OpaquePointer
            if let cached = statements[sql] {
                statement = cached
            } else {
                var fresh: OpaquePointer?
                let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &fresh, nil)
                guard rc == SQLITE_OK, let fresh else { throw failure(rc) }
                statements[sql] = fresh
                statement = fresh
            }
            sqlite3_clear_bindings(statement)
            for (offset, value) in arguments.enumerated() {
                let index = Int32(offset + 1)
                let rc: Int32
                switch value {
                case .text(let text): rc = sqlite3_bind_text(statement, index, text, -1, taskreaper_sqlite_transient())
                case .integer(let number): rc = sqlite3_bind_int64(statement, index, number)
                case .null: rc = sqlite3_bind_null(statement, index)
                }
                guard rc == SQLITE_OK else { throw failure(rc) }
            }
            return statement
        }

        /// The connection's error, with SQLite's own message.
        func failure(_ rc: Int32) -> Failure {
            let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            return Failure(code: rc, message: message)
        }

        mutating func close() {
            for statement in statements.values { sqlite3_finalize(statement) }
            statements.removeAll()
            if let handle { sqlite3_close_v2(handle) }
            handle = nil
        }
    }
}
