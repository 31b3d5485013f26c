import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// `taskreaper watch`: keeps every tree under its roots reconciled as things happen.
///
///     inotify / pidfd / timer / ctl ──▶ WorkQueue ──▶ SessionReconciler ──▶ report
///          (where to look)            (dirty + due)   (observe, decide, act)
///
/// One thread owns all state and waits in epoll, with the queue's earliest deadline as the
/// timeout, so an idle watcher never wakes. The loop only routes: events go to the
/// registry (inotify), the process watches (pidfds) or the control server, and whatever
/// they say to look at goes into the queue; an event never says *what* happened, the
/// reconciler observes afresh, so a lost or coalesced event costs latency, not correctness.
public final class Watcher {
    let context: ReconcileContext
    let options: WatchOptions
    let notifier = SystemdNotifier()

    let epoll: Epoll
    private let signals: SignalChannel
    let registry: WatchRegistry
    let processes: ProcessWatches
    var queue = WorkQueue<SessionID>()
    var control: ControlServer?
    var timers = WatchTimers()
    private var stopping = false
    /// The earliest moment a quarantined entry comes due (README "Quarantine retention").
    private var quarantineDue: Millis?

    static let inotifyToken: UInt64 = 0
    private static let signalToken: UInt64 = 1
    static let controlToken: UInt64 = 2
    private static let pidfdTokenBase: UInt64 = 16
    static let clientTokenBase: UInt64 = 1 << 32

    /// Signals are blocked here, before any worker thread exists, so every thread inherits
    /// the mask and SIGTERM/SIGINT/SIGHUP only ever arrive through the signalfd.
    public init(roots: [String], context: ReconcileContext, options: WatchOptions = WatchOptions()) throws(SystemError) {
        self.context = context
        self.options = options
        signals = try SignalChannel()
        epoll = try Epoll()
        let events = try Self.eventSource(options.events, reporter: context.reporter)
        for fd in events.descriptors { try epoll.add(fd, token: Self.inotifyToken) }
        try epoll.add(signals.fd, token: Self.signalToken)
        registry = WatchRegistry(roots: roots, inotify: events, context: context, options: options)
        processes = ProcessWatches(epoll: epoll, tokenBase: Self.pidfdTokenBase, context: context,
                                   pollInterval: options.groupRecheckInterval)
        DescriptorLimit.raiseSoftToHard()
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0).
    public func run() -> Int32 {
        let started = context.clock()
        timers.startedAt = started
        openControlSocket()
        registry.openRoots()
        rescan(reason: "start")
        switchEventsIfWanted()
        registry.startPassDone = true
        timers.start(now: context.clock(), watchdog: notifier.watchdogInterval(), rescanInterval: options.rescanInterval)
        notifier.notify("READY=1\nSTATUS=\(status())")
        timers.statusSent(at: context.clock())
        while !stopping {
            for token in epoll.wait(timeoutMs: timeout()) {
                switch token {
                case Self.inotifyToken: apply(registry.handle(registry.inotify.readEvents()))
                case Self.signalToken: handleSignals()
                case Self.controlToken: acceptClients()
                case Self.clientTokenBase...: control?.serve(Int32(truncatingIfNeeded: token - Self.clientTokenBase), self)
                default: for key in processes.exited(token: token) { queue.add(key) }
                }
            }
            // A root read-only in the sandbox: nothing can be done there before a restart.
            if stopping || registry.restartReason != nil { break }
            runDue()
            reconcileDirty()
            switchEventsIfWanted()
        }
        notifier.notify("STOPPING=1")
        _ = context.reporter.summarize(roots: registry.rootPaths, durationMs: age(of: started, at: context.clock()),
                                       watchingSessions: registry.sessionCount)
        return registry.restartReason == nil ? ExitStatus.success : ExitStatus.locked
    }

    // MARK: Waiting

    private func timeout() -> Int32 {
        if queue.hasDirty || registry.restartReason != nil { return 0 }  // something to do right away
        var next = queue.nextDeadline()
        for candidate in [timers.next, registry.uncoveredRescanAt, registry.nextRetry, control?.nextExpiry, quarantineDue] {
            next = earliest(next, candidate)
        }
        guard let next else { return -1 }
        let now = context.clock()
        return next <= now ? 0 : Int32(clamping: next - now)
    }

    private func runDue() {
        let now = context.clock()
        if timers.watchdogDue(now: now, interval: notifier.watchdogInterval()) { notifier.notify("WATCHDOG=1") }
        queue.promoteDue(now: now)
        // A retry that opens nothing (a root still missing, still locked) is no new pass.
        if registry.retryDue(now: now), registry.openRoots() > 0 {
            rescan(reason: "root retry")
        }
        if timers.safetyRescanDue(now: now, interval: options.rescanInterval) {
            rescan(reason: "safety interval \(DurationText.format(options.rescanInterval))")
        }
        control?.expire(now: now)
        if let due = quarantineDue, due <= now {
            expireQuarantines()
            context.reporter.passFinished(durationMs: age(of: now, at: context.clock()))
            options.afterPass?(controlStatus())
        }
        if timers.statusDue(now: now) { notifier.notify("STATUS=\(status())") }
        if registry.uncoveredRescanDue(now: now) {
            rescan(reason: "part of the trees is unwatched (inotify watch limit)")
        }
    }

    private func handleSignals() {
        for signal in signals.read() {
            switch signal {
            case .stop: stopping = true
            case .rescan:
                options.onHangup?()  // re-read the configuration first (README "Configuration")
                rescan(reason: "SIGHUP")
            }
        }
    }

    // MARK: Routing

