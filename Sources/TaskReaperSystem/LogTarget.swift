#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `--log-target`: where action reports go.
public enum LogTarget: String, CaseIterable, Sendable {
    /// journal when journald's socket exists, else stderr with warnings and errors only
    /// (a cron job with nothing wrong stays silent).
    case auto
    /// journald; errors are also printed on stderr so a cron mail or a terminal sees them.
    case journal
    /// stderr, every action (info and up).
    case stderr

    public static let journalSocketPath = "/run/systemd/journal/socket"

    public static var journalIsAvailable: Bool {
        var st = stat()
        return stat(journalSocketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// `auto` decided: journal or stderr.
    public func resolved() -> LogTarget {
        guard self == .auto else { return self }
        return Self.journalIsAvailable ? .journal : .stderr
    }

    /// A Logger built directly on its handler rather than through LoggingSystem.bootstrap
    /// (which may run once per process): tests build several with different targets.
    public func makeLogger(label: String = "taskreaper") -> Logger {
        switch (self, resolved()) {
        case (_, .journal):
            return Logger(label: label) { _ in
                MultiplexLogHandler([JournalLogHandler(logLevel: .info), StderrLogHandler(logLevel: .error)])
            }
        case (.auto, _):
            return Logger(label: label) { _ in StderrLogHandler(logLevel: .warning) }
        default:
            return Logger(label: label) { _ in StderrLogHandler(logLevel: .info) }
        }
    }
}
