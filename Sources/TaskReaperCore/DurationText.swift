/// Parses and formats the operator's durations in systemd's time-span syntax
/// (systemd.time(7), "PARSING TIME SPANS"), with the same meaning as `systemd-analyze
/// timespan`: values with units added up, spaces optional (`1h 30min`, `1h30min`, `2d12h`),
/// decimal fractions (`1.5h`), a number without a unit counts as seconds, and `infinity`
/// alone means "off". Units (case-sensitive, longest name first, as systemd matches them):
///
///     usec us µs μs | msec ms | seconds second sec s | minutes minute min m
///     hours hour hr h | days day d | weeks week w | months month M (30.44 d)
///     years year y (365.25 d)
///
/// taskreaper counts in milliseconds: a span that is not a whole number of milliseconds is
/// rounded up (`500us` is 1 ms), so no positive span becomes the immediate value `0`.
public enum DurationText {
    /// The longest duration accepted: 100 years. Every duration is added to a Unix-ms time
    /// (a deadline: now + retention, started_at + stale-after...); below this bound such a
    /// sum of a real clock and a setting can never come near 2^64, and a longer policy means
    /// nothing anyway (write `infinity`). Larger values are a usage error, not a silent clamp.
    public static let maximum: Millis = 36_500 * .day

    /// What the CLI and the configuration accept, for error messages.
    public static let acceptedForms =
        "a time span as in systemd.time(7): numbers with units added up (us, ms, s, min, h, d, w, M = 30.44d, y = 365.25d, "
        + "or their long names: 90s, 5min, 1h 30min, 2d12h, 1.5h, 1w), a bare number of seconds, 0 for at once, or infinity for off"

    public struct Invalid: Error, CustomStringConvertible, Sendable, Equatable {
        public enum Problem: Sendable, Equatable {
            case malformed
            case negative
            /// Well-formed, but longer than `maximum` (or than a setting's own bound).
            case outOfRange(maximum: Millis)
            /// `infinity` where a setting cannot be off.
            case infinityNotAllowed
        }

        public let text: String
        public let problem: Problem

        public init(text: String, problem: Problem) {
            self.text = text
            self.problem = problem
        }

        public var description: String {
            switch problem {
            case .malformed:
                return "invalid duration '\(text)': expected \(DurationText.acceptedForms)"
            case .negative:
                return "invalid duration '\(text)': a duration cannot be negative; expected \(DurationText.acceptedForms)"
            case .outOfRange(let maximum):
                let years = maximum == DurationText.maximum ? " (100 years; write infinity to turn the rule off)" : ""
                return "duration '\(text)' is out of range: at most \(DurationText.format(maximum))\(years)"
            case .infinityNotAllowed:
                return "invalid duration '\(text)': this setting cannot be infinity; expected a finite time span (e.g. 5s, 1min)"
            }
        }
    }

    /// systemd's unit table (time-util.c `extract_multiplier`), in its order: the first
    /// name the text starts with wins, so `ms` is milliseconds and `m` minutes, `M` months.
    private static let units: [(name: [UInt8], micros: UInt64)] = {
        let second: UInt64 = 1_000_000
        let table: [(String, UInt64)] = [
            ("seconds", second), ("second", second), ("sec", second), ("s", second),
            ("minutes", 60 * second), ("minute", 60 * second), ("min", 60 * second),
            ("months", 2_629_800 * second), ("month", 2_629_800 * second), ("M", 2_629_800 * second),
            ("msec", 1_000), ("ms", 1_000), ("m", 60 * second),
            ("hours", 3_600 * second), ("hour", 3_600 * second), ("hr", 3_600 * second), ("h", 3_600 * second),
            ("days", 86_400 * second), ("day", 86_400 * second), ("d", 86_400 * second),
            ("weeks", 604_800 * second), ("week", 604_800 * second), ("w", 604_800 * second),
            ("years", 31_557_600 * second), ("year", 31_557_600 * second), ("y", 31_557_600 * second),
            ("usec", 1), ("us", 1), ("µs", 1), ("μs", 1),
        ]
        return table.map { (Array($0.0.utf8), $0.1) }
    }()

    /// A time span, or `.never` for `infinity`; at most `maximum`.
    public static func parse(_ text: String) throws(Invalid) -> Threshold {
        let bytes = Array(text.utf8)
        let trimmed = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        if Array(trimmed) == Array("infinity".utf8) { return .never }
        let micros = try microseconds(bytes, text: text)
        // Whole milliseconds, rounded up.
        let (millis, remainder) = micros.quotientAndRemainder(dividingBy: 1_000)
        let value = remainder == 0 ? millis : millis + 1
        guard value <= maximum else { throw Invalid(text: text, problem: .outOfRange(maximum: maximum)) }
        return .after(value)
    }

