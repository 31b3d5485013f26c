import ArgumentParser
import TaskReaper
import TaskReaperCore
import TaskReaperSystem

struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running `watch` over its control socket.",
        discussion: """
        status: counters, roots (open, and the ones still waited for), watches, pending \
        deadlines. sweep: a full pass now, and its summary. rescan: look at everything again \
        (roots that appeared included). The answer is one JSON object on stdout; metrics: \
        Prometheus text-format metrics instead (README "Metrics"). Never waits longer than \
        --timeout.

        Exit status: 0 answered; 1 the daemon answered with an error; 2 usage error; 69 \
        nothing answered within the timeout (no daemon, a socket whose service does not \
        start, a daemon that hangs up without an answer).
        """
    )

    /// EX_UNAVAILABLE (sysexits.h): nothing answered.
    static let unavailable: Int32 = 69

    enum Request: String, ExpressibleByArgument, CaseIterable { case status, sweep, rescan, metrics }

    @Option(name: .customLong("socket"), help: ArgumentHelp("The control socket. Default $XDG_RUNTIME_DIR/taskreaper.sock, or /run/taskreaper.sock as root.", valueName: "PATH"))
    var socket: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("How long to wait for the answer, connecting included (a `sweep` of large trees may need more). Default 5s; at least 1ms.", valueName: "DUR"),
            transform: { try DurationArgument.finite($0) })
    var timeout: Millis = 5 * .second

    @Argument(help: "status, sweep, rescan or metrics (Prometheus text format)")
    var request: Request

    func validate() throws {
        if timeout == 0 { throw ValidationError("--timeout must be more than 0 (ctl never waits unbounded)") }
    }

    func run() throws {
        guard let path = socket ?? ControlSocketPath.defaultPath() else {
            throw ValidationError("no control socket: set XDG_RUNTIME_DIR or pass --socket PATH")
        }
        switch ControlClient.ask(request.rawValue, at: path, timeoutMs: Int64(clamping: timeout)) {
        case .failure(let failure):
            printError("taskreaper: no watch answers on \(path): \(failure)")
            throw ExitCode(Self.unavailable)
        case .success(let text):
            if request == .metrics, text.hasPrefix("{\"ok\":true"), let metrics = MetricsAnswer.text(of: text) {
                print(metrics, terminator: "")  // the exposition format itself, for a scraper or a pipe
                return
            }
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            if !text.hasPrefix("{\"ok\":true") { throw ExitCode(ExitStatus.itemsFailed) }
        }
    }
}
