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
