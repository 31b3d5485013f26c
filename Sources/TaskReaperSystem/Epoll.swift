#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// One epoll set: the watcher's single wait point (inotify, signals, pidfds).
public final class Epoll {
    public let fd: Int32

    public init() throws(SystemError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError("epoll_create1", "(epoll)") }
    }

    deinit { close(fd) }

    /// Level-triggered readability of `descriptor`, reported with `token`.
    public func add(_ descriptor: Int32, token: UInt64) throws(SystemError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = token
        guard epoll_ctl(fd, EPOLL_CTL_ADD, descriptor, &event) == 0 else { throw SystemError("epoll_ctl add", "fd \(descriptor)") }
    }

    public func remove(_ descriptor: Int32) {
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, nil)
    }

    /// Tokens of the ready descriptors; empty on timeout or EINTR. -1 waits forever.
    public func wait(timeoutMs: Int32, capacity: Int = 64) -> [UInt64] {
        var events = [epoll_event](repeating: epoll_event(), count: capacity)
        let n = epoll_wait(fd, &events, Int32(capacity), timeoutMs)
        guard n > 0 else { return [] }
        return events[0..<Int(n)].map { $0.data.u64 }
    }
}

/// Signals delivered as readable data instead of handlers: the loop sees them in order
/// with everything else, and an action in progress is never interrupted.
public final class SignalChannel {
    public let fd: Int32

    /// Blocks `signals` for this thread (call before other threads start, so they inherit it).
    public init(_ signals: [Int32]) throws(SystemError) {
        var set = sigset_t()
        _ = signals.withUnsafeBufferPointer { taskreaper_block_signals($0.baseAddress, Int32($0.count), &set) }
        fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd", "(signals)") }
    }

    deinit { close(fd) }

    public func read() -> [Int32] {
        var result: [Int32] = []
        var info = signalfd_siginfo()
        while Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            result.append(Int32(info.ssi_signo))
        }
        return result
    }
}

/// A pidfd: readable when the process exits (becomes a zombie or is reaped).
public enum PidFD {
    /// nil when the process no longer exists.
    public static func open(_ pid: pid_t) -> Int32? {
        let fd = pidfd_open(pid, 0)
        return fd >= 0 ? fd : nil
    }
}
