#if canImport(Glibc)
import Glibc
#endif

/// How a checked replace names its temps: the one it writes our version into, and the one
/// each exchange step uses (`ExchangeIntent` in the name). Two families, one per layout.
public struct TempNames: Sendable {
    /// A name for the temp our new version is written to.
    public let fresh: @Sendable () throws(SystemError) -> FileName
    /// An existing file with the fresh name is a leftover of ours to replace (seed names
    /// carry our pid, so only an earlier process with our pid made it); otherwise (a random
    /// name that exists) another name is drawn.
    public let freshIsOurs: Bool
    /// The temp's name during a step of the exchange.
    public let intent: @Sendable (ExchangeIntent) -> FileName

    public init(fresh: @escaping @Sendable () throws(SystemError) -> FileName, freshIsOurs: Bool,
                intent: @escaping @Sendable (ExchangeIntent) -> FileName) {
        self.fresh = fresh
        self.freshIsOurs = freshIsOurs
        self.intent = intent
    }

    /// Flat bundles: the seed's `.<name>.tmp.<pid>.<tag>` with our pid (CONTRACT §3: cannot
    /// collide with the harness's, and the stray-temp rule knows the writer by the pid), and
    /// `.<name>.tmp.<pid>.x<32 hex>` during an exchange step, which the same rule recognises
    /// (`seedIntent`) and settles instead of deleting blindly. `tag` is short and fixed, never
    /// the task id: `<name>` already holds the id, and repeating it made a 116-byte id's temp
    /// longer than NAME_MAX (the step name, 52 bytes longer than the target with a 7-digit
    /// pid, fits every target of up to 203 bytes).
    public static func seed(for name: FileName, tag: String = ourTag) -> TempNames {
        let pid = getpid()
        return TempNames(fresh: { () throws(SystemError) in FileName(escaped: ".\(name.escaped).tmp.\(pid).\(tag)") }, freshIsOurs: true,
                         intent: { FileName(escaped: ".\(name.escaped).tmp.\(pid).x\($0.hex)") })
    }

    /// The last part of our seed-family temps (a valid task id, as the stray-temp rule wants).
    public static let ourTag = "taskreaper"

    /// The current harness's `.aft-tmp-<32 hex>` (CONTRACT §7.5), which it and its readers
    /// treat as a temp: `random` draws the fresh names; a step's name is the intent's hex,
    /// the same shape.
    public static func harness(random: @escaping @Sendable () throws(SystemError) -> FileName) -> TempNames {
        TempNames(fresh: random, freshIsOurs: false, intent: { FileName(harnessPrefix + $0.hex) })
    }

    public static let harnessPrefix = ".aft-tmp-"

    /// The target and intent of a seed-family step temp (`.<name>.tmp.<pid>.x<32 hex>`); nil
    /// for any other name, including the fresh temps.
    /// Read on the escaped form (the name rules' way, `FileName`): the target is exact.
    public static func seedIntent(_ temp: FileName) -> (target: FileName, intent: ExchangeIntent)? {
        let tempName = temp.escaped
        guard tempName.hasPrefix(".") else { return nil }
        let parts = tempName.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 3] == "tmp", Int32(parts[parts.count - 2]) != nil,
              let last = parts.last, last.first == "x", let intent = ExchangeIntent(hex: last.dropFirst()) else { return nil }
        let target = parts[..<(parts.count - 3)].joined(separator: ".")
        guard !target.isEmpty else { return nil }
        return (FileName(escaped: target), intent)
    }

    /// Whether `tempName` is an exchange step of this very process. The stray-temp rule may
    /// settle such a temp at once whatever our pid's liveness says: it looks at a session only
    /// once every bundle of that session is done, so no replace of ours is still in flight
    /// there (one left behind: a put-back that gave up, or whose temp could not be removed).
    public static func isOwnStep(_ temp: FileName) -> Bool {
        guard seedIntent(temp) != nil else { return false }
        let parts = temp.escaped.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 3 && Int32(parts[parts.count - 2]) == getpid()
    }

    /// The intent of a harness-family name (`.aft-tmp-<32 hex>`). Every such name parses,
    /// including the harness's own random temps: settling one whose digests match nothing
    /// is a plain removal, so that is harmless.
    public static func harnessIntent(_ temp: FileName) -> ExchangeIntent? {
        guard temp.escaped.hasPrefix(harnessPrefix) else { return nil }
        return ExchangeIntent(hex: temp.escaped.dropFirst(harnessPrefix.count))
    }
}
