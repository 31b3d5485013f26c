/// Times for people and for `--json`: RFC 3339 timestamps in UTC with milliseconds, and
/// short spans (`42s`, `42m`, `5h`, `3d`) for tables and console lines.
public enum TimeText {
    /// `2026-11-26T13:34:19.163Z`. Pure arithmetic (days to civil date, H. Hinnant's
    /// algorithm): no locale, no time zone database, no Foundation.
    public static func rfc3339(_ unixMs: Millis) -> String {
        let ms = unixMs % 1_000
        let seconds = unixMs / 1_000
        let days = Int64(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        let (year, month, day) = civil(fromDays: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(Int(ms), 3))Z"
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, Int(m), Int(d))
    }

    private static func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// One unit, the largest that keeps the number meaningful: seconds below a minute,
    /// minutes below an hour, hours below two days, then days. `roundUp` for a time still
    /// to come ("in 42m" never says less than is left), down for an age ("2h ago").
    public static func short(_ span: Millis, roundUp: Bool = false) -> String {
        func count(_ unit: Millis) -> Millis { roundUp ? span.adding(unit - 1) / unit : span / unit }
        if span < .minute { return "\(count(.second))s" }
        if span < .hour { return "\(count(.minute))m" }
        if span < 48 * .hour { return "\(count(.hour))h" }
        return "\(count(.day))d"
    }
}
