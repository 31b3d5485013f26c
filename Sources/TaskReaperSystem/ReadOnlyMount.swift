#if canImport(Glibc)
import Glibc
#endif

/// Whether a directory we opened sits on a read-only mount (fstatvfs ST_RDONLY). Under
/// systemd's ProtectSystem=strict everything outside ReadWritePaths= is such a mount, and
/// ReadWritePaths= are bound when the service starts: a root that appears later (or is
/// deleted and made again, which takes its bind mount with it) is read-only for the
/// service until it restarts.
public enum ReadOnlyMount {
    public static func contains(_ directory: DirectoryHandle) -> Bool {
        var st = statvfs()
        return fstatvfs(directory.fd, &st) == 0 && st.f_flag & UInt(ST_RDONLY) != 0
    }

    /// Run by systemd as a service (it sets $INVOCATION_ID for every unit it starts): a
    /// restart gives the service a fresh mount namespace.
    public static var underSystemd: Bool {
        guard let id = getenv("INVOCATION_ID") else { return false }
        return id.pointee != 0
    }
}
