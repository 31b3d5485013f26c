/// Parses and formats the CLI's durations: an integer with unit `ms`, `s`, `m`, `h` or `d`,
/// or `0` alone. No fractions, no combinations: one obvious spelling per value.
public enum DurationText {
    /// The longest duration accepted: 100 years. Every duration is added to a Unix-ms time
    /// (a deadline: now + retention, started_at + stale-after...); below this bound such a
    /// sum of a real clock and a flag can never come near 2^64, and a longer policy means
    /// nothing anyway. Larger values are a usage error, not a silent clamp.
    public static let maximum: Millis = 36_500 * .day

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let text: String
        /// Well-formed, but longer than `maximum`.
        public var outOfRange = false
        public var description: String {
            outOfRange
                ? "duration '\(text)' is out of range: at most \(DurationText.format(DurationText.maximum)) (100 years)"
                : "invalid duration '\(text)': expected an integer with unit ms, s, m, h or d (e.g. 5s, 30m, 24h), or 0"
        }
    }

    public static func parse(_ text: String) throws(Invalid) -> Millis {
        if text == "0" { return 0 }
        let units: [(suffix: String, scale: Millis)] = [("ms", 1), ("s", .second), ("m", .minute), ("h", .hour), ("d", .day)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let digits = text.dropLast(unit.suffix.count)
            // "5ms" also ends in "s": only accept when the rest is all digits.
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { continue }
            guard let value = Millis(digits) else { throw Invalid(text: text, outOfRange: true) }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.scale)
            guard !overflow, product <= maximum else { throw Invalid(text: text, outOfRange: true) }
            return product
        }
        throw Invalid(text: text)
    }

    /// The largest unit that divides the value exactly, except that whole hours up to 48
    /// stay in hours, so the default stale-after reads "24h" as in the contract's
    /// "orphaned (>24h)".
    public static func format(_ value: Millis) -> String {
        if value == 0 { return "0" }
        if value % .hour == 0, value <= 48 * .hour { return "\(value / .hour)h" }
        if value % .day == 0 { return "\(value / .day)d" }
        if value % .hour == 0 { return "\(value / .hour)h" }
        if value % .minute == 0 { return "\(value / .minute)m" }
        if value % .second == 0 { return "\(value / .second)s" }
        return "\(value)ms"
    }
}
