#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A directory entry's file, held open by a checked replace. While it is held its inode
/// cannot be freed, so its number cannot come back as another file's: comparing numbers is
/// comparing files. Regular files are opened for reading (their content is compared);
/// anything else (a directory, link, FIFO, socket or device someone put there) only with
/// O_PATH, which has no side effect on the object and never blocks.
final class HeldFile {
    let fd: Int32
    let status: FileStatus

    private init(fd: Int32, status: FileStatus) {
        self.fd = fd
        self.status = status
    }

    deinit { close(fd) }

    var digest: FileDigest { FileDigest(status) }

    func isSameFile(as other: HeldFile) -> Bool {
        status.device == other.status.device && status.inode == other.status.inode
    }

    /// nil when `name` does not exist.
    static func open(_ name: FileName, in directory: DirectoryHandle) throws(SystemError) -> HeldFile? {
        guard let kind = try directory.status(name)?.kind else { return nil }
        let fd = name.withCName { cName in
            kind == .regular ? openat(directory.fd, cName, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)
                : taskreaper_open_path(directory.fd, cName)
        }
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SystemError("open", directory.childPath(name))
        }
        guard let status = FileStatus.of(fd, nil) else {
            let error = SystemError("stat", directory.childPath(name))
            close(fd)
            throw error
        }
        return HeldFile(fd: fd, status: status)
    }

    /// Whether the file holds exactly `bytes` now (read from offset 0, whatever the size
    /// said a moment ago). Only a regular file opened for reading can.
    func contentEquals(_ bytes: [UInt8]) -> Bool {
        guard status.kind == .regular else { return false }
        var buffer = [UInt8](repeating: 0, count: bytes.count + 1)
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, raw.count - filled, off_t(filled))
            }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return false }
            if n == 0 { break }
            filled += n
        }
        return filled == bytes.count && buffer[..<filled].elementsEqual(bytes)
    }
}
