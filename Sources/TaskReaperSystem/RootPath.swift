#if canImport(Glibc)
import Glibc
#endif

/// Path arithmetic for roots that may not exist yet (`watch` waits for them): which
/// directory to watch until they appear. Only ever asked of operator-given root paths.
public enum RootPath {
    /// Components of an absolute path ("/a/b/" -> ["a", "b"]).
    public static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    public static func join(_ components: some Collection<String>) -> String {
        "/" + components.joined(separator: "/")
    }

    /// A directory now (following links, as the operator's layout does).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The deepest existing directory on the way to `path`, at most its parent: the place
    /// whose inotify watch says when the next component (and in the end the root) appears.
    /// "/" always exists; nil only for "/" itself (no parent).
    public static func watchPoint(for path: String) -> String? {
        let parts = components(path)
        guard !parts.isEmpty else { return nil }
        var depth = parts.count - 1
        while depth > 0, !isDirectory(join(parts.prefix(depth))) { depth -= 1 }
        return join(parts.prefix(depth))
    }

    /// Why `path` can never become a root to wait for: nil when it is a directory or does
    /// not exist yet (ENOENT, possibly several levels up); else the error text.
    public static func unusableReason(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR ? nil : "not a directory" }
        return errno == ENOENT ? nil : String(cString: strerror(errno))
    }
}

extension Inotify {
    /// The watch point of a root (its parent, or the nearest existing ancestor while the
    /// parent is missing): names appearing and going, and the directory itself going away
    /// (then the roots waiting on it look for a new watch point).
    public static let ancestorMask = parentMask | UInt32(IN_DELETE_SELF | IN_MOVE_SELF)
}
