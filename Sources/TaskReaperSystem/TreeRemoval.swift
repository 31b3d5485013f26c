#if canImport(Glibc)
import Glibc
#endif

/// Depth-first removal of what a directory holds, relative to directory fds only, as
/// systemd-tmpfiles removes trees: a symbolic link is unlinked itself and never followed,
/// a subdirectory is opened `O_NOFOLLOW` and emptied through that fd, nothing on another
/// file system (a bind mount placed in the tree) is entered, and the depth is bounded so
/// a hostile tree can neither exhaust our descriptors nor recurse without end.
/// Entries that vanish while we work (ENOENT) are fine: someone else removed them.
struct TreeRemoval {
    /// A task tree is 3 levels deep (`io/.sandbox-tmp-*/file`); a sandboxed command's temp
    /// files may nest further. Past this the tree is not the harness's: stop and report.
    static let depthLimit = 16

    /// The file system the removal stays on: the tombstone's.
    let device: UInt64
    private(set) var filesRemoved = 0
    private(set) var directoriesRemoved = 0

    init(device: UInt64) {
        self.device = device
    }

    /// Removes every entry of `directory` (which is at `depth` below the removal's root),
    /// in `order` (the listing's names, rearranged); the directory itself stays.
    mutating func removeContents(of directory: DirectoryHandle, depth: Int,
                                 order: ([FileName]) -> [FileName] = { $0 }) throws(SystemError) {
        for name in order(try directory.entries().map(\.name)) {
            try remove(name, in: directory, depth: depth)
        }
    }

    /// Removes one entry of `parent`: anything but a directory is unlinked (a link itself,
    /// never its target); a directory is emptied, then removed.
    mutating func remove(_ name: FileName, in parent: DirectoryHandle, depth: Int) throws(SystemError) {
        // Unlink first: no stat needed for the common case (files), and unlinkat cannot
        // follow anything. Linux answers EISDIR for a directory (POSIX allows EPERM).
        if name.withCName({ unlinkat(parent.fd, $0, 0) }) == 0 {
            filesRemoved += 1
            return
        }
        let unlinkError = SystemError("unlink", parent.childPath(name))
        switch unlinkError.errno {
        case ENOENT: return
        case EISDIR, EPERM: break
        default: throw unlinkError
        }
        guard let directory = try openSubdirectory(name, in: parent, depth: depth + 1) else {
            // Gone, or not a directory after all: swapped for a file or link meanwhile (one
            // more unlink takes it), or EPERM was real (an immutable file: that unlink fails too).
            guard name.withCName({ unlinkat(parent.fd, $0, 0) }) == 0 else {
                if errno == ENOENT { return }
                throw SystemError("unlink", parent.childPath(name))
            }
            filesRemoved += 1
            return
        }
        try removeContents(of: directory, depth: depth + 1)
        try removeEmptyDirectory(name, in: parent)
    }

    /// rmdir; gone already is fine. Anything else (ENOTEMPTY: refilled while we worked) is
    /// an error: the caller's next pass retries.
    mutating func removeEmptyDirectory(_ name: FileName, in parent: DirectoryHandle) throws(SystemError) {
        guard name.withCName({ unlinkat(parent.fd, $0, AT_REMOVEDIR) }) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("rmdir", parent.childPath(name))
        }
        directoriesRemoved += 1
    }

    /// `name` opened as a directory at `depth`, nil when it is absent or not a directory
    /// (a symbolic link to one included). Throws past the depth limit or on another file system.
    func openSubdirectory(_ name: FileName, in parent: DirectoryHandle, depth: Int) throws(SystemError) -> DirectoryHandle? {
        guard depth <= Self.depthLimit else {
            throw SystemError("remove (nested deeper than \(Self.depthLimit) directories)", parent.childPath(name), errno: ELOOP)
        }
        let directory: DirectoryHandle
        do { directory = try parent.openDirectory(name) } catch {
            switch error.errno {
            case ENOENT, ENOTDIR, ELOOP: return nil
            default: throw error
            }
        }
        guard try directory.status().device == device else {
            // A mount point: rmdir would fail with EBUSY anyway, but emptying it first would
            // wipe whatever file system was mounted there.
            throw SystemError("remove (a mount point)", directory.path, errno: EXDEV)
        }
        return directory
    }
}
