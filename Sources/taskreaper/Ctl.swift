#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaper
import TaskReaperSystem

struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running `watch` over its control socket.",
        discussion: """
        status: counters, roots, watches, pending deadlines. sweep: a full pass now, and its \
        summary. rescan: look at everything again. The answer is one JSON object on stdout; \
        metrics: Prometheus text-format metrics instead (README "Metrics").

        Exit status: 0 answered; 1 the daemon answered with an error; 2 usage error; 69 no \
        daemon listens on the socket.
        """
    )

    enum Request: String, ExpressibleByArgument, CaseIterable { case status, sweep, rescan, metrics }

    @Option(name: .customLong("socket"), help: ArgumentHelp("The control socket. Default $XDG_RUNTIME_DIR/taskreaper.sock, or /run/taskreaper.sock as root.", valueName: "PATH"))
    var socket: String?

    @Argument(help: "status, sweep, rescan or metrics (Prometheus text format)")
    var request: Request

    func run() throws {
        guard let path = socket ?? ControlSocketPath.defaultPath() else {
            throw ValidationError("no control socket: set XDG_RUNTIME_DIR or pass --socket PATH")
        }
        let fd: Int32
        do { fd = try UnixSocket.connect(to: path) } catch {
            printError("taskreaper: no watch answers on \(path): \(error)")
            throw ExitCode(69)
        }
        defer { close(fd) }
        // A sweep of large trees takes a while; a daemon that never answers does not hang us.
        var timeout = timeval(tv_sec: 600, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((request.rawValue + "\n").utf8)
        _ = line.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { break }
            answer.append(contentsOf: chunk[..<n])
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard !text.isEmpty else {
            printError("taskreaper: \(path) closed the connection without an answer")
            throw ExitCode(ExitStatus.itemsFailed)
        }
        if request == .metrics, text.hasPrefix("{\"ok\":true"), let metrics = MetricsAnswer.text(of: text) {
            print(metrics, terminator: "")  // the exposition format itself, for a scraper or a pipe
            return
        }
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        if !text.hasPrefix("{\"ok\":true") { throw ExitCode(ExitStatus.itemsFailed) }
    }
}
