import TaskReaperCore
import TaskReaperSystem

/// pidfds on the processes that keep running tasks alive, so `watch` hears the moment one
/// exits instead of polling. One pidfd per process, shared by every session whose tasks
/// name it; a session's set is replaced by each reconcile of it, so a pidfd goes as soon as
/// no task needs it any more (finalized, removed, session gone), not only when the process
/// exits. Out of descriptors (EMFILE), a task is polled instead, and that is reported once
/// per episode and shown in `ctl status`: never a silent stop.
final class ProcessWatches {
    /// How `watch` covers a session's live tasks after `update`.
    enum Coverage: Comparable {
        /// Every live task has a pidfd.
        case watched
        /// Some task cannot be watched (another user's group, no descriptors left): poll it.
        case poll
        /// A task died between its decision and the watch: look again now.
        case lookAgainNow
    }

    private struct Watched {
        let pidfd: PidFD
        var owners: Set<SessionKey> = []
    }

    private let epoll: Epoll
    private let tokenBase: UInt64
    private let context: ReconcileContext
    /// How often an unwatchable task is looked at (for the message).
    private let pollInterval: Millis
    private var watched: [Int32: Watched] = [:]  // by pid
    private var pidByFD: [Int32: Int32] = [:]
    /// Per session, the pids its live tasks depend on (sorted): an array, not a Set, as a
    /// session holds a few (100 000 sessions: 5 MiB, not 15).
    private var interests: [SessionKey: [Int32]] = [:]
    /// pidfd_open failed for lack of descriptors, and has not succeeded since.
    private(set) var limitReached = false

    init(epoll: Epoll, tokenBase: UInt64, context: ReconcileContext, pollInterval: Millis) {
        self.epoll = epoll
        self.tokenBase = tokenBase
        self.context = context
        self.pollInterval = pollInterval
    }

    var count: Int { watched.count }

    /// The processes `key`'s live tasks depend on are now exactly those of `live`.
    func update(_ key: SessionKey, live: [LiveProcess]) -> Coverage {
        var wanted: Set<Int32> = []
        var coverage = Coverage.watched
        for process in live {
            switch watch(process) {
            case .watching(let pids): wanted.formUnion(pids)
            case .died: coverage = max(coverage, .lookAgainNow)
            case .unwatchable: coverage = max(coverage, .poll)
            }
        }
        let previous = Set(interests[key] ?? [])
        for pid in wanted.subtracting(previous) { watched[pid]?.owners.insert(key) }
        for pid in previous.subtracting(wanted) { watched[pid]?.owners.remove(key) }
        interests[key] = wanted.isEmpty ? nil : wanted.sorted()
        for pid in wanted.union(previous) where watched[pid]?.owners.isEmpty == true { unwatch(pid) }
        return coverage
    }

    /// The session is gone: its processes are no one's concern through it any more.
    func release(_ key: SessionKey) { _ = update(key, live: []) }

    func release(where matches: (SessionKey) -> Bool) {
        for key in interests.keys where matches(key) { release(key) }
    }

    /// Whether an epoll token is one of ours.
    func owns(token: UInt64) -> Bool { token >= tokenBase && pidByFD[Int32(truncatingIfNeeded: token - tokenBase)] != nil }

    /// A pidfd fired: the process exited. Returns the sessions to look at again.
    func exited(token: UInt64) -> Set<SessionKey> {
        guard let pid = pidByFD[Int32(truncatingIfNeeded: token - tokenBase)], let entry = watched[pid] else { return [] }
        for key in entry.owners { interests[key]?.removeAll { $0 == pid } }
        unwatch(pid)
        return entry.owners
    }

    // MARK: One task

    private enum Watch {
        case watching(Set<Int32>)
        case died
        case unwatchable
    }

    /// Its wrapper, verified to be the task's process (not a reused pid); or, when the
    /// wrapper is gone but the group lives on (a background child, or members still dying
    /// from a group SIGKILL), every live member of the group.
    private func watch(_ process: LiveProcess) -> Watch {
        if process.pid > 0, process.pid <= UInt32(Int32.max) {
            let pid = Int32(process.pid)
            switch pidfd(for: pid) {
            case .unavailable: return .unwatchable
            case .opened(let fd):
                // Opened first, verified second: if the pid was reused before the open, /proc
                // now describes the impostor and we give up on it; if after, the pidfd fired.
                if isTasksProcess(pid, process) {
                    if let fd, !register(pid, fd) { return .unwatchable }
                    return .watching([pid])
                }
            case .noProcess: break
            }
        }
        guard let pgid = process.pgid else { return .unwatchable }
        var pids: Set<Int32> = []
        for member in context.processes.liveMembers(of: pgid) {
            switch pidfd(for: member) {
            case .unavailable: return .unwatchable
            case .noProcess: continue
            case .opened(let fd):
                // A member of the group now is a member of the task: pgids are not reused
                // while any process holds them.
                guard context.processes.probe(group: pgid) == .live else { continue }
                if let fd, !register(member, fd) { return .unwatchable }
                pids.insert(member)
            }
        }
        if !pids.isEmpty { return .watching(pids) }
        return context.processes.probe(group: pgid) == .live ? .unwatchable : .died
    }

    private enum Opening {
        /// A new pidfd (nil: the process is already watched).
        case opened(PidFD?)
        case noProcess
        case unavailable
    }

    private func pidfd(for pid: Int32) -> Opening {
        if watched[pid] != nil { return .opened(nil) }
        do {
            guard let fd = try PidFD.open(pid) else { return .noProcess }
            limitReached = false
            return .opened(fd)
        } catch {
            reportLimit(error)
            return .unavailable
        }
    }

    private func isTasksProcess(_ pid: Int32, _ process: LiveProcess) -> Bool {
        guard case .present(let startedAt, false) = context.processes.probe(pid: UInt32(pid)) else { return false }
        return (startedAt ?? 0) <= process.taskStartedAt.adding(context.policy.pidReuseSlack)
    }

    /// False when epoll refused it (ENOMEM, the epoll watch limit): the caller polls.
    private func register(_ pid: Int32, _ pidfd: PidFD) -> Bool {
        guard (try? epoll.add(pidfd.fd, token: tokenBase + UInt64(pidfd.fd))) != nil else { return false }
        watched[pid] = Watched(pidfd: pidfd)
        pidByFD[pidfd.fd] = pid
        return true
    }

    private func unwatch(_ pid: Int32) {
        guard let entry = watched.removeValue(forKey: pid) else { return }
        pidByFD[entry.pidfd.fd] = nil
        epoll.remove(entry.pidfd.fd)  // and the descriptor closes with the entry
    }

    private func reportLimit(_ error: SystemError) {
        guard !limitReached else { return }
        limitReached = true
        var event = ActionReport(.descriptorLimit, path: error.path, location: Location(root: "", harness: nil),
                                 message: "Cannot watch more processes (\(error)): tasks without a pidfd are looked at every "
                                     + "\(DurationText.format(pollInterval)); raise LimitNOFILE= or `ulimit -n`")
        event.details = [("error", .string(error.code.description))]
        context.reporter.report(event)
    }
}
