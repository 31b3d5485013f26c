#if canImport(Glibc)
import Glibc
#endif

/// Whether something exists at an operator-given path (a root that may not exist yet).
/// Only ever asked of roots: below a root every access goes through a DirectoryHandle.
public enum PathProbe {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }
}
