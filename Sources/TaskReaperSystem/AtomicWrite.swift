#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension DirectoryHandle {
    /// The temp name for our atomic write of `name`: the harness's own pattern
    /// (`.<name>.tmp.<writer_pid>.<id>`) with our pid, so it can never collide with the
    /// harness's temp, and a crash leaves a stray that the next pass recognises and removes.
    public static func temporaryName(for name: FileName, tag: String) -> FileName {
        FileName(escaped: ".\(name.escaped).tmp.\(getpid()).\(tag)")
    }

    public enum AtomicWriteResult: Equatable, Sendable {
        case written
        /// `shouldCommit` said no (the file changed under us): nothing was replaced.
        case abandoned
        /// `exclusive` was asked and `name` already existed: nothing was replaced.
        case targetExists
    }

    /// Writes `bytes` to a temp file beside `name`, fsyncs it, asks `shouldCommit` (the
    /// last-moment check that nobody rewrote the original since it was read), then renames
    /// it over `name` (or, with `exclusive`, links it there only if `name` is still absent).
    /// `like`: copy mode and, when we are root, ownership from the file being replaced, so
    /// a system-wide sweep never leaves root-owned files in a user's tree.
    /// A replace that must not lose a concurrent writer's version uses `replace(_:with:ifStill:)`
    /// (CheckedReplace.swift) instead: the check here leaves a window before the rename.
    public func writeAtomically(
        _ name: FileName, bytes: [UInt8], tag: String, like original: FileStatus? = nil,
        exclusive: Bool = false, shouldCommit: () throws(SystemError) -> Bool = { true }
    ) throws(SystemError) -> AtomicWriteResult {
        let temp = Self.temporaryName(for: name, tag: tag)
        close(try createTemp(temp, bytes: bytes, like: original, replacingLeftover: true))
        var committed = false
        defer {
            if !committed { unlinkQuietly(temp) }
        }
        guard try shouldCommit() else { return .abandoned }
        if exclusive {
            guard try link(temp, to: name) else { return .targetExists }
            committed = false  // the temp name still exists: the defer removes it
            return .written
        }
        try rename(temp, to: name)
        committed = true
        return .written
    }

    /// Creates `temp` (O_EXCL), writes `bytes`, copies mode and (as root) owner from
    /// `original`, fsyncs, and returns the open descriptor (the caller closes it). An existing
    /// `temp` is replaced when `replacingLeftover` (a name with our pid: left by an earlier
    /// process that had our pid), else EEXIST is thrown. On any failure the temp is removed.
    func createTemp(_ temp: FileName, bytes: [UInt8], like original: FileStatus?,
                    replacingLeftover: Bool) throws(SystemError) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        let mode = original.map { $0.mode & 0o777 } ?? 0o644
        var file = temp.withCName { openat(fd, $0, flags, mode) }
        if file < 0, errno == EEXIST, replacingLeftover {
            unlinkQuietly(temp)
            file = temp.withCName { openat(fd, $0, flags, mode) }
        }
        guard file >= 0 else { throw SystemError("create", childPath(temp)) }
        do throws(SystemError) {
            do { _ = try FileDescriptor(rawValue: file).writeAll(bytes) } catch {
                throw SystemError("write", childPath(temp), code: (error as? Errno) ?? .ioError)
            }
            if let original {
                // umask may have narrowed the create mode; match the original exactly.
                _ = fchmod(file, original.mode & 0o7777)
                if geteuid() == 0, original.owner != 0 || original.group != 0 {
                    guard fchown(file, original.owner, original.group) == 0 else { throw SystemError("chown", childPath(temp)) }
                }
            }
            guard fsync(file) == 0 else { throw SystemError("fsync", childPath(temp)) }
        } catch {
            close(file)
            unlinkQuietly(temp)
            throw error
        }
        return file
    }
}
