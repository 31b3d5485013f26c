#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import TaskReaper
import TaskReaperCore
import TaskReaperSystem

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every task and what taskreaper would do to it next, and when. Changes nothing.",
        discussion: """
        One row per task (flat bundles and task directories alike): harness, session, task id, \
        status, age, whether its process is alive, whether its result was delivered, and the \
        next action with its time (remove in 42m, finalize now, -), decided by the same rules \
        and the same policy (flags, configuration) as sweep. Takes no lock and writes nothing.

        By default, tasks that are not finished or that taskreaper still has an action for; \
        --all shows every task. An aligned table (coloured on a terminal unless NO_COLOR is \
        set), or with --json one JSON object per task (README "list --json").

        Exit status: 0 listed; 1 something could not be read (said on stderr); 2 usage error.
        """
    )

    @Option(name: .customLong("root"), help: ArgumentHelp("A storage root (repeatable). Default: every default root that exists (README).", valueName: "DIR"))
    var roots: [String] = []

    @Flag(name: .customLong("all"), help: "Every task, also finished ones nothing more will be done to.")
    var all = false

    @Flag(name: .customLong("json"), help: "One JSON object per task on stdout instead of the table.")
    var json = false

    @OptionGroup(title: "Policy (as sweep: the actions shown are the ones sweep would take)")
    var policyOptions: PolicyOptions

    func validate() throws { try RootOptions.validate(roots) }

    func run() throws {
        let roots = RootOptions.effective(self.roots)
        if roots.isEmpty {
            printError("taskreaper: no storage root found; looked in: "
                       + DefaultRoots.candidates(environment: DefaultRoots.processEnvironment()).joined(separator: ", "))
        }
        let processes: ProcessTable
        do { processes = try ProcessTable() } catch {
            printError("taskreaper: cannot read the process table: \(error)")
            throw ExitCode(ExitStatus.itemsFailed)
        }
        // Problems on the way (unreadable directories, links) are said on stderr, never logged.
        let console = Console(.init(actionsFD: nil, warnings: true, colorProblems: Terminal.wantsColor(fd: STDERR_FILENO)))
        let reporter = Reporter(logger: Logger(label: "taskreaper") { _ in SwiftLogNoOpLogHandler() }, dryRun: true,
                                console: console, logsItems: false)
        let context = ReconcileContext(policy: policyOptions.policy, processes: processes, reporter: reporter)
        let result = TaskLister(roots: roots, context: context).run()
        let rows = all ? result.tasks : result.tasks.filter(\.isOfInterest)
        let out = OutputLines(STDOUT_FILENO)
        if json {
            var text = ""
            for row in rows { text += ListRenderer.jsonLine(row) + "\n" }
            out.write(bytes: Array(text.utf8))
        } else {
            out.write(bytes: Array(ListRenderer.table(rows, color: Terminal.wantsColor(fd: STDOUT_FILENO)).utf8))
        }
        if reporter.counters.failures > 0 { throw ExitCode(ExitStatus.itemsFailed) }
    }
}

/// Colour and human output on terminals only (never with NO_COLOR, https://no-color.org).
enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    static func wantsColor(fd: Int32) -> Bool { isTerminal(fd) && !noColor }

    /// NO_COLOR set and not empty, or a dumb terminal.
    static var noColor: Bool {
        if let value = getenv("NO_COLOR"), value.pointee != 0 { return true }
        if let term = getenv("TERM"), String(cString: term) == "dumb" { return true }
        return false
    }
}