    /// What the registry learned goes into the queue; what is gone leaves it, with its pidfds
    /// (first: a forgotten session's id may be a new session's in `look`).
    private func apply(_ changes: RegistryChanges) {
        for id in changes.forgotten {
            queue.forget(id)
            processes.release(id)
        }
        for id in changes.look { queue.add(id) }
        if let reason = changes.rescan { rescan(reason: reason) }
    }

    /// Look at everything: every root not open yet is looked for again (so SIGHUP and
    /// `ctl rescan` pick up a root inotify could not announce), then every tree of every
    /// open root, every session in them.
    func rescan(reason: String) {
        registry.openRoots()
        if registry.restartReason != nil { return }  // exiting for a restart: no pass now
        apply(registry.discover())
        var event = ActionReport(.rescan, path: registry.rootPaths.joined(separator: ":"),
                                 location: Location(root: registry.rootPaths.first ?? "", harness: nil),
                                 message: "Looking at every tree again (\(reason))")
        event.reason = reason
        context.reporter.report(event)
        // Before the sessions, as in a sweep: what this pass quarantines stays until a later one.
        expireQuarantines()
        reconcileDirty()
        timers.statusChanged(now: context.clock())  // roots may have opened
    }

    /// Every open root's quarantines: at every rescan (start, SIGHUP, `ctl`, the safety
    /// interval), and when the earliest entry the last look found comes due. Entries the
    /// harness quarantines meanwhile are found at the next rescan (quarantines are not watched).
    private func expireQuarantines() {
        var next: Millis?
        for root in registry.roots {
            guard let handle = root.handle,
                  ReaderFloorCheck.allows(handle, rootPath: root.path, context: context, report: false) else { continue }
            next = earliest(next, QuarantineRetention(root: handle, rootPath: root.path, context: context).run())
        }
        quarantineDue = next
    }

    // MARK: Reconciling

    private func reconcileDirty() {
        guard queue.hasDirty else { return }
        let passStarted = context.clock()
        let pending = queue.takeDirty()
        // Many sessions at once (start, rescans, bursts) are reconciled in parallel, as sweep
        // does; a few here. In chunks: a first pass's outcomes are applied and freed a chunk
        // at a time, not held for every session at once (its peak RSS: bench-results/watch-*).
        let parallel = pending.count > Self.parallelBatch
        var removals: [SessionRemoval] = []
        for start in stride(from: 0, to: pending.count, by: Self.chunk) {
            removals += reconcile(pending[start..<min(pending.count, start + Self.chunk)], parallel: parallel)
        }
        // Empty sessions go together, after one look at who holds them open; in a dry run
        // they stay (and stay watched).
        let removed = SessionDirectoryRemoval.removeEmpty(removals, context: context) { key, at in
            guard let id = registry.session(key) else { return }
            queue.schedule(id, at: earliest(queue.deadline(of: id), at))
        }
        if !context.dryRun {
            let ids = removed.compactMap { registry.session($0) }
            for id in ids { registry.forgetSession(id) }
            apply(RegistryChanges(forgotten: ids))
        }
        timers.statusChanged(now: context.clock())
        context.reporter.passFinished(durationMs: age(of: passStarted, at: context.clock()))
        options.afterPass?(controlStatus())  // e.g. --metrics-file
        // Many sessions ran on worker threads: now that their outcomes are gone too, the free
        // pages between what stays go back (RSS after a first pass: bench-results/watch-*).
        if parallel { HeapRelease.returnFreePages() }
    }

    private static let parallelBatch = 16
    /// Sessions reconciled before their outcomes are applied: enough for the workers to stay
    /// busy, few enough that the outcomes are a small part of the heap.
    private static let chunk = 1024

    /// Reconciles these sessions and applies their outcomes; returns the empty ones to remove.
    private func reconcile(_ ids: ArraySlice<SessionID>, parallel: Bool) -> [SessionRemoval] {
        let work: [(SessionID, Tree, FileName)] = ids.compactMap { id in registry.session(id).map { (id, $0.tree, $0.name) } }
        // A protected session is not even watched (its reconcile reports it and forgets it).
        for (id, tree, name) in work where tree.protectingGlob(session: name, policy: context.policy) == nil {
            registry.watchSession(id)
        }
        let outcomes = Mutex([SessionOutcome?](repeating: nil, count: work.count))
        let context = self.context
        forEachConcurrently(work.count, workers: parallel ? 8 : 1) { index in
            if SignalChannel.stopPending { return }
            let outcome = SessionReconciler(tree: work[index].1, name: work[index].2, context: context,
                                            bundleWorkers: parallel ? 1 : 8).reconcile()
            outcomes.withLock { $0[index] = outcome }
        }
        let results = outcomes.withLock { $0 }
        for (index, (id, _, _)) in work.enumerated() {
            guard let outcome = results[index] else {
                queue.add(id)  // skipped because we are stopping
                continue
            }
            apply(outcome, to: id)
        }
        return results.compactMap { $0?.removal }
    }

    private func apply(_ outcome: SessionOutcome, to id: SessionID) {
        guard outcome.exists else {
            registry.forgetSession(id)
            apply(RegistryChanges(forgotten: [id]))
            return
        }
        registry.watchTaskFiles(id, outcome.watchDirectories)
        var due = outcome.nextDue
        switch processes.update(id, live: outcome.liveProcesses) {
        case .watched: break
        case .lookAgainNow: queue.add(id)
        case .poll: due = earliest(due, context.clock().adding(options.groupRecheckInterval))
        }
        queue.schedule(id, at: due)
    }

    // MARK: For tests and `ctl status`

    public var watchCount: Int { registry.watchCount }
    public var watchedProcessCount: Int { processes.count }
}
