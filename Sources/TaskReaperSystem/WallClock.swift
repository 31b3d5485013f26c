#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// The only place that reads the real-time clock: Unix milliseconds, as the harness writes them.
public enum WallClock {
    public static func now() -> Millis {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return millis(ts)
    }

    /// A `stat` timestamp in Unix milliseconds: pre-1970 clamps to 0, a time past 2^64 ms
    /// (tmpfs stores any 64-bit tv_sec) to `Millis.max`.
    public static func millis(_ ts: timespec) -> Millis {
        Millis(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }
}
