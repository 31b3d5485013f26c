#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import TaskReaper
import TaskReaperCore
import TaskReaperSystem

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconcile every bash-tasks tree once, then exit (cron, timers, by hand).",
        discussion: """
        Finalizes orphaned and exited tasks, removes delivered and abandoned bundles, strays and \
        empty session directories, quarantines corrupt JSON (CONTRACT.md §5). Every action is \
        reported to journald (or stderr), and with --json as one JSON object per line on stdout.

        Defaults: --finalize-grace 5s, --spawn-grace 5m, --retention 1h, --stale-after 24h, \
        --abandoned-after 30d.

        Exit status: 0 done (whether or not anything was acted on); 1 some items failed (the \
        rest was done); 2 usage or configuration error; 75 another taskreaper holds the lock \
        of a root (that root was skipped, the others swept).
        """
    )

    @Option(name: .customLong("root"), help: ArgumentHelp("A storage root (repeatable). Default: every default root that exists (README).", valueName: "DIR"))
    var roots: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Decide and report everything, change nothing (no lock, no temp file).")
    var dryRun = false

    @Flag(name: .customLong("json"), help: "Print one JSON object per action on stdout, then a summary object.")
    var json = false

    @OptionGroup(title: "Policy")
    var policyOptions: PolicyOptions

    @Option(name: .customLong("log-target"), help: ArgumentHelp("Where actions are logged: journal, stderr, or auto (journal when its socket exists, else warnings and errors on stderr).", valueName: "auto|journal|stderr"))
    var logTarget: LogTarget = .auto

    func validate() throws {
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                throw ValidationError("root \(root): \(String(cString: strerror(errno)))")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("root \(root): not a directory") }
        }
    }

    func run() throws {
        let roots = self.roots.isEmpty ? DefaultRoots.existing(environment: DefaultRoots.processEnvironment()) : self.roots
        let processes: ProcessTable
        do { processes = try ProcessTable() } catch {
            printError("taskreaper: cannot read the process table: \(error)")
            throw ExitCode(ExitStatus.itemsFailed)
        }
        let reporter = Reporter(logger: logTarget.makeLogger(label: "taskreaper"), jsonLinesFD: json ? STDOUT_FILENO : nil)
        let context = ReconcileContext(policy: policyOptions.policy, dryRun: dryRun, processes: processes, reporter: reporter)
        let result = Sweeper(roots: roots, context: context).run()
        if !json, isatty(STDOUT_FILENO) == 1 {
            if roots.isEmpty {
                print("taskreaper: no storage root found; looked in: " + DefaultRoots.candidates(environment: DefaultRoots.processEnvironment()).joined(separator: ", "))
            }
            print("taskreaper: " + (result.summary["message"]?.stringValue ?? ""))
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

extension LogTarget: ExpressibleByArgument {}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress!, $0.count) }
}
