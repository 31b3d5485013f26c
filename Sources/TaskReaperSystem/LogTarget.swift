#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `--log-target`: where action reports go.
public enum LogTarget: String, CaseIterable, Sendable {
    /// journal when journald's socket exists, else stderr with warnings and errors only
    /// (cron etiquette: a job with nothing wrong stays silent, or cron mails its output).
    case auto
    /// journald; errors are also printed on stderr so a cron mail or a terminal sees them,
    /// unless stderr is itself connected to the journal (`$JOURNAL_STREAM`, as for every
    /// systemd service with the default StandardError=journal): there the copy would be a
    /// second, poorer journal entry of the same error (PRIORITY 6, no MESSAGE_ID).
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
    /// - journal (explicit, or auto with the socket): journal at info, plus stderr at error
    ///   unless `stderrIsJournal` (then the journal alone: one entry per record);
    /// - auto without the socket: stderr at warning;
    /// - stderr: stderr at info.
    public func makeHandler(journalSocketPath: String = LogTarget.journalSocketPath,
                            stderrIsJournal: Bool = LogTarget.stderrIsJournal()) -> any LogHandler {
        switch (self, resolved(journalSocketPath: journalSocketPath)) {
        case (_, .journal):
            if stderrIsJournal { return JournalLogHandler(logLevel: .info) }
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
    public func makeLogger(label: String = "taskreaper", journalSocketPath: String = LogTarget.journalSocketPath,
                           stderrIsJournal: Bool = LogTarget.stderrIsJournal()) -> Logger {
        let handler = makeHandler(journalSocketPath: journalSocketPath, stderrIsJournal: stderrIsJournal)
        return Logger(label: label) { _ in handler }
    }

    /// Whether `fd` (stderr) is the stream systemd connected to the journal: `$JOURNAL_STREAM`
    /// is "<device>:<inode>" of that stream (systemd.exec(5)), and only counts while `fd`
    /// still is that very file (a shell redirection under the service makes it something else).
    public static func stderrIsJournal(fd: Int32 = STDERR_FILENO, journalStream: String? = LogTarget.environment("JOURNAL_STREAM")) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
