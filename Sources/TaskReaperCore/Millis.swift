/// Unix time or a duration in milliseconds: the harness's unit for every timestamp.
public typealias Millis = UInt64

extension Millis {
    public static let second: Millis = 1_000
    public static let minute: Millis = 60_000
    public static let hour: Millis = 3_600_000
    public static let day: Millis = 86_400_000

    /// `self + other`, saturating at `Millis.max`. Every sum of times goes through here:
    /// a `started_at`, `timeout_ms` or mtime is untrusted input (a JSON may say 2^64 - 1,
    /// tmpfs keeps 64-bit times), and a trapping `+` on one of them would kill the whole
    /// pass at that file. A deadline that saturates simply never comes.
    @inlinable
    public func adding(_ other: Millis) -> Millis {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    /// A `timespec` (seconds and nanoseconds since the epoch, as stat and clock_gettime
    /// give them) in Unix ms: before 1970 clamps to 0, beyond `Millis.max` to `Millis.max`.
    /// Any 64-bit value is possible (utimensat on tmpfs), so nothing here may trap.
    @inlinable
    public init(seconds: Int64, nanoseconds: Int64) {
        guard seconds >= 0 else { self = 0; return }
        let (whole, overflow) = Millis(seconds).multipliedReportingOverflow(by: 1_000)
        // The kernel keeps tv_nsec in 0..<1e9; clamp anyway, it is someone's input.
        let fraction = Millis(Swift.min(Swift.max(nanoseconds, 0), 999_999_999) / 1_000_000)
        self = overflow ? .max : whole.adding(fraction)
    }

    /// `|self - other|`: how far apart two moments are, whichever came first.
    @inlinable
    public func distance(to other: Millis) -> Millis { self > other ? self - other : other - self }
}

/// `now - then`, never negative: an mtime from the future (clock step) counts as age 0.
@inlinable
public func age(of then: Millis, at now: Millis) -> Millis { now > then ? now - then : 0 }
