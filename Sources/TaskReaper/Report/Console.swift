import Logging
import TaskReaperCore
import TaskReaperSystem

/// Where human lines go (README "Console output"): actions to one descriptor (stdout on a
/// terminal, stderr with `--log-target stderr`, none when quiet or under cron), problems to
/// stderr: errors always, warnings unless quiet or already in the journal.
public final class Console: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Where a line per action goes (and the summary line); nil: nowhere.
        public var actionsFD: Int32?
        /// Warnings on stderr.
        public var warnings: Bool
        /// Errors on stderr: always, unless stderr is the journal stream that already gets
        /// them as structured entries (a copy there would be a second, poorer entry: #12.4).
        public var errors: Bool = true
        /// Colour the verb of action lines / of stderr lines.
        public var colorActions: Bool
        public var colorProblems: Bool
        /// `-q`: not even the run's own warnings (no root found).
        public var quiet: Bool

        public init(actionsFD: Int32?, warnings: Bool, colorActions: Bool = false, colorProblems: Bool = false, quiet: Bool = false) {
            self.actionsFD = actionsFD
            self.warnings = warnings
            self.quiet = quiet
            self.colorActions = colorActions
            self.colorProblems = colorProblems
        }
    }

    public let settings: Settings
    private let actionLines: OutputLines?
    private let problemLines: OutputLines
    private let clock: @Sendable () -> Millis
    private let stderrFD: Int32

    public init(_ settings: Settings, stderrFD: Int32 = 2, clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.settings = settings
        self.stderrFD = stderrFD
        self.clock = clock
        actionLines = settings.actionsFD.map(OutputLines.init)
        problemLines = OutputLines(stderrFD)
    }

    func show(_ report: ActionReport, dryRun: Bool) {
        let isProblem = report.action.level >= .warning
        let now = clock()
        if isProblem, report.action.level >= .error ? settings.errors : settings.warnings {
            problemLines.write("taskreaper: " + ConsoleLine.format(report, dryRun: dryRun, now: now, color: settings.colorProblems))
            return
        }
        // A warning not wanted on stderr is still an action line where those are shown.
        guard let actionLines, !(isProblem && settings.actionsFD == stderrFD) else { return }
        actionLines.write(ConsoleLine.format(report, dryRun: dryRun, now: now, color: settings.colorActions))
    }

    /// A warning about the run itself (no root found): on stderr unless quiet, also when
    /// the journal has it (a cron job that finds nothing should say so where cron looks).
    func warning(_ sentence: String) {
        guard !settings.quiet else { return }
        problemLines.write("taskreaper: warning: " + ConsoleLine.escaped(sentence))
    }

    /// The pass's one-line summary, where action lines go.
    public func summary(_ sentence: String) {
        actionLines?.write("taskreaper: " + ConsoleLine.escaped(sentence))
    }
}
