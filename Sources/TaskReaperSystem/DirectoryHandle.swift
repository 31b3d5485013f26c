#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// An open directory, and every file operation relative to it, as systemd-tmpfiles does:
/// no path is ever re-resolved, and no symbolic link is ever followed below the root
/// (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `unlinkat` removes a link itself). `path` is
/// only for messages. Thread-safe: the fd is never repositioned (listings open their own).
public final class DirectoryHandle: Sendable {
    public let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens a storage root as the operator named it. Symbolic links in the root's own
    /// path are the operator's choice and are followed; nothing below it ever is.
    public static func open(root path: String) throws(SystemError) -> DirectoryHandle {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        return DirectoryHandle(fd: fd, path: path)
    }

    /// A path for messages: this directory's and the name's escaped form (`FileName`).
    public func childPath(_ name: FileName) -> String { path.hasSuffix("/") ? path + name.escaped : path + "/" + name.escaped }

    /// A subdirectory; fails with ELOOP when `name` is a symbolic link, ENOTDIR when not a directory.
    public func openDirectory(_ name: FileName) throws(SystemError) -> DirectoryHandle {
        try Self.requireOneEntryBytes(name, in: self)
        let child = name.withCName { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard child >= 0 else { throw SystemError("open", childPath(name)) }
        return DirectoryHandle(fd: child, path: childPath(name))
    }

    /// Every name except `.` and `..`.
    public func entries() throws(SystemError) -> [DirectoryEntry] {
        // A fresh open file description: readdir moves the offset, and handles are shared.
        let listFD = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listFD >= 0 else { throw SystemError("open", path) }
        guard let dir = fdopendir(listFD) else {
            let error = SystemError("opendir", path)
            close(listFD)
            throw error
        }
        defer { closedir(dir) }
        var result: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("readdir", path) }
                return result
            }
            let listed = withUnsafeBytes(of: entry.pointee.d_name) { raw -> DirectoryEntry? in
                let name = raw.prefix(while: { $0 != 0 })
                // `.` and `..` by their bytes, before any String is made.
                if name.count <= 2, name.allSatisfy({ $0 == UInt8(ascii: ".") }) { return nil }
                return DirectoryEntry(rawName: name, direntType: entry.pointee.d_type)
            }
            if let listed { result.append(listed) }
        }
    }

    /// `nil` when the entry does not exist.
    public func status(_ name: FileName) throws(SystemError) -> FileStatus? {
        try Self.requireOneEntryBytes(name, in: self)
        guard let status = FileStatus.of(fd, name) else {
            if errno == ENOENT { return nil }
            throw SystemError("stat", childPath(name))
        }
        return status
    }

    /// The directory's path as the kernel sees it now: absolute, no symbolic links; in the
    /// escaped form of `FileName` (for messages).
    public func realPath() throws(SystemError) -> String {
        FileName.escapePath(try realPathBytes())
    }

    /// The same path as the kernel's bytes (to hand to another library that opens it).
    public func realPathBytes() throws(SystemError) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { throw SystemError("readlink", path) }
        return buffer[..<count].map { UInt8(bitPattern: $0) }
    }

    public func status() throws(SystemError) -> FileStatus {
        guard let status = FileStatus.of(fd, nil) else { throw SystemError("stat", path) }
        return status
    }

    public enum ReadResult: Equatable, Sendable {
        case contents([UInt8], FileStatus)
        case absent
        /// A symbolic link, directory, FIFO, device...: never opened for reading.
        case notRegular(FileStatus.Kind)
        case tooLarge(Int64)
    }

    /// Reads a whole regular file without following links and without blocking on a FIFO.
    /// The status comes from the opened file, so it describes exactly the bytes returned.
    public func read(_ name: FileName, limit: Int) throws(SystemError) -> ReadResult {
        try Self.requireOneEntryBytes(name, in: self)
        let file = name.withCName { openat(fd, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        if file < 0 {
            switch errno {
            case ENOENT: return .absent
            case ELOOP: return .notRegular(.symlink)
            default:
                // A socket cannot be opened at all (ENXIO), nor a device without a driver:
                // like a FIFO or a directory, that is "not a regular file", not a failure.
                let error = SystemError("open", childPath(name))
                if let status = try? status(name), status.kind != .regular { return .notRegular(status.kind) }
                throw error
            }
        }
        defer { close(file) }
        guard let status = FileStatus.of(file, nil) else { throw SystemError("stat", childPath(name)) }
        guard status.kind == .regular else { return .notRegular(status.kind) }
        guard status.size <= Int64(limit) else { return .tooLarge(status.size) }
        var bytes = [UInt8](repeating: 0, count: Int(status.size) + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: 4096)) }
            let n = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(file, raw.baseAddress! + filled, raw.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", childPath(name))
            }
            if n == 0 { break }
            filled += n
            guard filled <= limit else { return .tooLarge(Int64(filled)) }
            // Every byte the status counts, and the read stopped short of the spare byte: the
            // file ended there (a file grown since would have filled it), so the read(2) that
            // would only say EOF is saved (one syscall per task record, issue 14). A file whose
            // status says 0 bytes (procfs and the like) is still read until EOF.
            if filled == Int(status.size), filled < bytes.count { break }
        }
        bytes.removeSubrange(filled...)
        return .contents(bytes, status)
    }

    /// Removes a file or a symbolic link itself. `false` when it was already gone.
    @discardableResult
    public func unlink(_ name: FileName) throws(SystemError) -> Bool {
        try Self.requireOneEntryBytes(name, in: self)
        guard name.withCName({ unlinkat(fd, $0, 0) }) == 0 else {
            if errno == ENOENT { return false }
            throw SystemError("unlink", childPath(name))
        }
        return true
    }

    /// unlinkat for cleanup paths whose failure changes nothing (a temp already gone, or
    /// left for the stray-temp rule).
    func unlinkQuietly(_ name: FileName) {
        _ = name.withCName { unlinkat(fd, $0, 0) }
    }

    public enum RemoveDirectoryResult: Equatable, Sendable { case removed, notEmpty, absent }

    /// rmdir: a directory the harness refilled (ENOTEMPTY) or removed (ENOENT) is fine.
    public func removeDirectory(_ name: FileName) throws(SystemError) -> RemoveDirectoryResult {
        try Self.requireOneEntryBytes(name, in: self)
        guard name.withCName({ unlinkat(fd, $0, AT_REMOVEDIR) }) == 0 else {
            switch errno {
            case ENOTEMPTY, EEXIST: return .notEmpty
            case ENOENT: return .absent
            default: throw SystemError("rmdir", childPath(name))
            }
        }
        return .removed
    }

    /// Creates `name` as a directory if it is not one yet; a symbolic link there is an error.
    /// `ownedLike`: when we are root, a directory we create gets that owner, so a
    /// system-wide run never leaves root-owned directories in a user's tree.
    public func makeDirectory(_ name: FileName, mode: mode_t = 0o755, ownedLike owner: FileStatus? = nil) throws(SystemError) -> DirectoryHandle {
        try Self.requireOneEntryBytes(name, in: self)
        var created = true
        if name.withCName({ mkdirat(fd, $0, mode) }) != 0 {
            guard errno == EEXIST else { throw SystemError("mkdir", childPath(name)) }
            created = false
        }
        let directory = try openDirectory(name)
        if created, let owner, geteuid() == 0, owner.owner != 0 || owner.group != 0 {
            guard fchown(directory.fd, owner.owner, owner.group) == 0 else { throw SystemError("chown", directory.path) }
        }
        return directory
    }

    /// rename(2) within or across directories of one file system; replaces the target.
    public func rename(_ name: FileName, to target: FileName, in targetDirectory: DirectoryHandle? = nil) throws(SystemError) {
        try Self.requireOneEntryBytes(name, in: self)
        try Self.requireOneEntryBytes(target, in: targetDirectory ?? self)
        let targetFD = targetDirectory?.fd ?? fd
        guard name.withCName({ from in target.withCName { renameat(fd, from, targetFD, $0) } }) == 0 else {
            throw SystemError("rename", childPath(name) + " -> " + (targetDirectory ?? self).childPath(target))
        }
    }

    /// Gives `name` a second name `target` only if `target` does not exist (linkat fails with
    /// EEXIST): the atomic "create if absent" that a plain rename cannot express. Returns
    /// false when the target exists.
    public func link(_ name: FileName, to target: FileName, in targetDirectory: DirectoryHandle? = nil) throws(SystemError) -> Bool {
        try Self.requireOneEntryBytes(name, in: self)
        try Self.requireOneEntryBytes(target, in: targetDirectory ?? self)
        let targetFD = targetDirectory?.fd ?? fd
        guard name.withCName({ from in target.withCName { linkat(fd, from, targetFD, $0, 0) } }) == 0 else {
            if errno == EEXIST { return false }
            throw SystemError("link", childPath(name) + " -> " + (targetDirectory ?? self).childPath(target))
        }
        return true
    }

    /// An exclusive, non-blocking `flock` on the directory itself: mutual exclusion between
    /// sweeps without writing a lock file into the tree. Released when the handle closes.
    public func tryLock() throws(SystemError) -> Bool {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            if errno == EWOULDBLOCK { return false }
            throw SystemError("flock", path)
        }
        return true
    }
}
