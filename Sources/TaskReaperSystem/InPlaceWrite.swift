#if canImport(Glibc)
import Glibc
#endif

/// Writing a marker into `io/exit` the way the harness and the task's wrapper do (formats
/// §4.1, CONTRACT §7.3): in place, through the file's own inode. The wrapper and the
/// harness hold open descriptors on that inode, so a rename or a fresh file would leave
/// them writing into a file nobody reads; a truncate could erase what they just wrote.
extension DirectoryHandle {
    public enum InPlaceWrite: Equatable, Sendable {
        case written
        case absent
        /// Someone (the wrapper, the harness) wrote first: their marker stands.
        case notEmpty
        /// Symbolic link, directory, FIFO, device...: never written (a device is never even opened).
        case notRegular(FileStatus.Kind)
        /// The harness refuses artifacts with more than one link; so do we.
        case multipleLinks
        /// Opened, but already unlinked (replaced or removed meanwhile): a write would be lost.
        case unlinked
    }

    /// Writes `bytes` at offset 0 of `name` only if it is a regular, empty file with exactly
    /// one link; fsyncs it. Never truncates, never creates, never renames.
    ///
    /// The only race left is a writer that writes between our fstat and our pwrite; callers
    /// write a marker only once the task's processes are gone (CONTRACT §7.3), so that writer
    /// can only be the harness itself, which does the same check-then-write.
    public func writeIntoEmptyFile(_ name: FileName, bytes: [UInt8]) throws(SystemError) -> InPlaceWrite {
        try Self.requireSingleName(name, in: self)
        // lstat first: opening a device node can have effects of its own (a tape rewinds,
        // a tty becomes a controlling terminal), so anything but a regular file stays closed.
        guard let before = try status(name) else { return .absent }
        guard before.kind == .regular else { return .notRegular(before.kind) }
        // O_NONBLOCK: should a FIFO have replaced the file since, open fails (ENXIO) or
        // returns at once instead of waiting for a reader.
        let file = name.withCName { openat(fd, $0, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        if file < 0 {
            switch errno {
            case ENOENT: return .absent
            case ELOOP: return .notRegular(.symlink)
            case EISDIR: return .notRegular(.directory)
            case ENXIO: return .notRegular(.other)
            default: throw SystemError("open", childPath(name))
            }
        }
        defer { close(file) }
        guard let opened = FileStatus.of(file, nil) else { throw SystemError("stat", childPath(name)) }
        guard opened.kind == .regular else { return .notRegular(opened.kind) }
        guard opened.links != 0 else { return .unlinked }
        guard opened.links == 1 else { return .multipleLinks }
        guard opened.size == 0 else { return .notEmpty }
        try Self.writeAll(file, bytes, path: childPath(name))
        guard fsync(file) == 0 else { throw SystemError("fsync", childPath(name)) }
        return .written
    }

    public enum ExclusiveCreate: Equatable, Sendable {
        case created
        /// Something already has that name (a file, a directory, a symbolic link even
        /// dangling): left untouched.
        case exists
    }

    /// Creates `name` with `bytes` only if nothing has that name (O_CREAT|O_EXCL|O_NOFOLLOW),
    /// for an `io/exit` that was never created. `mode` is applied exactly (the umask would
    /// narrow it). `ownedLike`: when we are root, the file gets that owner, so a harness
    /// running as the tree's user can still open it read-write (it does, to write markers).
    public func createExclusively(_ name: FileName, bytes: [UInt8], mode: mode_t = 0o600,
                                  ownedLike owner: FileStatus? = nil) throws(SystemError) -> ExclusiveCreate {
        try Self.requireSingleName(name, in: self)
        let file = name.withCName { openat(fd, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode) }
        if file < 0 {
            if errno == EEXIST { return .exists }
            throw SystemError("create", childPath(name))
        }
        var created: FileIdentity?
        do throws(SystemError) {
            defer { close(file) }
            guard let opened = FileStatus.of(file, nil) else { throw SystemError("stat", childPath(name)) }
            created = FileIdentity(opened)
            guard fchmod(file, mode & 0o7777) == 0 else { throw SystemError("chmod", childPath(name)) }
            if let owner, geteuid() == 0, owner.owner != 0 || owner.group != 0 {
                guard fchown(file, owner.owner, owner.group) == 0 else { throw SystemError("chown", childPath(name)) }
            }
            try Self.writeAll(file, bytes, path: childPath(name))
            guard fsync(file) == 0 else { throw SystemError("fsync", childPath(name)) }
        } catch {
            // A half-made marker would be read as one: remove it, but only if the name is
            // still the file we created.
            if let created, let now = try? status(name), FileIdentity(now) == created { unlinkQuietly(name) }
            throw error
        }
        // The new name must survive a crash too, not only the bytes.
        guard fsync(fd) == 0 else { throw SystemError("fsync", path) }
        return .created
    }

    /// pwrite from offset 0 until every byte is written (a regular file may write short).
    static func writeAll(_ file: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in pwrite(file, raw.baseAddress! + written, raw.count - written, off_t(written)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SystemError("write", path)
            }
            guard n > 0 else { throw SystemError("write", path, errno: EIO) }
            written += n
        }
    }
}
