#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// Milliseconds that only go forward (CLOCK_MONOTONIC): for waits and short-lived caches,
/// which a wall-clock step (NTP, an operator's `date -s`) must not stretch or cut.
public enum MonotonicClock {
    public static func now() -> Millis {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return WallClock.millis(ts)
    }
}
