/// What a file name inside a session directory is (CONTRACT §2). Names only: a bundle's
/// identity comes from here, never from the `task_id` inside the JSON.
public enum EntryName: Equatable, Sendable {
    /// `<id>.<kind>` where kind is one of the bundle extensions.
    case member(taskID: String, kind: MemberKind)
    /// `.<name>.tmp.<writer_pid>.<sanitized_id>`: the harness's (or our) atomic write,
    /// or `<id>.exit.tmp.<wrapper_pid>`: the wrapper's marker write.
    case protocolTemp(writerPID: Int32)
    /// Anything else: not ours to touch.
    case unknown

    public enum MemberKind: String, Sendable, CaseIterable {
        case json, stdout, stderr, pty, exit, sh, ps1, bat
    }

    public static func isValidTaskID<S: StringProtocol>(_ id: S) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// A task directory's name in the current layout (CONTRACT §7.1): `bash-` and 16
    /// lowercase hex digits, exactly as the harness's `validate_task_id` accepts.
    public static func isTaskDirectoryName<S: StringProtocol>(_ name: S) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count == 21, bytes.starts(with: Array("bash-".utf8)) else { return false }
        return bytes.dropFirst(5).allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    public static func classify(_ name: String) -> EntryName {
        if name.hasPrefix(".") {
            // .<name>.tmp.<pid>.<id>: split from the right, the id has no dots.
            let parts = name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
            if parts.count >= 4, parts[parts.count - 3] == "tmp", isValidTaskID(parts[parts.count - 1]),
               let pid = Int32(parts[parts.count - 2]), pid > 0 {
                return .protocolTemp(writerPID: pid)
            }
            return .unknown
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 2, isValidTaskID(parts[0]), let kind = MemberKind(rawValue: String(parts[1])) {
            return .member(taskID: String(parts[0]), kind: kind)
        }
        if parts.count == 4, isValidTaskID(parts[0]), parts[1] == "exit", parts[2] == "tmp",
           let pid = Int32(parts[3]), pid > 0 {
            return .protocolTemp(writerPID: pid)
        }
        return .unknown
    }
}
