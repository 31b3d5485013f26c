import Foundation

/// Task directories as the current harness leaves them (CONTRACT §7.1, docs/formats.md §2):
/// `<session>/<id>/control/metadata.json` (+ the payload files), `io/` with empty stdout,
/// stderr, exit and sandbox-unavailable; directories 0700, files 0600.
public enum TaskDirectoryFixture {
    /// `bash-` + 16 hex from `n`.
    public static func id(_ n: Int) -> String { "bash-" + String(format: "%016x", n) }

    /// A record of schema 5-7 in the harness's key order (persistence.rs PersistedTask),
    /// pretty-printed like serde_json with no trailing newline. Values are raw JSON text.
    public static func record(schema: Int = 7, taskID: String, sessionID: String = "ses_test", status: String,
                              startedAt: UInt64, childPID: Int32? = nil, mode: String = "pipes",
                              delivered: Bool = false, exitCode: Int32? = nil, timeoutMs: UInt64? = 1_800_000,
                              extra: [(String, String)] = []) -> String {
        let terminal = ["completed", "failed", "killed", "timed_out", "fate_unknown"].contains(status)
        var fields: [(String, String)] = [("schema_version", String(schema))]
        if schema >= 7 { fields.append(("harness", BundleFixture.quote("opencode"))) }
        fields += [
            ("task_id", BundleFixture.quote(taskID)), ("session_id", BundleFixture.quote(sessionID)),
            ("command", BundleFixture.quote("sleep 1")), ("mode", BundleFixture.quote(mode)),
            ("workdir", BundleFixture.quote("/tmp")), ("project_root", "null"), ("status", BundleFixture.quote(status)),
            ("started_at", String(startedAt)), ("finished_at", terminal ? String(startedAt + 1000) : "null"),
            ("duration_ms", terminal ? "1000" : "null"), ("timeout_ms", timeoutMs.map(String.init) ?? "null"),
            ("exit_code", exitCode.map(String.init) ?? "null"), ("child_pid", childPID.map(String.init) ?? "null"),
            ("pgid", childPID.map(String.init) ?? "null"), ("completion_delivered", String(delivered)),
            ("notify_on_completion", "true"), ("compressed", "true"), ("pty_rows", "null"), ("pty_cols", "null"),
            ("sandbox_native", "false"), ("status_reason", "null"),
        ]
        if schema >= 7 {
            fields.append(("call_key", "{\n    \"requester\": \"first-party\",\n    \"key\": \(BundleFixture.quote(taskID)),\n    \"minted\": true\n  }"))
        }
        fields += extra
        return BundleFixture.pretty(fields)
    }

    /// Creates `<session>/<id>/` with its control/ and io/ files; the record's mtime `ageMs`
    /// in the past when given. Returns the task directory's path.
    @discardableResult
    public static func write(in session: String, taskID: String, record: String?, ageMs: UInt64? = nil, mode: String = "pipes") throws -> String {
        let task = session + "/" + taskID
        let fm = FileManager.default
        for directory in [task, task + "/control", task + "/io"] {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        for (name, content) in [("command.sh", "sleep 1"), ("wrapper.sh", "#!/bin/sh\n"), ("environment.bin", "AFTENV1\u{0}"), ("manifest.blake3", String(repeating: "x", count: 32))] {
            try privateFile(task + "/control/" + name, content)
        }
        for name in (mode == "pty" ? ["pty"] : ["stdout", "stderr"]) + ["exit", "sandbox-unavailable"] {
            try privateFile(task + "/io/" + name, "")
        }
        if let record { try setRecord(task, record, ageMs: ageMs) }
        return task
    }

    /// Writes (or replaces) only the record of an existing task directory: its io/ files,
    /// which a running process holds open, are left as they are.
    public static func setRecord(_ task: String, _ record: String, ageMs: UInt64? = nil) throws {
        try privateFile(task + "/control/metadata.json", record)
        if let ageMs { try BundleFixture.setModified(task + "/control/metadata.json", ageMs: ageMs) }
    }

    static func privateFile(_ path: String, _ content: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// st_ino of a path (not following a link), for "written in place" checks.
    public static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }
}
