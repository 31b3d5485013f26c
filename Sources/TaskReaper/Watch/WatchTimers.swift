import TaskReaperCore

/// The watcher's own clocks, apart from the work queue's deadlines: the systemd watchdog,
/// the safety rescan, and STATUS= at most once a second (every message is a datagram the
/// manager must read, and sd_notify blocks when its queue is full).
struct WatchTimers {
    var startedAt: Millis = 0
    private var watchdogAt: Millis?
    private var safetyRescanAt: Millis?
    private var statusDueAt: Millis?
    private var statusSentAt: Millis = 0

    mutating func start(now: Millis, watchdog: Millis?, rescanInterval: Threshold) {
        watchdogAt = watchdog.map { now.adding($0) }
        safetyRescanAt = rescanInterval.deadline(from: now)
    }

    /// The earliest of these timers.
    var next: Millis? { [watchdogAt, safetyRescanAt, statusDueAt].compactMap { $0 }.min() }

    mutating func watchdogDue(now: Millis, interval: Millis?) -> Bool {
        guard let at = watchdogAt, at <= now, let interval else { return false }
        watchdogAt = now.adding(interval)
        return true
    }

    mutating func safetyRescanDue(now: Millis, interval: Threshold) -> Bool {
        guard let at = safetyRescanAt, at <= now else { return false }
        safetyRescanAt = interval.deadline(from: now)
        return true
    }

    /// Something changed: send a STATUS= once a second has passed since the last one.
    mutating func statusChanged(now: Millis) {
        if statusDueAt == nil { statusDueAt = max(now, statusSentAt.adding(.second)) }
    }

    mutating func statusSent(at now: Millis) {
        statusSentAt = now
        statusDueAt = nil
    }

    mutating func statusDue(now: Millis) -> Bool {
        guard let at = statusDueAt, at <= now else { return false }
        statusSent(at: now)
        return true
    }
}
