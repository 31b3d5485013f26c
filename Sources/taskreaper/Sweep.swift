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

        Defaults: --finalize-grace 5s, --spawn-grace 5min, --retention 1h, --stale-after 24h, \
        --abandoned-after 30d. DUR is a systemd time span (5min, 1h 30min, 2d12h, 1w); 0 means \
        at once and infinity switches a rule off.

        Exit status: 0 done (whether or not anything was acted on); 1 some items failed (the \
        rest was done); 2 usage or configuration error; 75 another taskreaper holds the lock \
        of a root (that root was skipped, the others swept).
        """
    )

    @OptionGroup
    var rootOptions: RootOptions

    @Flag(name: .customLong("dry-run"), help: "Decide and report everything, change nothing (no lock, no temp file).")
    var dryRun = false

    @Flag(name: .customLong("json"), help: "Print one JSON object per action on stdout, then a summary object.")
    var json = false

    @OptionGroup(title: "Policy")
    var policyOptions: PolicyOptions

    @OptionGroup(title: "Output")
    var outputOptions: OutputOptions

    @OptionGroup(title: "Metrics")
    var metricsOptions: MetricsOptions

    func validate() throws { try rootOptions.validateExisting() }

    func run() throws {
        let roots = rootOptions.resolvedRoots
        let processes: ProcessTable
        do { processes = try ProcessTable() } catch {
            printError("taskreaper: cannot read the process table: \(error)")
            throw ExitCode(ExitStatus.itemsFailed)
        }
        let reporter = ReportingSetup.reporter(target: rootOptions.logTarget, dryRun: dryRun, json: json, output: outputOptions, oneShot: true)
        if roots.isEmpty {
            // Not silent (a cron job that never finds anything is a misconfiguration): once per run.
            reporter.warn("No storage root found; looked in: "
                          + DefaultRoots.candidates(environment: DefaultRoots.processEnvironment()).joined(separator: ", "))
        }
        let context = ReconcileContext(policy: policyOptions.policy, processes: processes, reporter: reporter)
        let started = context.clock()
        let result = Sweeper(roots: roots, context: context).run()
        if let path = metricsOptions.path {
            let text = MetricsText.render(mode: .sweep, reporter: reporter, status: nil, startedAt: started,
                                          version: TaskReaperCommand.configuration.version)
            if !MetricsFile(path: path).write(text), result.exitCode == 0 { throw ExitCode(ExitStatus.itemsFailed) }
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress!, $0.count) }
}
