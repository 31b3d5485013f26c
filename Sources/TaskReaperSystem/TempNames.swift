#if canImport(Glibc)
import Glibc
#endif

/// How a checked replace names its temps: the one it writes our version into, and the one
/// each exchange step uses (`ExchangeIntent` in the name). Two families, one per layout.
public struct TempNames: Sendable {
    /// A name for the temp our new version is written to.
    public let fresh: @Sendable () throws(SystemError) -> String
    /// An existing file with the fresh name is a leftover of ours to replace (seed names
    /// carry our pid, so only an earlier process with our pid made it); otherwise (a random
    /// name that exists) another name is drawn.
    public let freshIsOurs: Bool
    /// The temp's name during a step of the exchange.
    public let intent: @Sendable (ExchangeIntent) -> String

    public init(fresh: @escaping @Sendable () throws(SystemError) -> String, freshIsOurs: Bool,
                intent: @escaping @Sendable (ExchangeIntent) -> String) {
        self.fresh = fresh
        self.freshIsOurs = freshIsOurs
        self.intent = intent
    }

    /// Flat bundles: the seed's `.<name>.tmp.<pid>.<tag>` with our pid (CONTRACT §3: cannot
    /// collide with the harness's, and the stray-temp rule knows the writer by the pid), and
    /// `.<name>.tmp.<pid>.x<32 hex>` during an exchange step, which the same rule recognises
    /// (`seedIntent`) and settles instead of deleting blindly.
    public static func seed(for name: String, tag: String) -> TempNames {
        let pid = getpid()
        return TempNames(fresh: { () throws(SystemError) in ".\(name).tmp.\(pid).\(tag)" }, freshIsOurs: true,
                         intent: { ".\(name).tmp.\(pid).x\($0.hex)" })
    }

    /// The current harness's `.aft-tmp-<32 hex>` (CONTRACT §7.5), which it and its readers
    /// treat as a temp: `random` draws the fresh names; a step's name is the intent's hex,
    /// the same shape.
    public static func harness(random: @escaping @Sendable () throws(SystemError) -> String) -> TempNames {
        TempNames(fresh: random, freshIsOurs: false, intent: { harnessPrefix + $0.hex })
    }

    public static let harnessPrefix = ".aft-tmp-"

    /// The target and intent of a seed-family step temp (`.<name>.tmp.<pid>.x<32 hex>`); nil
    /// for any other name, including the fresh temps.
    public static func seedIntent(_ tempName: String) -> (target: String, intent: ExchangeIntent)? {
        guard tempName.hasPrefix(".") else { return nil }
        let parts = tempName.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 3] == "tmp", Int32(parts[parts.count - 2]) != nil,
              let last = parts.last, last.first == "x", let intent = ExchangeIntent(hex: last.dropFirst()) else { return nil }
        let target = parts[..<(parts.count - 3)].joined(separator: ".")
        guard !target.isEmpty else { return nil }
        return (target, intent)
    }

    /// Whether `tempName` is an exchange step of this very process. The stray-temp rule may
    /// settle such a temp at once whatever our pid's liveness says: it looks at a session only
    /// once every bundle of that session is done, so no replace of ours is still in flight
    /// there (one left behind: a put-back that gave up, or whose temp could not be removed).
    public static func isOwnStep(_ tempName: String) -> Bool {
        guard seedIntent(tempName) != nil else { return false }
        let parts = tempName.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 3 && Int32(parts[parts.count - 2]) == getpid()
    }

    /// The intent of a harness-family name (`.aft-tmp-<32 hex>`). Every such name parses,
    /// including the harness's own random temps: settling one whose digests match nothing
    /// is a plain removal, so that is harmless.
    public static func harnessIntent(_ tempName: String) -> ExchangeIntent? {
        guard tempName.hasPrefix(harnessPrefix) else { return nil }
        return ExchangeIntent(hex: tempName.dropFirst(harnessPrefix.count))
    }
}
