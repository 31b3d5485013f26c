#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// `taskreaper watch`: keeps every tree under its roots reconciled as things happen.
/// One thread owns all state: it waits in epoll on inotify, signals and pidfds, with the
/// earliest deadline any decision asked for as the timeout, so an idle watcher never
/// wakes. An event only says which session to look at; the decision always comes from a
/// fresh observation (the same SessionReconciler as `sweep`), so a lost or coalesced event
/// costs latency, never correctness.
public final class Watcher {
    let context: ReconcileContext
    let options: WatchOptions
    let notifier = SystemdNotifier()

    private let epoll: Epoll
    private let inotify: Inotify
    private let signals: SignalChannel

    private var roots: [RootState]
    private var targets: [Int32: WatchTarget] = [:]
    /// Parent directory watch -> the roots in it (several roots may share a parent).
    private var rootParents: [Int32: [Int]] = [:]
    private var trees: [String: TreeState] = [:]
    private var sessions: [SessionKey: Int32] = [:]  // watched session -> wd
    private var deadlines: [SessionKey: Millis] = [:]
    private var pidfds: [Int32: (key: SessionKey, process: LiveProcess)] = [:]
    private var watchedProcesses: [LiveProcess: Int32] = [:]
    private var dirty: Set<SessionKey> = []
    private var watchLimitReported = false
    private var uncoveredRescanAt: Millis?
    private var safetyRescanAt: Millis?
    private var watchdogAt: Millis?
    /// STATUS= is sent at most once a second: every message is a datagram the manager must
    /// read, and sd_notify blocks when its queue is full.
    private var statusDueAt: Millis?
    private var statusSentAt: Millis = 0
    private var stopping = false

    private static let inotifyToken: UInt64 = 0
    private static let signalToken: UInt64 = 1
    private static let controlToken: UInt64 = 2
    private static let pidfdTokenBase: UInt64 = 16
    private static let clientTokenBase: UInt64 = 1 << 32
    private var control: ControlServer?
    private var startedAt: Millis = 0

    struct RootState {
        let path: String
        var handle: DirectoryHandle?
        var wd: Int32?
        /// Missing or locked: try again at this moment.
        var retryAt: Millis?
        var lockReported = false
        /// The root's aft.db while the root is open.
        var mirror: TaskMirror?
    }

    struct TreeState {
        let tree: Tree
        let wd: Int32?
    }

    /// Signals are blocked here, before any worker thread exists, so every thread inherits
    /// the mask and SIGTERM/SIGINT/SIGHUP only ever arrive through the signalfd.
    public init(roots: [String], context: ReconcileContext, options: WatchOptions = WatchOptions()) throws(SystemError) {
        self.context = context
        self.options = options
        // One spelling per root: paths of trees are compared as strings.
        self.roots = roots.map { path in
            var path = path
            while path.count > 1, path.hasSuffix("/") { path.removeLast() }
            return RootState(path: path)
        }
        signals = try SignalChannel([SIGTERM, SIGINT, SIGHUP])
        epoll = try Epoll()
        inotify = try Inotify()
        try epoll.add(inotify.fd, token: Self.inotifyToken)
        try epoll.add(signals.fd, token: Self.signalToken)
        raiseDescriptorLimit()
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0).
    public func run() -> Int32 {
        let started = context.clock()
        startedAt = started
        openControlSocket()
        openRoots()
        rescan(reason: "start")
        if let interval = notifier.watchdogInterval() { watchdogAt = context.clock() + interval }
        if options.rescanInterval > 0 { safetyRescanAt = context.clock() + options.rescanInterval }
        notifier.notify("READY=1\nSTATUS=\(status())")
        statusSentAt = context.clock()
        statusDueAt = nil
        while !stopping {
            let tokens = epoll.wait(timeoutMs: timeout())
            for token in tokens {
                switch token {
                case Self.inotifyToken: handleInotify()
                case Self.signalToken: handleSignals()
                case Self.controlToken: acceptClients()
                case Self.clientTokenBase...: serveClient(Int32(token - Self.clientTokenBase))
                default: processExited(Int32(token - Self.pidfdTokenBase))
                }
            }
            if stopping { break }
            runDue()
            reconcileDirty()
        }
        notifier.notify("STOPPING=1")
        _ = context.reporter.summarize(roots: roots.map(\.path), dryRun: context.dryRun,
                                       durationMs: age(of: started, at: context.clock()))
        return ExitStatus.success
    }

