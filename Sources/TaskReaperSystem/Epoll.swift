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
