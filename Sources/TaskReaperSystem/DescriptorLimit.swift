#if canImport(Glibc)
import Glibc
#endif

/// RLIMIT_NOFILE: `watch` holds a descriptor per pidfd and per client.
public enum DescriptorLimit {
    /// Lifts the soft limit to the hard one, as systemd recommends for daemons that
    /// select() nothing. Returns the soft limit in effect afterwards.
    @discardableResult
    public static func raiseSoftToHard() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