    // MARK: Waiting

    private func timeout() -> Int32 {
        if !dirty.isEmpty { return 0 }  // something asked to be looked at again right away
        var next: Millis? = deadlines.values.min()
        for candidate in [watchdogAt, safetyRescanAt, uncoveredRescanAt, statusDueAt, control?.nextExpiry] + roots.map(\.retryAt) {
            next = earliest(next, candidate)
        }
        guard let next else { return -1 }
        let now = context.clock()
        return next <= now ? 0 : Int32(clamping: next - now)
    }

    private func runDue() {
        let now = context.clock()
        if let at = watchdogAt, at <= now, let interval = notifier.watchdogInterval() {
            notifier.notify("WATCHDOG=1")
            watchdogAt = now + interval
        }
        for (key, due) in deadlines where due <= now {
            deadlines[key] = nil
            dirty.insert(key)
        }
        if roots.contains(where: { ($0.retryAt ?? .max) <= now }) {
            for index in roots.indices where roots[index].handle != nil { roots[index].retryAt = nil }
            openRoots()
            rescan(reason: "root retry")
        }
        if let at = safetyRescanAt, at <= now {
            safetyRescanAt = now + options.rescanInterval
            rescan(reason: "safety interval \(DurationText.format(options.rescanInterval))")
        }
        _ = control?.expire(now: now)
        if let at = statusDueAt, at <= now {
            statusDueAt = nil
            statusSentAt = now
            notifier.notify("STATUS=\(status())")
        }
        if let at = uncoveredRescanAt, at <= now {
            uncoveredRescanAt = nil
            rescan(reason: "part of the trees is unwatched (inotify watch limit)")
        }
    }

    private func handleSignals() {
        for signal in signals.read() {
            switch signal {
            case SIGTERM, SIGINT: stopping = true
            case SIGHUP: rescan(reason: "SIGHUP")
            default: break
            }
        }
    }

    private func processExited(_ fd: Int32) {
        guard let entry = pidfds.removeValue(forKey: fd) else { return }
        watchedProcesses[entry.process] = nil
        epoll.remove(fd)
        close(fd)
        dirty.insert(entry.key)
    }

    // MARK: Control socket

    private func openControlSocket() {
        if let fd = UnixSocket.activated() {
            control = ControlServer(listener: fd, path: nil)
        } else if let path = options.controlSocketPath {
            do { control = ControlServer(listener: try UnixSocket.listen(at: path), path: path) } catch {
                context.reporter.failed(error, at: Location(root: roots.first?.path ?? "", harness: nil), dryRun: context.dryRun,
                                        doing: "open the control socket (watch goes on without it)")
            }
        }
        if let control {
            do { try epoll.add(control.listener, token: Self.controlToken) } catch { self.control = nil }
        }
    }

    private func acceptClients() {
        guard let control else { return }
        for fd in control.acceptPending(now: context.clock()) {
            if (try? epoll.add(fd, token: Self.clientTokenBase + UInt64(fd))) == nil { control.drop(fd) }
        }
    }

