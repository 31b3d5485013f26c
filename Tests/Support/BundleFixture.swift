import Foundation

/// Writes bundles the way the harness leaves them (CONTRACT §2–3), with full control over
/// the JSON text (exact integers, unknown keys) and the files' mtimes.
public struct BundleFixture {
    public static let hour: UInt64 = 3_600_000

    public static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// `<root>/<harness>/bash-tasks/<session>/` (or `<root>/bash-tasks/<session>/`), created.
    public static func sessionDirectory(root: String, harness: String?, session: String = "0123456789abcdef") throws -> String {
        let path = harness.map { "\(root)/\($0)/bash-tasks/\(session)" } ?? "\(root)/bash-tasks/\(session)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A schema-4 JSON in the seed's field order, pretty-printed like serde_json. Values are
    /// raw JSON text; `extra` keys are appended (unknown keys of a newer harness).
    public static func schema4(taskID: String, sessionID: String = "ses_test", status: String, startedAt: UInt64,
                               childPID: Int32? = nil, pgid: Int32? = nil, mode: String = "pipes",
                               completionDelivered: Bool = false, notifyOnCompletion: Bool = true,
                               timeoutMs: UInt64? = nil, exitCode: Int32? = nil,
                               extra: [(String, String)] = []) -> String {
        let terminal = ["completed", "failed", "killed", "timed_out"].contains(status)
        var fields: [(String, String)] = [
            ("schema_version", "4"), ("task_id", quote(taskID)), ("session_id", quote(sessionID)),
            ("command", quote("sleep 1")), ("mode", quote(mode)), ("workdir", quote("/tmp")),
            ("project_root", "null"), ("status", quote(status)), ("started_at", String(startedAt)),
            ("finished_at", terminal ? String(startedAt + 1000) : "null"), ("duration_ms", terminal ? "1000" : "null"),
            ("timeout_ms", timeoutMs.map(String.init) ?? "null"), ("exit_code", exitCode.map(String.init) ?? "null"),
            ("child_pid", childPID.map(String.init) ?? "null"), ("pgid", pgid.map(String.init) ?? "null"),
            ("completion_delivered", String(completionDelivered)), ("notify_on_completion", String(notifyOnCompletion)),
            ("compressed", "true"), ("pty_rows", "null"), ("pty_cols", "null"), ("status_reason", "null"),
        ]
        fields.append(contentsOf: extra)
        return pretty(fields)
    }

    /// A JSON object from ordered (key, raw JSON text) pairs, laid out like serde_json's
    /// `to_vec_pretty` (two-space indent, `"key": value`). Values are not checked: tests
    /// control the exact text (`1700000000000`, `1.7e12`, `null`, nested objects...).
    public static func pretty(_ fields: [(String, String)]) -> String {
        "{\n" + fields.map { "  \(quote($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}"
    }

    /// A JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:  // serde_json's form for the other controls
                out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The bundle members besides the JSON (CONTRACT §2), by file extension.
    public enum Member: String, CaseIterable {
        case stdout, stderr, pty, exit, sh, ps1, bat
    }

    /// A whole bundle in `session`: the members first (the child and wrapper write them),
    /// then `<taskID>.json` written atomically the way the seed's `atomic_write` does
    /// (`.<name>.tmp.<pid>.<id>` + rename). `json` is the exact text (see `schema4`/`pretty`);
    /// nil leaves the members without a JSON (orphan files). `ageMs` backdates every file.
    /// Returns the JSON's path.
    @discardableResult
    public static func writeBundle(in session: String, taskID: String, json: String?,
                                   members: [(Member, String)] = [], ageMs: UInt64? = nil) throws -> String {
        for (member, content) in members {
            try write(session, "\(taskID).\(member.rawValue)", content, ageMs: ageMs)
        }
        let path = "\(session)/\(taskID).json"
        if let json {
            let temp = "\(session)/.\(taskID).json.tmp.\(getpid()).\(taskID)"
            try Data(json.utf8).write(to: URL(fileURLWithPath: temp))
            if let ageMs { try setModified(temp, ageMs: ageMs) }
            guard rename(temp, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        return path
    }

    /// `content` as `<directory>/<name>`, plainly (not atomically); `ageMs` backdates it.
    @discardableResult
    public static func write(_ directory: String, _ name: String, _ content: String, ageMs: UInt64? = nil) throws -> String {
        let path = "\(directory)/\(name)"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        if let ageMs { try setModified(path, ageMs: ageMs) }
        return path
    }

    /// Sets atime and mtime `ageMs` in the past, on the entry itself (links are not followed).
    public static func setModified(_ path: String, ageMs: UInt64) throws {
        try setModified(path, unixMs: nowMs() - ageMs)
    }

    /// Sets atime and mtime to `unixMs` (Unix milliseconds), on the entry itself.
    public static func setModified(_ path: String, unixMs when: UInt64) throws {
        var times = [timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000),
                     timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// Sets atime and mtime to exactly `seconds` since the epoch, any 64-bit value (negative:
    /// before 1970), on the entry itself. Only tmpfs keeps the extremes (TemporaryDirectory.onTmpfs).
    public static func setModified(_ path: String, unixSeconds seconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    public static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Every path under `root` with type, size, mode, mtime and content hash: equal
    /// snapshots mean a byte-identical tree.
    public static func snapshot(_ root: String) -> [String] {
        var result: [String] = []
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: root) else { return [] }
        while let relative = enumerator.nextObject() as? String {
            let path = "\(root)/\(relative)"
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            var line = "\(relative) mode=\(String(st.st_mode, radix: 8)) size=\(st.st_size) mtime=\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            if (st.st_mode & S_IFMT) == S_IFREG, let data = fm.contents(atPath: path) { line += " content=\(data.base64EncodedString())" }
            if (st.st_mode & S_IFMT) == S_IFLNK, let target = try? fm.destinationOfSymbolicLink(atPath: path) { line += " -> \(target)" }
            result.append(line)
        }
        return result.sorted()
    }
}
