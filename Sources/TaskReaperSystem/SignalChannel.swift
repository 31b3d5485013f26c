#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Signals delivered as readable data instead of handlers: the loop sees them in order
/// with everything else, and an action in progress is never interrupted.
public final class SignalChannel {
    public let fd: Int32

    /// The signals `watch` handles: stop (TERM, INT) and rescan (HUP).
    public enum Kind: Sendable { case stop, rescan }

    /// Blocks SIGTERM, SIGINT and SIGHUP for this thread (create it before other threads
    /// start, so they inherit the mask and these only ever arrive here).
    public init() throws(SystemError) {
        let signals = [SIGTERM, SIGINT, SIGHUP]
        var set = sigset_t()
        _ = signals.withUnsafeBufferPointer { taskreaper_block_signals($0.baseAddress, Int32($0.count), &set) }
        fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError("signalfd", "(signals)") }
    }

    deinit { close(fd) }

    /// Everything queued now, in order.
    public func read() -> [Kind] {
        var result: [Kind] = []
        var info = signalfd_siginfo()
        while Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            result.append(Int32(info.ssi_signo) == SIGHUP ? .rescan : .stop)
        }
        return result
    }

    /// A stop request is waiting (blocked, not yet read): long work checks this between
    /// items, from any thread, so SIGTERM during a big pass is honoured at once.
    public static var stopPending: Bool {
        taskreaper_signal_pending(SIGTERM) != 0 || taskreaper_signal_pending(SIGINT) != 0
    }
}
