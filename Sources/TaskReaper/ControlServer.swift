#if canImport(Glibc)
import Glibc
#endif
import CLinux
import TaskReaperCore
import TaskReaperSystem

/// The control socket of `watch`: one line in (`status`, `sweep`, `rescan`), one JSON line
/// out, then the connection closes. Only our own uid or root may ask (SO_PEERCRED).
/// Everything is non-blocking and bounded, so a garbage, oversized or stalled client gets
/// an error or is dropped, and never holds up the daemon's loop.
final class ControlServer {
    let listener: Int32
    /// The path we bound (removed on close); nil for a socket systemd passed.
    let path: String?
    private var clients: [Int32: Client] = [:]

    static let maxRequest = 1024
    static let maxClients = 32
    static let clientTimeout: Millis = 5 * .second

    struct Client {
        var buffer: [UInt8] = []
        let acceptedAt: Millis
    }

    init(listener: Int32, path: String?) {
        self.listener = listener
        self.path = path
    }

    deinit {
        for fd in clients.keys { close(fd) }
        close(listener)
        if let path { unlink(path) }
    }

    var clientCount: Int { clients.count }

    /// When the oldest client runs out of time.
    var nextExpiry: Millis? { clients.values.map { $0.acceptedAt.adding(Self.clientTimeout) }.min() }

    /// Accepts every pending connection; returns the fds to watch for input.
    func acceptPending(now: Millis) -> [Int32] {
        var accepted: [Int32] = []
        while true {
            let fd = taskreaper_accept(listener)
            if fd < 0 { return accepted }  // EAGAIN: none left
            guard clients.count < Self.maxClients else {
                answer(fd, Self.error("too many clients"))
                close(fd)
                continue
            }
            guard let uid = UnixSocket.peerUID(fd), uid == geteuid() || uid == 0 else {
                answer(fd, Self.error("permission denied: only uid \(geteuid()) or root may use this socket"))
                close(fd)
                continue
            }
            clients[fd] = Client(acceptedAt: now)
            accepted.append(fd)
        }
    }

    enum Input {
        case request(String)
        case rejected
        case waiting
    }

    /// Reads what a client sent. A complete line is a request; too much, or a client that
    /// hung up without one, is answered (if possible) and dropped.
    func read(_ fd: Int32) -> Input {
        guard var client = clients[fd] else { return .rejected }
        var chunk = [UInt8](repeating: 0, count: Self.maxRequest + 1)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0, errno == EAGAIN || errno == EINTR { return .waiting }
        if n > 0 { client.buffer.append(contentsOf: chunk[..<n]) }
        if let newline = client.buffer.firstIndex(of: UInt8(ascii: "\n")), newline <= Self.maxRequest {
            clients[fd] = client
            return .request(String(decoding: client.buffer[..<newline], as: UTF8.self))
        }
        if client.buffer.count > Self.maxRequest {
            finish(fd, Self.error("request longer than \(Self.maxRequest) bytes"))
            return .rejected
        }
        if n <= 0 {  // EOF or error: a request without its newline still counts
            if client.buffer.isEmpty {
                drop(fd)
                return .rejected
            }
            clients[fd] = client
            return .request(String(decoding: client.buffer, as: UTF8.self))
        }
        clients[fd] = client
        return .waiting
    }

    /// Sends the answer and closes the connection.
    func finish(_ fd: Int32, _ answer: JSONObject) {
        self.answer(fd, answer)
        drop(fd)
    }

    func drop(_ fd: Int32) {
        clients[fd] = nil
        close(fd)
    }

    /// Clients that sent no complete line in time: dropped.
    func expire(now: Millis) -> [Int32] {
        let stalled = clients.filter { $0.value.acceptedAt.adding(Self.clientTimeout) <= now }.map(\.key)
        for fd in stalled { finish(fd, Self.error("timed out waiting for a request line")) }
        return stalled
    }

    static func error(_ message: String) -> JSONObject {
        var object = JSONObject()
        object["ok"] = .bool(false)
        object["error"] = .string(message)
        return object
    }

    /// One line, without blocking: answers are small; a client that does not read loses it.
    private func answer(_ fd: Int32, _ object: JSONObject) {
        let bytes = Array((JSONWriter.compact(.object(object)) + "\n").utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
    }
}
