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
        // Every file of every session goes through here: an ASCII name that does not start
        // with a dot (nearly all of them) is split at its dots in place; any other name takes
        // the general path below. Both give the same answer (for ASCII, a Character is a byte).
        if let plain = classifyPlainASCII(name) { return plain }
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

    /// `classify` for an ASCII name not starting with a dot, without an array of parts; nil
    /// for any other name.
    private static func classifyPlainASCII(_ name: String) -> EntryName? {
        let utf8 = name.utf8
        guard let first = utf8.first, first != UInt8(ascii: ".") else { return nil }
        var dots = InlineArray<3, String.Index>(repeating: utf8.startIndex)
        var count = 0
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte >= 0x80 { return nil }
            if byte == UInt8(ascii: ".") {
                if count == 3 { return .unknown }  // five parts or more: neither a member nor a marker temp
                dots[count] = index
                count += 1
            }
            utf8.formIndex(after: &index)
        }
        func part(_ n: Int) -> Substring {
            let start = n == 0 ? name.startIndex : utf8.index(after: dots[n - 1])
            let end = n == count ? name.endIndex : dots[n]
            return name[start..<end]
        }
        switch count {
        case 1:
            let id = part(0)
            guard isValidTaskID(id), let kind = MemberKind(rawValue: String(part(1))) else { return .unknown }
            return .member(taskID: String(id), kind: kind)
        case 3:
            guard isValidTaskID(part(0)), part(1) == "exit", part(2) == "tmp", let pid = Int32(part(3)), pid > 0 else {
                return .unknown
            }
            return .protocolTemp(writerPID: pid)
        default:
            return .unknown
        }
    }
}
