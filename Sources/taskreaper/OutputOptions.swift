#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import TaskReaper
import TaskReaperSystem

/// `-v`/`--verbose` and `-q`/`--quiet`, shared by `sweep` and `watch` (README "Console output").
struct OutputOptions: ParsableArguments {
    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "A line per action (and the summary) even when stdout is not a terminal.")
    var verbose = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Only errors, on stderr: no action lines, warnings or summary.")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet exclude each other") }
    }
}

/// Where a run's reports go, from its flags and its terminal (README "Console output"):
/// - the journal gets every report when `--log-target` resolves to it, except that a dry run
///   under `auto` sends it only the summary (per-item entries with `--log-target journal`);
/// - human action lines go to stdout when it is a terminal (not with `--json`), to stdout with
///   `--verbose` (stderr with `--json`), to stderr with `--log-target stderr`; never with `-q`;
/// - errors always go to stderr, warnings too unless `-q` or the journal already has them
///   (and a terminal does not want them); neither when stderr is itself the journal stream
///   the journal entries go to (`$JOURNAL_STREAM`, as under systemd): one entry per error;
/// - colour only on a terminal, never with NO_COLOR.
enum ReportingSetup {
    struct Plan: Equatable {
        var journalItems: Bool
        var journalSummary: Bool
        var console: Console.Settings
    }

    static func plan(target: LogTarget, journalAvailable: Bool, dryRun: Bool, json: Bool, verbose: Bool, quiet: Bool,
                     stdoutIsTerminal: Bool, stderrIsTerminal: Bool, noColor: Bool, stderrIsJournal: Bool = false) -> Plan {
        let journal = target == .journal || (target == .auto && journalAvailable)
        let journalItems = journal && (!dryRun || target == .journal)
        var actions: Int32?
        if !quiet {
            if target == .stderr { actions = STDERR_FILENO }
            else if verbose { actions = json ? STDERR_FILENO : STDOUT_FILENO }
            else if stdoutIsTerminal && !json { actions = STDOUT_FILENO }
        }
        let warnings = !quiet && (!journalItems || stderrIsTerminal) && !(journalItems && stderrIsJournal)
        let colorActions = !noColor && (actions == STDOUT_FILENO ? stdoutIsTerminal : (actions == STDERR_FILENO && stderrIsTerminal))
        var console = Console.Settings(actionsFD: actions, warnings: warnings, colorActions: colorActions,
                                       colorProblems: !noColor && stderrIsTerminal, quiet: quiet)
        console.errors = !(journalItems && stderrIsJournal)
        return Plan(journalItems: journalItems, journalSummary: journal, console: console)
    }

    /// `oneShot`: a sweep, whose `--json` lines are written in a stable order at its end.
    static func reporter(target: LogTarget, dryRun: Bool, json: Bool, output: OutputOptions, oneShot: Bool = false) -> Reporter {
        let plan = plan(target: target, journalAvailable: LogTarget.journalIsAvailable, dryRun: dryRun, json: json,
                        verbose: output.verbose, quiet: output.quiet, stdoutIsTerminal: isatty(STDOUT_FILENO) == 1,
                        stderrIsTerminal: isatty(STDERR_FILENO) == 1, noColor: Terminal.noColor,
                        stderrIsJournal: LogTarget.stderrIsJournal())
        let handler: any LogHandler = plan.journalSummary ? JournalLogHandler(logLevel: .info) : SwiftLogNoOpLogHandler()
        return Reporter(logger: Logger(label: "taskreaper") { _ in handler }, jsonLinesFD: json ? STDOUT_FILENO : nil,
                        dryRun: dryRun, console: Console(plan.console), logsItems: plan.journalItems, ordersJSONLines: oneShot,
                        reportsProblemsOnce: !oneShot)
    }
}
