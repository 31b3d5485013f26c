#if canImport(Glibc)
import Glibc
#endif

/// Whether this process may create, rename or unlink an entry of a directory: what a dry
/// run checks so it never promises what the real run would fail to do (README "Dry run").
/// By path, with the effective ids (AT_EACCESS): a dry run reports, it does not race.
public enum WriteAccess {
    /// nil when `path`'s directory lets us change `path`; else why not (`no write permission
    /// on /r/...: Permission denied`, a read-only file system, a sticky directory).
    /// `path` is a report's path: in the escaped form of `FileName`, whose bytes are used.
    public static func problem(changing path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        let parentBytes = FileName(escaped: parent).bytes
        if withPath(parentBytes, { faccessat(AT_FDCWD, $0, W_OK | X_OK, AT_EACCESS) }) != 0 {
            return "no write permission on \(parent): \(String(cString: strerror(errno)))"
        }
        // A sticky directory (mode +t): only the entry's owner, the directory's owner or
        // root may remove or rename an entry.
        var directory = stat()
        guard withPath(parentBytes, { lstat($0, &directory) }) == 0, directory.st_mode & S_ISVTX != 0 else { return nil }
        let me = geteuid()
        if me == 0 || directory.st_uid == me { return nil }
        var entry = stat()
        if withPath(FileName(escaped: path).bytes, { lstat($0, &entry) }) == 0, entry.st_uid != me {
            return "\(parent) is sticky and \(path) belongs to uid \(entry.st_uid): only its owner may remove or replace it"
        }
        return nil
    }

    private static func withPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }
}
