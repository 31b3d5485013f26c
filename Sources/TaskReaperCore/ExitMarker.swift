/// The content of `<id>.exit` (CONTRACT §4).
public enum ExitMarker: Equatable, Sendable {
    case code(Int32)
    case killed

    /// Trimmed content: a decimal i32 or `killed`. Anything else (including empty) is
    /// "no marker yet", exactly as the harness's `read_exit_marker`.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> ExitMarker? {
        let text = String(decoding: bytes, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return nil }
        if text == "killed" { return .killed }
        return Int32(text, radix: 10).map(ExitMarker.code)
    }

    /// The marker table: the terminal state and exit code the marker stands for. `killed`
    /// is exit code 137 on schema 7, as the harness's `terminal_exit_code_for_status` gives
    /// (CONTRACT §7.4); null before.
    public func outcome(schemaVersion: UInt32) -> (status: TaskStatus, exitCode: Int32?) {
        switch self {
        case .code(0): return (.completed, 0)
        case .code(let n): return (.failed, n)
        case .killed: return (.killed, schemaVersion >= 7 ? 137 : nil)
        }
    }
}

extension String {
    /// Rust's `str::trim` (Unicode White_Space), which the marker reader uses;
    /// here without Foundation.
    func trimmingCharacters(in _: WhitespaceSet) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }

    enum WhitespaceSet { case whitespacesAndNewlines }
}
