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

    public static func pretty(_ fields: [(String, String)]) -> String {
        "{\n" + fields.map { "  \(quote($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @discardableResult
    public static func write(_ directory: String, _ name: String, _ content: String, ageMs: UInt64? = nil) throws -> String {
        let path = "\(directory)/\(name)"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        if let ageMs { try setModified(path, ageMs: ageMs) }
        return path
    }

    /// Sets atime and mtime `ageMs` in the past, on the entry itself (links are not followed).
    public static func setModified(_ path: String, ageMs: UInt64) throws {
        let when = nowMs() - ageMs
        var times = [timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000),
                     timespec(tv_sec: Int(when / 1000), tv_nsec: Int(when % 1000) * 1_000_000)]
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
