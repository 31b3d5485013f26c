import TaskReaperCore
import TaskReaperSystem

/// What the control socket can ask of the daemon.
protocol ControlRequests: AnyObject {
    /// The `status` answer's facts (README "Control socket").
    func controlStatus() -> JSONObject
    /// A full pass now; its counters.
    func controlSweep() -> JSONObject
    func controlRescan()
    /// `{"metrics": "<Prometheus text>"}` (README "Metrics").
    func controlMetrics() -> JSONObject
}

/// The control socket of `watch` and its protocol: one line in (`status`, `sweep`,
/// `rescan`), one JSON line out, then the connection closes. Only our own uid or root may
/// ask (SO_PEERCRED). Everything is non-blocking and bounded, so a garbage, oversized or
/// stalled client gets an error or is dropped, and never holds up the daemon's loop.
///
/// No client can lock the others out (issue 11.7: one process holding 40 silent connections
/// did): a process gets at most `maxPerClient` connections at once, and when all
/// `maxClients` places are taken a newcomer takes the place of the client that has waited
/// longest without a request line (a real client sends its line at once).
final class ControlServer {
    let listener: Int32
    /// The path we bound (removed on close); nil for a socket systemd passed.
    let path: String?
    private var clients: [Int32: Client] = [:]

    static let maxRequest = 1024
    static let maxClients = 32
    static let maxPerClient = 4
    static let clientTimeout: Millis = 5 * .second

    private struct Client {
        let connection: UnixConnection
        var buffer: [UInt8] = []
        let acceptedAt: Millis
        /// The connecting process (SO_PEERCRED), for the per-client limit.
        let peer: Int32?
    }

    init(listener: Int32, path: String?) {
        self.listener = listener
        self.path = path
    }

    deinit {
        clients.removeAll()
        UnixSocket.closeListener(listener, removing: path)
    }

    var clientCount: Int { clients.count }

    /// When the oldest client runs out of time.
    var nextExpiry: Millis? { clients.values.map { $0.acceptedAt.adding(Self.clientTimeout) }.min() }

    /// Accepts every pending connection; returns the fds to watch for input.
    func acceptPending(now: Millis) -> [Int32] {
        var accepted: [Int32] = []
        while let connection = UnixConnection.accept(from: listener) {
            guard let uid = connection.peerUID, uid == UnixSocket.effectiveUID || uid == 0 else {
                Self.send(Self.error("permission denied: only uid \(UnixSocket.effectiveUID) or root may use this socket"), to: connection)
                continue
            }
            let peer = connection.peerPID
            if let peer, clients.values.count(where: { $0.peer == peer }) >= Self.maxPerClient {
                Self.send(Self.error("too many connections from process \(peer) (at most \(Self.maxPerClient) at once)"), to: connection)
                continue
            }
            if clients.count >= Self.maxClients, let longest = clients.min(by: { $0.value.acceptedAt < $1.value.acceptedAt })?.key {
                finish(longest, Self.error("too many clients: the one waiting longest without a request was dropped"))
            }
            clients[connection.fd] = Client(connection: connection, acceptedAt: now, peer: peer)
            accepted.append(connection.fd)
        }
        return accepted
    }

    /// Reads what client `fd` sent and, once a request is complete, answers it. A request
    /// without its newline counts when the client hangs up; too much, or nothing at all,
    /// is answered (if possible) and dropped.
    func serve(_ fd: Int32, _ requests: ControlRequests) {
        guard var client = clients[fd] else { return }
        let received = client.connection.receive(limit: Self.maxRequest + 1)
        switch received {
        case .wouldBlock: return
        case .bytes(let bytes): client.buffer.append(contentsOf: bytes)
        case .closed: break
        }
        clients[fd] = client
        if let newline = client.buffer.firstIndex(of: UInt8(ascii: "\n")), newline <= Self.maxRequest {
            return finish(fd, answer(String(decoding: client.buffer[..<newline], as: UTF8.self), requests))
        }
        if client.buffer.count > Self.maxRequest {
            return finish(fd, Self.error("request longer than \(Self.maxRequest) bytes"))
        }
        if received == .closed {
            if client.buffer.isEmpty { return drop(fd) }
            finish(fd, answer(String(decoding: client.buffer, as: UTF8.self), requests))
        }
    }

    /// The protocol (README "Control socket"): words separated by any whitespace.
    func answer(_ line: String, _ requests: ControlRequests) -> JSONObject {
        let request = line.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        var object: JSONObject
        switch request {
        case "status": object = requests.controlStatus()
        case "sweep": object = requests.controlSweep()
        case "metrics": object = requests.controlMetrics()
        case "rescan":
            requests.controlRescan()
            object = JSONObject()
        default:
            return Self.error("unknown request '\(request.prefix(64))': try status, sweep, rescan or metrics")
        }
        var answer = JSONObject([("ok", .bool(true))])
        for (key, value) in object.members { answer[key] = value }
        return answer
    }

    func drop(_ fd: Int32) { clients[fd] = nil }

    /// Clients that sent no complete line in time: dropped.
    func expire(now: Millis) {
        let stalled = clients.filter { $0.value.acceptedAt.adding(Self.clientTimeout) <= now }.map(\.key)
        for fd in stalled { finish(fd, Self.error("timed out waiting for a request line")) }
    }

    static func error(_ message: String) -> JSONObject {
        JSONObject([("ok", .bool(false)), ("error", .string(message))])
    }

    private func finish(_ fd: Int32, _ answer: JSONObject) {
        if let client = clients.removeValue(forKey: fd) { Self.send(answer, to: client.connection) }
    }

    /// One line, without blocking: answers are small; a client that does not read loses it.
    private static func send(_ object: JSONObject, to connection: UnixConnection) {
        connection.sendWithoutBlocking(Array((JSONWriter.compact(.object(object)) + "\n").utf8))
    }
}
