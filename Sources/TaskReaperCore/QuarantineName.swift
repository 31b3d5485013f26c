/// The names of quarantined entries (docs/formats.md §6, CONTRACT §5), directly under
/// `<harness dir or root>/bash-tasks-quarantine/<session>/`. Only these are ever removed
/// by the quarantine retention; anything else in a quarantine is never touched.
public enum QuarantineName: Equatable, Sendable {
    /// Ours: a flat bundle's member moved as `<name>.quarantined-<unix ms>`.
    case flat(original: String, quarantinedAt: Millis)
    /// The harness's: `<name>.<reason>-<16 lowercase hex>` (a task directory we or the
    /// harness quarantined is `<id>.invalid-<16 hex>`).
    case harness(original: String, reason: String)

    /// The reasons the harness writes (formats §6).
    public static let harnessReasons: Set<String> = ["invalid", "corrupt", "mismatch", "missing_record", "corrupt_record", "invalid_layout"]
    public static let flatMarker = ".quarantined-"

    /// What `name` is, or nil when it is not a quarantined entry.
    public static func classify(_ name: String) -> QuarantineName? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let original = String(name[..<dot])
        let suffix = name[name.index(after: dot)...]
        if suffix.hasPrefix("quarantined-") {
            let digits = suffix.dropFirst("quarantined-".count)
            guard !digits.isEmpty, digits.count <= 19, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let at = UInt64(digits) else { return nil }
            return .flat(original: original, quarantinedAt: at)
        }
        guard let dash = suffix.lastIndex(of: "-") else { return nil }
        let reason = String(suffix[..<dash])
        let hex = suffix[suffix.index(after: dash)...]
        guard harnessReasons.contains(reason), hex.utf8.count == 16,
              hex.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        return .harness(original: original, reason: reason)
    }

    public var original: String {
        switch self {
        case .flat(let original, _), .harness(let original, _): return original
        }
    }

    /// The task the entry came from: the original name up to its first dot, when that is a
    /// task id (`bgb-1.json` → `bgb-1`, `bash-0123456789abcdef` → itself).
    public var taskID: String? {
        let id = original.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return EntryName.isValidTaskID(id) ? id : nil
    }
}