    /// A span that must be finite (no `infinity`) and at most `limit`.
    public static func parseFinite(_ text: String, maximum limit: Millis = maximum) throws(Invalid) -> Millis {
        guard case .after(let value) = try parse(text) else { throw Invalid(text: text, problem: .infinityNotAllowed) }
        guard value <= limit else { throw Invalid(text: text, problem: .outOfRange(maximum: limit)) }
        return value
    }

    /// Whether the text is a zero without a unit (`0`, `00`, `0.0`): the spelling that
    /// used to switch `--stale-after` and `--abandoned-after` off.
    public static func isUnitlessZero(_ text: String) -> Bool {
        let core = text.utf8.filter { !isSpace($0) }
        return !core.isEmpty && core.allSatisfy { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ".") }
            && core.contains(UInt8(ascii: "0"))
    }

    /// systemd's `parse_time` with seconds as the default unit, in microseconds.
    private static func microseconds(_ p: [UInt8], text: String) throws(Invalid) -> UInt64 {
        var i = 0
        var total: UInt64 = 0
        var something = false
        let outOfRange = Invalid(text: text, problem: .outOfRange(maximum: maximum))
        let malformed = Invalid(text: text, problem: .malformed)
        while true {
            while i < p.count, isSpace(p[i]) { i += 1 }
            if i == p.count {
                guard something else { throw malformed }
                return total
            }
            if p[i] == UInt8(ascii: "-") { throw Invalid(text: text, problem: .negative) }
            if p[i] == UInt8(ascii: "+") { i += 1 }  // strtoll takes a sign
            // The integer part.
            let integerStart = i
            var integer: UInt64 = 0
            var integerOverflow = false
            while i < p.count, isDigit(p[i]) {
                let (times, o1) = integer.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(UInt64(p[i] - UInt8(ascii: "0")))
                integerOverflow = integerOverflow || o1 || o2
                integer = plus
                i += 1
            }
            var fraction: ArraySlice<UInt8> = []
            if i < p.count, p[i] == UInt8(ascii: ".") {
                let fractionStart = i + 1
                var j = fractionStart
                while j < p.count, isDigit(p[j]) { j += 1 }
                // "3." and "3.sec" are not numbers (systemd refuses them too).
                guard j > fractionStart else { throw malformed }
                fraction = p[fractionStart..<j]
                i = j
            } else if i == integerStart {
                throw malformed
            }
            if integerOverflow { throw outOfRange }
            // The unit, after optional spaces; none: seconds.
            var k = i
            while k < p.count, isSpace(p[k]) { k += 1 }
            var multiplier: UInt64 = 1_000_000
            var matched = false
            for unit in units where p.count - k >= unit.name.count && Array(p[k..<(k + unit.name.count)]) == unit.name {
                multiplier = unit.micros
                k += unit.name.count
                matched = true
                break
            }
            // "12.34.56": something that is neither a unit, a space nor the end.
            if !matched {
                if i < p.count, !isSpace(p[i]) { throw malformed }
            } else {
                i = k
            }
            let (whole, overflow) = integer.multipliedReportingOverflow(by: multiplier)
            if overflow { throw outOfRange }
            let (sum, sumOverflow) = total.addingReportingOverflow(whole)
            if sumOverflow || sum == .max { throw outOfRange }
            total = sum
            var digitValue = multiplier / 10
            for digit in fraction {
                total = total.adding(UInt64(digit - UInt8(ascii: "0")) * digitValue)
                if total == .max { throw outOfRange }
                digitValue /= 10
            }
            something = true
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// The largest unit that divides the value exactly, except that whole hours up to 48
    /// stay in hours, so the default stale-after reads "24h" as in the contract's
    /// "orphaned (>24h)". Every result parses back to the same value.
    public static func format(_ value: Millis) -> String {
        if value == 0 { return "0" }
        if value % .hour == 0, value <= 48 * .hour { return "\(value / .hour)h" }
        if value % .day == 0 { return "\(value / .day)d" }
        if value % .hour == 0 { return "\(value / .hour)h" }
        if value % .minute == 0 { return "\(value / .minute)min" }
        if value % .second == 0 { return "\(value / .second)s" }
        return "\(value)ms"
    }

    /// `format`, or `infinity` for a rule that is off.
    public static func format(_ threshold: Threshold) -> String {
        switch threshold {
        case .after(let value): return format(value)
        case .never: return "infinity"
        }
    }
}
