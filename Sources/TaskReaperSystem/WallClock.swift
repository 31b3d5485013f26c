#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// The only place that reads the real-time clock: Unix milliseconds, as the harness writes them.
public enum WallClock {
    public static func now() -> Millis {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Millis(ts.tv_sec) * 1000 + Millis(ts.tv_nsec) / 1_000_000
    }

    /// A `stat` timestamp in Unix milliseconds (pre-1970 clamps to 0).
    public static func millis(_ ts: timespec) -> Millis {
        ts.tv_sec < 0 ? 0 : Millis(ts.tv_sec) * 1000 + Millis(ts.tv_nsec) / 1_000_000
    }
}
