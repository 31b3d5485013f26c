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
        (a --root that exists but is not a directory, or cannot be reached; --events fanotify \
        without CAP_SYS_ADMIN or kernel support).
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

    @Option(name: .customLong("events"), help: ArgumentHelp("Where directory events come from: auto (inotify; fanotify once inotify runs out of watches, if it can be had), inotify, or fanotify (one mark per file system; needs CAP_SYS_ADMIN). Default auto.", valueName: "SOURCE"),
            transform: EventsArgument.parse)
    var events: EventSourceChoice?

    @Option(name: .customLong("control-socket"), help: ArgumentHelp("Where to listen for `taskreaper ctl` (unless systemd passed a socket). Default $XDG_RUNTIME_DIR/taskreaper.sock, or /run/taskreaper.sock as root; `none` disables.", valueName: "PATH"))
    var controlSocket: String?

    func validate() throws { try rootOptions.validateWaitable() }

    func run() throws {
        // Roots that do not exist yet are waited for (their nearest existing ancestor is
        // watched): a fresh user's daemon starts, answers `ctl`, and picks them up.
        let named = rootOptions.watchedRoots
        guard !named.isEmpty else {
            throw ValidationError("no storage root to watch: no --root, and no default root can be named (no HOME, no passwd entry)")
        }
        let reporter = ReportingSetup.reporter(target: rootOptions.logTarget, dryRun: dryRun, json: false, output: outputOptions)
        let policy = policyOptions.policy
        // A root a Protect= glob names is never opened, not even locked (README "Protect");
        // which roots are protected is decided at start, as the roots themselves are.
        let protectedRoots = named.filter { policy.protection.glob(protecting: $0) != nil }
        let roots = named.filter { policy.protection.glob(protecting: $0) == nil }
        for root in protectedRoots {
            let glob = policy.protection.glob(protecting: root) ?? ""
            var event = ActionReport(.skipProtected, path: root, location: Location(root: root, harness: nil),
                                     message: "Leaving root \(root) alone: protected by \(glob) (never read or written; not watched until the next start)")
            event.details = [("glob", .string(glob))]
            reporter.report(event)
        }
        guard !roots.isEmpty else {
            throw ValidationError("every storage root is protected (Protect=/--protect): nothing to watch")
        }
        var options = WatchOptions()
        options.rescanInterval = rescanInterval ?? ConfigurationStore.shared.configuration.rescanInterval
        options.events = events ?? ConfigurationStore.shared.configuration.events
        // Asked for by name, fanotify that cannot work is a usage error, before anything starts.
        if options.events == .fanotify, let reason = FanotifyEvents.unavailableReason(roots: roots) {
            throw ValidationError("--events fanotify: \(reason)")
        }
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
            let live = LivePolicy(policy)
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

/// `--events`: one of `EventSourceChoice`.
enum EventsArgument {
    static func parse(_ text: String) throws -> EventSourceChoice {
        guard let value = EventSourceChoice(rawValue: text) else { throw ValidationError("--events: \(EventSourceChoice.expected), found '\(text)'") }
        return value
    }
}
