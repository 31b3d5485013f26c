#if canImport(Glibc)
import Glibc
#endif
import CLinux
import CSystemd

/// Unix stream sockets for the control channel: a listener we bind (or the one systemd
/// passed), peer credentials, and non-blocking I/O that never stalls the daemon.
public enum UnixSocket {
    /// The socket systemd passed (socket activation), if exactly one unix stream listener was.
    public static func activated() -> Int32? {
        let count = sd_listen_fds(1)
        guard count >= 1 else { return nil }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Binds and listens at `path` (mode 0600). A stale socket file nobody listens on is
    /// replaced; a live one is an error (another watch owns it).
    public static func listen(at path: String) throws(SystemError) -> Int32 {
        var address = try sockaddr(path)
        if connectable(path) { throw SystemError("bind", path, errno: EADDRINUSE) }
        _ = unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path) }
        let old = umask(0o177)
        defer { umask(old) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let error = SystemError("bind", path)
            close(fd)
            throw error
        }
        return fd
    }

    /// A blocking client connection (for `taskreaper ctl`).
    public static func connect(to path: String) throws(SystemError) -> Int32 {
        var address = try sockaddr(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let error = SystemError("connect", path)
            close(fd)
            throw error
        }
        return fd
    }

    /// Closes a listener, removing the socket file we bound (none for systemd's).
    public static func closeListener(_ listener: Int32, removing path: String?) {
        _ = Glibc.close(listener)
        if let path { _ = unlink(path) }
    }

    /// Who may use our control socket besides root.
    public static var effectiveUID: uid_t { geteuid() }

    /// The connecting process's uid (SO_PEERCRED).
    public static func peerUID(_ fd: Int32) -> uid_t? {
        let uid = taskreaper_peer_uid(fd)
        return uid < 0 ? nil : uid_t(uid)
    }

    /// The connecting process's pid (SO_PEERCRED), as of its connect.
    public static func peerPID(_ fd: Int32) -> pid_t? {
        let pid = taskreaper_peer_pid(fd)
        return pid <= 0 ? nil : pid_t(pid)
    }

    private static func connectable(_ path: String) -> Bool {
        guard let fd = try? connect(to: path) else { return false }
        close(fd)
        return true
    }

    private static func sockaddr(_ path: String) throws(SystemError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw SystemError("bind", path, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return address
    }
}

/// One accepted client of the control socket: non-blocking, closed when released.
public final class UnixConnection {
    public let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// The next pending connection on a non-blocking listener; nil when none is left.
    public static func accept(from listener: Int32) -> UnixConnection? {
        let fd = taskreaper_accept(listener)
        return fd >= 0 ? UnixConnection(fd: fd) : nil
    }

    /// The connecting process's uid (SO_PEERCRED).
    public var peerUID: uid_t? { UnixSocket.peerUID(fd) }

    /// The connecting process's pid (SO_PEERCRED).
    public var peerPID: pid_t? { UnixSocket.peerPID(fd) }

    public enum Received: Equatable {
        case bytes([UInt8])
        /// Nothing there yet (EAGAIN, EINTR).
        case wouldBlock
        /// The peer closed its end (or the connection failed).
        case closed
    }

    /// Up to `limit` bytes, without blocking.
    public func receive(limit: Int) -> Received {
        var chunk = [UInt8](repeating: 0, count: limit)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { return .bytes(Array(chunk[..<n])) }
        if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .closed
    }

    /// Sends without blocking and without SIGPIPE; a client that does not read loses it.
    public func sendWithoutBlocking(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
    }
}
