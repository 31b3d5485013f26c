/// Unix time or a duration in milliseconds: the harness's unit for every timestamp.
public typealias Millis = UInt64

extension Millis {
    public static let second: Millis = 1_000
    public static let minute: Millis = 60_000
    public static let hour: Millis = 3_600_000
    public static let day: Millis = 86_400_000
}

/// `now - then`, never negative: an mtime from the future (clock step) counts as age 0.
@inlinable
public func age(of then: Millis, at now: Millis) -> Millis { now > then ? now - then : 0 }

extension Millis {
    /// `self + other`, pinned at `.max` instead of trapping: times and durations come from
    /// untrusted files (a started_at near 2^64, a far-future mtime) and must never crash a pass.
    @inlinable
    public func saturatingAdd(_ other: Millis) -> Millis {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
