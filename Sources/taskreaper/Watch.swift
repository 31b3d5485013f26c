#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaper
import TaskReaperCore
import TaskReaperSystem

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The agent: keep every bash-tasks tree reconciled as things happen (inotify, pidfds).",
        discussion: """
        Does one full pass (as `sweep`), then reacts to events only: a marker renamed into \
        place, a JSON rewritten, a session or harness directory created, a task's process \
        exiting (pidfd), and the deadlines decisions ask for (grace, retention, ...). Idle, it \
        does not wake. Holds the lock of each root while it runs (a `sweep` of the same root \
        exits 75). SIGTERM/SIGINT: finish the current action, exit 0. SIGHUP: full rescan. \
        Under systemd (Type=notify): READY=1 after the first pass, STATUS=, WATCHDOG=1 at half \
        of WatchdogSec, STOPPING=1.

        Roots that do not exist yet (a default root, or a --root) are waited for: their \
        nearest existing ancestor is watched and each is picked up when it appears (also on \
        SIGHUP and `ctl rescan`); meanwhile `ctl status` says "roots_watched":0 and lists \
        them in "waiting_for".

        Exit status: 0 stopped by a signal; 1 could not start (e.g. no inotify); 2 usage error \
        (a --root that exists but is not a directory, or cannot be reached).
        """
    )

    @OptionGroup
    var rootOptions: RootOptions

    @Flag(name: .customLong("dry-run"), help: "Decide and report everything, change nothing (no lock).")
    var dryRun = false

    @OptionGroup(title: "Policy")
    var policyOptions: PolicyOptions

    @OptionGroup(title: "Output")
    var outputOptions: OutputOptions

    @OptionGroup(title: "Metrics")
    var metricsOptions: MetricsOptions

    @Option(name: .customLong("rescan-interval"), parsing: .unconditional, help: ArgumentHelp("A full rescan this often as a safety net. Default 6h; at least 1s; infinity disables.", valueName: "DUR"),
            transform: DurationArgument.rescanInterval)
    var rescanInterval: Threshold?

    @Option(name: .customLong("control-socket"), help: ArgumentHelp("Where to listen for `taskreaper ctl` (unless systemd passed a socket). Default $XDG_RUNTIME_DIR/taskreaper.sock, or /run/taskreaper.sock as root; `none` disables.", valueName: "PATH"))
    var controlSocket: String?

    func validate() throws { try rootOptions.validateWaitable() }

    func run() throws {
        // Roots that do not exist yet are waited for (their nearest existing ancestor is
        // watched): a fresh user's daemon starts, answers `ctl`, and picks them up.
        let roots = rootOptions.watchedRoots
        guard !roots.isEmpty else {
            throw ValidationError("no storage root to watch: no --root, and no default root can be named (no HOME, no passwd entry)")
        }
        let reporter = ReportingSetup.reporter(target: rootOptions.logTarget, dryRun: dryRun, json: false, output: outputOptions)
        var options = WatchOptions()
        options.rescanInterval = rescanInterval ?? ConfigurationStore.shared.configuration.rescanInterval
        options.controlSocketPath = controlSocket == "none" ? nil : (controlSocket ?? ControlSocketPath.defaultPath())
        let watcher: Watcher
        do {
            options.version = TaskReaperCommand.configuration.version
            if let path = metricsOptions.path {
                let file = MetricsFile(path: path)
                let (version, started) = (options.version, WallClock.now())
                options.afterPass = { status in
                    file.write(MetricsText.render(mode: .watch, reporter: reporter, status: status, startedAt: started, version: version))
                }
            }
            let live = LivePolicy(policyOptions.policy)
            options.onHangup = ConfigReload.handler(policyOptions: policyOptions, live: live, reporter: reporter, root: roots[0])
            let context = ReconcileContext(livePolicy: live, processes: try ProcessTable(), reporter: reporter)
            watcher = try Watcher(roots: roots, context: context, options: options)
        } catch {
            printError("taskreaper: cannot start watching: \(error)")
            throw ExitCode(ExitStatus.itemsFailed)
        }
        let status = watcher.run()
        if status != 0 { throw ExitCode(status) }
    }
}
