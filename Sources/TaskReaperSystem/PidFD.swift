#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A pidfd: readable when the process exits (becomes a zombie or is reaped). Closed when
/// the value goes away, so a watch released is a descriptor returned.
public final class PidFD {
    public let fd: Int32
    public let pid: Int32

    private init(fd: Int32, pid: Int32) {
        self.fd = fd
        self.pid = pid
    }

    deinit { close(fd) }

    /// nil when the process no longer exists (ESRCH); other failures (EMFILE, ENFILE,
    /// ENOMEM) throw: the caller must degrade, not mistake them for an exit.
    public static func open(_ pid: Int32) throws(SystemError) -> PidFD? {
        guard pid > 0 else { return nil }
        let fd = pidfd_open(pid, 0)
        if fd >= 0 { return PidFD(fd: fd, pid: pid) }
        if errno == ESRCH || errno == EINVAL { return nil }
        throw SystemError("pidfd_open", "process \(pid)")
    }
}
