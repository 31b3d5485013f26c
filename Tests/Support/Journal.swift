import Foundation

/// Reads entries back from the real journald with `journalctl -o json`.
public enum Journal {
    public static let socketPath = "/run/systemd/journal/socket"

    public static var isAvailable: Bool {
        var st = stat()
        return stat(socketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Entries matching `FIELD=value` terms, as dictionaries of strings.
    public static func entries(matching matches: [String]) throws -> [[String: Any]] {
        let output = try Subprocess.run("/bin/journalctl", ["-o", "json", "--no-pager", "--all"] + matches)
        return output.stdoutText.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// journald runs in CI (scripts/start-journald.sh); there a missing journal is a failure.
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
}
