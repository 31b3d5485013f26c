#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `--log-target`: where action reports go.
public enum LogTarget: String, CaseIterable, Sendable {
    /// journal when journald's socket exists, else stderr with warnings and errors only
    /// (cron etiquette: a job with nothing wrong stays silent, or cron mails its output).
    case auto
    /// journald; errors are also printed on stderr so a cron mail or a terminal sees them.
    /// A journald that is not there is not an error here: the journal handler prints one
    /// warning on the first failed send.
    case journal
    /// stderr, every action (info and up).
    case stderr

    public static let journalSocketPath = "/run/systemd/journal/socket"

    public static var journalIsAvailable: Bool { journalIsAvailable(socketPath: journalSocketPath) }

    /// A socket at `socketPath` (stat follows a symlink to one; a plain file does not count).
    public static func journalIsAvailable(socketPath: String) -> Bool {
        var st = stat()
        return stat(socketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// `auto` decided: `.journal` or `.stderr`; the other two are returned as they are.
    public func resolved(journalSocketPath: String = LogTarget.journalSocketPath) -> LogTarget {
        guard self == .auto else { return self }
        return Self.journalIsAvailable(socketPath: journalSocketPath) ? .journal : .stderr
    }

    /// The handler for this target, `auto` resolved against `journalSocketPath`:
    /// - journal (explicit, or auto with the socket): journal at info, plus stderr at error;
    /// - auto without the socket: stderr at warning;
    /// - stderr: stderr at info.
    public func makeHandler(journalSocketPath: String = LogTarget.journalSocketPath) -> any LogHandler {
        switch (self, resolved(journalSocketPath: journalSocketPath)) {
        case (_, .journal):
            return MultiplexLogHandler([JournalLogHandler(logLevel: .info), StderrLogHandler(logLevel: .error)])
        case (.auto, _):
            return StderrLogHandler(logLevel: .warning)
        default:
            return StderrLogHandler(logLevel: .info)
        }
    }

    /// A Logger built directly on its handler rather than through LoggingSystem.bootstrap:
    /// bootstrap may run once per process and then fixes the backend for every Logger, so
    /// tests (which run many cases in one process) could not build loggers for different
    /// targets, and a library would be overriding its host's choice of backend.
    public func makeLogger(label: String = "taskreaper", journalSocketPath: String = LogTarget.journalSocketPath) -> Logger {
        let handler = makeHandler(journalSocketPath: journalSocketPath)
        return Logger(label: label) { _ in handler }
    }
}