    private func serveClient(_ fd: Int32) {
        guard let control else { return }
        switch control.read(fd) {
        case .waiting, .rejected: return
        case .request(let line): control.finish(fd, answer(line.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")))
        }
    }

    /// The control protocol (README "Control socket").
    private func answer(_ request: String) -> JSONObject {
        var object = JSONObject()
        object["ok"] = .bool(true)
        switch request {
        case "status":
            let c = context.reporter.counters
            object["roots"] = .array(roots.map { .string($0.path) })
            object["roots_watched"] = .integer(roots.filter { $0.handle != nil }.count)
            object["trees"] = .integer(trees.count)
            object["sessions"] = .integer(sessions.count)
            object["inotify_watches"] = .integer(targets.count + rootParents.count)
            object["processes_watched"] = .integer(pidfds.count)
            object["pending_deadlines"] = .integer(deadlines.count)
            object["next_deadline"] = deadlines.values.min().map { .integer($0) } ?? .null
            object["watch_limit_reached"] = .bool(watchLimitReported)
            object["dry_run"] = .bool(context.dryRun)
            object["uptime_ms"] = .integer(age(of: startedAt, at: context.clock()))
            object["counts"] = .object(Self.counts(c))
        case "sweep":
            let before = context.reporter.counters
            let started = context.clock()
            rescan(reason: "ctl sweep")
            let after = context.reporter.counters
            var delta = Reporter.Counters()
            for kind in ActionKind.allCases { delta.actions[kind] = after[kind] - before[kind] }
            object["sessions"] = .integer(after.sessions - before.sessions)
            object["bundles"] = .integer(after.bundles - before.bundles)
            object["counts"] = .object(Self.counts(delta))
            object["duration_ms"] = .integer(age(of: started, at: context.clock()))
        case "rescan":
            rescan(reason: "ctl rescan")
        default:
            return ControlServer.error("unknown request '\(request.prefix(64))': expected status, sweep or rescan")
        }
        return object
    }

    private static func counts(_ c: Reporter.Counters) -> JSONObject {
        var counts = JSONObject()
        for kind in ActionKind.allCases where kind != .summary { counts[kind.rawValue] = .integer(c[kind]) }
        return counts
    }

    // MARK: Roots and trees

    private func openRoots() {
        var seen = Set<StorageRoot.Identity>()
        for index in roots.indices where roots[index].handle == nil {
            roots[index].retryAt = nil
            watchParent(of: index)
            let path = roots[index].path
            var st = stat()
            guard stat(path, &st) == 0 else { continue }  // comes back: the parent watch says so
            switch StorageRoot.open(path, lock: !context.dryRun, seen: &seen, context: context,
                                    reportLocked: !roots[index].lockReported) {
            case .opened(let handle):
                roots[index].handle = handle
                roots[index].mirror = TaskMirror(root: handle, rootPath: path, policy: context.policy)
                roots[index].lockReported = false
                roots[index].wd = addWatch(handle, mask: Inotify.directoryMask, target: .root(index))
            case .locked:
                // A sweep is running; it will finish. Try again soon.
                roots[index].lockReported = true
                roots[index].retryAt = context.clock() + options.rootRetryInterval
            case .duplicate:
                break
            case .failed:
                roots[index].retryAt = context.clock() + options.rootRetryInterval
            }
        }
    }

    /// The parent of a root tells when the root goes away or comes back.
    private func watchParent(of index: Int) {
        guard !rootParents.values.contains(where: { $0.contains(index) }) else { return }
        let components = roots[index].path.split(separator: "/", omittingEmptySubsequences: true)
        guard components.count > 0 else { return }
        let parent = "/" + components.dropLast().joined(separator: "/")
        do {
            // IN_MASK_ADD: roots sharing a parent share its watch descriptor.
            let wd = try inotify.addWatch(path: parent, mask: UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | IN_MASK_ADD))
            rootParents[wd, default: []].append(index)
        } catch {
            // Without it a vanished root is noticed by the retry timer only.
            roots[index].retryAt = context.clock() + options.rootRetryInterval
        }
    }

    private func rootGone(_ index: Int) {
        let path = roots[index].path
        if let wd = roots[index].wd { inotify.removeWatch(wd); targets[wd] = nil }
        roots[index].wd = nil
        roots[index].handle = nil  // releases the lock (once the trees and the mirror let go too)
        roots[index].mirror = nil
        for (treePath, state) in trees where state.tree.root == path { forgetTree(treePath) }
        for (wd, target) in targets {
            if case .harnessDirectory(let root, _) = target, root == index {
                inotify.removeWatch(wd)
                targets[wd] = nil
            }
        }
    }

    private func forgetHarnessDirectory(_ name: String, root index: Int) {
        for (wd, target) in targets {
            if case .harnessDirectory(index, name) = target {
                inotify.removeWatch(wd)
                targets[wd] = nil
            }
        }
        forgetTree(roots[index].path + "/" + name + "/" + Tree.directoryName)
    }

    /// Look at everything: every tree of every open root, every session in them.
    private func rescan(reason: String) {
        for index in roots.indices {
            guard let root = roots[index].handle else { continue }
            // A rescan is a new pass: an unusable aft.db is reported again.
            roots[index].mirror?.beginPass()
            for tree in Tree.discover(in: root, mirror: roots[index].mirror, context: context) {
                if let harness = tree.harness, !targets.values.contains(where: {
                    if case .harnessDirectory(index, harness) = $0 { return true }; return false
                }) {
                    _ = addWatch(tree.parent, mask: Inotify.directoryMask, target: .harnessDirectory(root: index, name: harness))
                }
                addTree(tree, markAll: true)
            }
            // Harness directories without a bash-tasks yet: watch for it to appear.
            if let entries = try? root.entries() {
                for entry in entries where entry.kind == .directory && !entry.name.hasPrefix(".")
                    && entry.name != Tree.directoryName && entry.name != Tree.quarantineName {
                    watchHarnessDirectory(entry.name, root: index)
                }
            }
        }
        var event = ActionReport(.rescan, path: roots.map(\.path).joined(separator: ":"), location: Location(root: roots.first?.path ?? "", harness: nil),
                                 dryRun: context.dryRun, message: "Looking at every tree again (\(reason))")
        event.reason = reason
        context.reporter.report(event)
        reconcileDirty()
    }

    private func watchHarnessDirectory(_ name: String, root index: Int) {
        guard let root = roots[index].handle else { return }
        let known = targets.values.contains { if case .harnessDirectory(index, name) = $0 { return true }; return false }
        guard !known, let directory = try? root.openDirectory(name) else { return }
        _ = addWatch(directory, mask: Inotify.directoryMask, target: .harnessDirectory(root: index, name: name))
        if (try? directory.status(Tree.directoryName))??.kind == .directory, let bashTasks = try? directory.openDirectory(Tree.directoryName) {
            addTree(Tree(root: roots[index].path, harness: name, directory: bashTasks, parent: directory, mirror: roots[index].mirror), markAll: true)
        }
    }

    private func addTree(_ tree: Tree, markAll: Bool) {
        let path = tree.directory.path
        if trees[path] == nil {
            let wd = addWatch(tree.directory, mask: Inotify.directoryMask | UInt32(IN_DELETE_SELF | IN_MOVE_SELF), target: .tree(path))
            trees[path] = TreeState(tree: tree, wd: wd)
        }
        guard markAll, let state = trees[path] else { return }
        for name in state.tree.sessionNames(context: context) {
            dirty.insert(SessionKey(tree: path, name: name))
        }
    }

    private func forgetTree(_ path: String) {
        guard let state = trees.removeValue(forKey: path) else { return }
        if let wd = state.wd { inotify.removeWatch(wd); targets[wd] = nil }
        for key in sessions.keys where key.tree == path { forgetSession(key) }
        for key in deadlines.keys where key.tree == path { deadlines[key] = nil }
        dirty = dirty.filter { $0.tree != path }
    }

    private func forgetSession(_ key: SessionKey) {
        if let wd = sessions.removeValue(forKey: key) {
            inotify.removeWatch(wd)
            targets[wd] = nil
        }
        deadlines[key] = nil
    }

    /// nil when the watch could not be added (reported; the rescan timer covers it).
    private func addWatch(_ directory: DirectoryHandle, mask: UInt32, target: WatchTarget) -> Int32? {
        do {
            let wd = try inotify.addWatch(directory, mask: mask)
            targets[wd] = target
            return wd
        } catch {
            if error.errno == ENOSPC {
                watchLimitReached(at: directory.path)
            } else {
                context.reporter.failed(error, at: Location(root: "", harness: nil), dryRun: context.dryRun, doing: "watch \(directory.path)")
            }
            return nil
        }
    }

    private func watchLimitReached(at path: String) {
        let now = context.clock()
        uncoveredRescanAt = min(uncoveredRescanAt ?? .max, now + options.uncoveredRescanInterval)
        guard !watchLimitReported else { return }
        watchLimitReported = true
        let limit = Inotify.maxUserWatches().map(String.init) ?? "unknown"
        var event = ActionReport(.watchLimit, path: path, location: Location(root: "", harness: nil), dryRun: context.dryRun,
                                 message: "inotify watch limit (\(limit)) reached at \(path): unwatched parts are rescanned every "
                                     + "\(DurationText.format(options.uncoveredRescanInterval)); raise it with "
                                     + "`sysctl fs.inotify.max_user_watches=<n>` (persist in /etc/sysctl.d/)")
        event.details = [("max_user_watches", .string(limit))]
        context.reporter.report(event)
    }

    // MARK: Events

    private func handleInotify() {
        for event in inotify.readEvents() {
            if event.overflowed {
                rescan(reason: "inotify queue overflow")
                continue
            }
            let appeared = event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0
            let vanished = event.mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0
            if let indices = rootParents[event.wd] {
                if event.watchEnded { rootParents[event.wd] = nil }
                for index in indices where roots[index].path.split(separator: "/").last.map(String.init) == event.name {
                    if vanished, roots[index].handle != nil { rootGone(index) }
                    if appeared {
                        openRoots()
                        rescan(reason: "root \(roots[index].path) appeared")
                    }
                }
                continue
            }
            guard let target = targets[event.wd] else { continue }
            if event.watchEnded { targets[event.wd] = nil }
            switch target {
            case .session(let key):
                if event.watchEnded {
                    sessions[key] = nil
                    deadlines[key] = nil
                } else if !event.selfGone {
                    dirty.insert(key)
                }
            case .tree(let path):
                if event.watchEnded {
                    forgetTree(path)
                } else if let name = event.name {
                    let key = SessionKey(tree: path, name: name)
                    if vanished { forgetSession(key) }
                    if appeared { dirty.insert(key) }
                }
            case .harnessDirectory(let root, let harness):
                guard !event.watchEnded, event.name == Tree.directoryName else { break }
                if vanished { forgetTree(roots[root].path + "/" + harness + "/" + Tree.directoryName) }
                if appeared, let parent = roots[root].handle.flatMap({ try? $0.openDirectory(harness) }),
                   let directory = try? parent.openDirectory(Tree.directoryName) {
                    addTree(Tree(root: roots[root].path, harness: harness, directory: directory, parent: parent, mirror: roots[root].mirror), markAll: true)
                }
            case .root(let index):
                guard !event.watchEnded, let name = event.name, event.isDirectory, let root = roots[index].handle else { break }
                if vanished {
                    if name == Tree.directoryName { forgetTree(roots[index].path + "/" + name) } else { forgetHarnessDirectory(name, root: index) }
                }
                if appeared {
                    if name == Tree.directoryName, let directory = try? root.openDirectory(name) {
                        addTree(Tree(root: roots[index].path, harness: nil, directory: directory, parent: root, mirror: roots[index].mirror), markAll: true)
                    } else if !name.hasPrefix("."), name != Tree.quarantineName {
                        watchHarnessDirectory(name, root: index)
                    }
                }
            }
        }
    }

    // MARK: Reconciling

    private func reconcileDirty() {
        guard !dirty.isEmpty else { return }
        let keys = Array(dirty)
        dirty.removeAll(keepingCapacity: true)
        let work: [(SessionKey, Tree)] = keys.compactMap { key in trees[key.tree].map { (key, $0.tree) } }
        // Watch first, then look: whatever changes after the listing raises an event.
        for (key, tree) in work where sessions[key] == nil {
            if let directory = try? tree.directory.openDirectory(key.name),
               let wd = addWatch(directory, mask: Inotify.sessionMask, target: .session(key)) {
                sessions[key] = wd
            }
        }
        let outcomes = Mutex([SessionOutcome?](repeating: nil, count: work.count))
        let context = self.context
        // Many sessions at once (start, rescans, bursts): in parallel, as sweep does; a few: here.
        let parallelSessions = work.count > 16
        forEachConcurrently(work.count, workers: parallelSessions ? 8 : 1) { index in
            if taskreaper_signal_pending(SIGTERM) != 0 || taskreaper_signal_pending(SIGINT) != 0 { return }
            let outcome = SessionReconciler(tree: work[index].1, name: work[index].0.name, context: context,
                                            bundleWorkers: parallelSessions ? 1 : 8).reconcile()
            outcomes.withLock { $0[index] = outcome }
        }
        let results = outcomes.withLock { $0 }
        for (index, (key, _)) in work.enumerated() {
            guard let outcome = results[index] else {
                dirty.insert(key)  // skipped because we are stopping
                continue
            }
            apply(outcome, to: key)
        }
        if statusDueAt == nil { statusDueAt = max(context.clock(), statusSentAt + .second) }
    }

    private func apply(_ outcome: SessionOutcome, to key: SessionKey) {
        guard outcome.exists else {
            forgetSession(key)
            return
        }
        var due = outcome.nextDue
        for process in outcome.liveProcesses where watchedProcesses[process] == nil {
            if !watch(process, pgid: process.pgid, for: key) {
                if let pgid = process.pgid, context.processes.probe(group: pgid) != .live {
                    // It died between the decision and the watch (members of a killed group
                    // die one by one): look again now.
                    dirty.insert(key)
                } else {
                    // Alive, but nothing to hold a pidfd on (e.g. another user's group).
                    due = earliest(due, context.clock() + options.groupRecheckInterval)
                }
            }
        }
        deadlines[key] = due
    }

    /// pidfds for a live task: its wrapper, verified to be the task's process (not a
    /// reused pid), or, when the wrapper is gone but the group lives on (a background child,
    /// or members still dying from a group SIGKILL), every live member of the group. False
    /// when nothing could be watched.
    private func watch(_ process: LiveProcess, pgid: Int32?, for key: SessionKey) -> Bool {
        if process.pid > 0, process.pid <= UInt32(Int32.max), let fd = PidFD.open(pid_t(process.pid)) {
            // Opened first, verified second: if the pid was reused before the open, /proc now
            // describes the impostor and we give up on it; if after, the pidfd already fired.
            if case .present(let startedAt, false) = context.processes.probe(pid: process.pid),
               (startedAt ?? 0) <= process.taskStartedAt + context.policy.pidReuseSlack, register(fd, process, key) {
                return true
            }
            close(fd)
        }
        guard let pgid else { return false }
        var watched = false
        for member in context.processes.liveMembers(of: pgid) {
            let stand = LiveProcess(pid: UInt32(member), taskStartedAt: process.taskStartedAt)
            if watchedProcesses[stand] != nil { watched = true; continue }
            guard let fd = PidFD.open(member) else { continue }
            // A member of the group now is a member of the task: pgids are not reused while
            // any process holds them.
            if context.processes.probe(group: pgid) == .live, register(fd, stand, key) { watched = true } else { close(fd) }
        }
        return watched
    }

    private func register(_ fd: Int32, _ process: LiveProcess, _ key: SessionKey) -> Bool {
        do { try epoll.add(fd, token: Self.pidfdTokenBase + UInt64(fd)) } catch { return false }
        pidfds[fd] = (key, process)
        watchedProcesses[process] = fd
        return true
    }

    private func status() -> String {
        let c = context.reporter.counters
        return "\(sessions.count) sessions in \(trees.count) trees, \(pidfds.count) processes watched; "
            + "\(c[.finalize]) finalized, \(c[.removeBundle]) removed, \(c[.error]) errors"
    }

    /// pidfds and inotify are descriptors: lift the soft limit to the hard one, as systemd
    /// recommends for daemons that select() nothing.
    private func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    // MARK: For tests and `ctl status`

    public var watchCount: Int { targets.count }
    public var watchedProcessCount: Int { pidfds.count }
}
