#if canImport(Glibc)
import Glibc
import TaskReaperCore
#endif

/// The client side of the control socket (`taskreaper ctl`): one request line, one answer,
/// everything bounded by one deadline. A socket nobody serves (systemd holding a listener
/// whose service fails to start, a stopped daemon, a full backlog) costs the timeout, never
/// more.
public enum ControlClient {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Nothing listens there (no file, not a socket, refused).
        case unreachable(String)
        /// Connected (or trying to), but no complete answer within the timeout.
        case timedOut(afterMs: Int64)
        /// The other end closed without a word.
        case closedWithoutAnswer

        public var description: String {
            switch self {
            case .unreachable(let why): return why
            case .timedOut(let ms): return "no answer within \(ms) ms"
            case .closedWithoutAnswer: return "closed the connection without an answer"
            }
        }
    }

    /// Sends `request` (a newline is added) and returns the answer up to the peer's close.
    public static func ask(_ request: String, at path: String, timeoutMs: Int64) -> Result<String, Failure> {
        let deadline = MonotonicClock.now().adding(Millis(clamping: max(1, timeoutMs)))
        func remaining() -> Int32 {
            let now = MonotonicClock.now()
            return now >= deadline ? 0 : Int32(clamping: deadline - now)
        }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .failure(.unreachable("path too long")) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(.unreachable(String(cString: strerror(errno)))) }
        defer { close(fd) }

        // A unix stream connect does not block unless the backlog is full (EAGAIN): then
        // nobody accepts, try again until the deadline.
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if result == 0 { break }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EINPROGRESS else { return .failure(.unreachable(String(cString: strerror(error)))) }
            if remaining() == 0 { return .failure(.timedOut(afterMs: timeoutMs)) }
            if error == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, remaining())
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if pfd.revents != 0, soError == 0 { break }
                if soError != 0 { return .failure(.unreachable(String(cString: strerror(soError)))) }
            } else {
                var none = pollfd(fd: -1, events: 0, revents: 0)
                _ = poll(&none, 1, min(50, remaining()))
            }
        }

        var line = Array((request + "\n").utf8)
        var sent = 0
        while sent < line.count {
            let n = line.withUnsafeMutableBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN {
                guard remaining() > 0 else { return .failure(.timedOut(afterMs: timeoutMs)) }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, remaining())
                continue
            }
            break  // closed already (EPIPE): a refusal may have been sent before, read it
        }

        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { answer.append(contentsOf: chunk[..<n]); continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            guard errno == EAGAIN else { break }
            let wait = remaining()
            guard wait > 0 else { return .failure(.timedOut(afterMs: timeoutMs)) }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, wait)
        }
        guard !answer.isEmpty else { return .failure(.closedWithoutAnswer) }
        return .success(String(decoding: answer, as: UTF8.self))
    }
}
