#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import TaskReaperCore

/// sd_notify(3) to the service manager when NOTIFY_SOCKET is set (a no-op otherwise).
public struct SystemdNotifier: Sendable {
    public init() {}

    public func notify(_ state: String) { _ = sd_notify(0, state) }

    /// Half of WATCHDOG_USEC when the manager asked for pings (for this pid), else nil.
    public func watchdogInterval() -> Millis? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return max(1, usec / 2 / 1000)
    }
}
