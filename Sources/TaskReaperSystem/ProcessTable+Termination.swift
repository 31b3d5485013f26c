#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// Signalling a task's process group (`--enforce-timeouts`), only once it is proven to be
/// the task's (issue 11.3), and checking before each signal that it still is.
extension ProcessTable {
    /// Issue 11.3: whether `task`'s recorded group is provably its own (TaskGroupProof), from
    /// /proc's account of the group's leader and our own group. `fileOwner`: the owner of
    /// the task JSON. Nothing is signalled without a `.proven` answer from here.
    public func proveGroup(of task: TaskDocument, fileOwner: uid_t, policy: Policy) -> TaskGroupProof.Verdict {
        TaskGroupProof.check(pgid: task.pgid, childPID: task.childPID, startedAt: task.startedAt,
                             leader: task.pgid.flatMap(leader(of:)), fileOwner: fileOwner, ourGroup: getpgrp(),
                             slack: policy.pidReuseSlack)
    }

    public enum TerminationResult: Equatable, Sendable {
        /// Nothing live in the group (absent, or only zombies): no signal was needed.
        case alreadyGone
        case exitedAfterTERM
        case killed
        /// The leader is no longer the process the proof was made on (it exited and was
        /// reaped, or its number now names another process): no signal (more) was sent.
        /// `termSent`: SIGTERM went out before, and the group outlived it.
        case leaderChanged(termSent: Bool)
        case failed(SystemError)
    }

    /// SIGTERM to a proven group, up to `grace` for it to go (absent or only zombies), then
    /// SIGKILL. Before each signal the leader must still be the one the proof saw.
    public func terminate(_ group: ProvenGroup, grace: Millis) -> TerminationResult {
        let pgid = group.pgid
        // A group of zombies accepts signals but has nothing left to end.
        guard probe(group: pgid) == .live else { return .alreadyGone }
        guard group.isSameLeader(leader(of: pgid)) else { return .leaderChanged(termSent: false) }
        if kill(-pgid, SIGTERM) != 0 {
            return errno == ESRCH ? .alreadyGone : .failed(SystemError("kill -TERM", "process group \(pgid)"))
        }
        // Monotonic: a wall-clock step must not stretch or skip the grace.
        let deadline = MonotonicClock.now().adding(grace)
        repeat {
            if probe(group: pgid) != .live { return .exitedAfterTERM }
            usleep(10_000)
        } while MonotonicClock.now() < deadline
        if probe(group: pgid) != .live { return .exitedAfterTERM }
        guard group.isSameLeader(leader(of: pgid)) else { return .leaderChanged(termSent: true) }
        if kill(-pgid, SIGKILL) != 0 {
            return errno == ESRCH ? .exitedAfterTERM : .failed(SystemError("kill -KILL", "process group \(pgid)"))
        }
        return .killed
    }

    /// Process `pgid` as a group leader: start time and group from /proc/<pgid>/stat, real
    /// uid from /proc/<pgid>/status. Nil when there is no such process (or it is not ours to
    /// read): a zombie leader still answers, its number cannot be reused while it is one.
    func leader(of pgid: Int32) -> GroupLeader? {
        // Never a task's group leader, and kill(-pgid) with these would hit us, everyone, init.
        guard pgid > 1 else { return nil }
        var failure: Int32 = 0
        let stat = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ProcStat.bufferSize) { buffer in
            ProcFile.withContents(at: AT_FDCWD, "/proc/\(pgid)/stat", into: buffer, errno: &failure) { ProcStat.parse($0) }
        }
        guard let stat else { return nil }
        let uid = ProcFile.read("/proc/\(pgid)/status", limit: 1 << 16).flatMap { ProcStatus.realUID(in: $0) }
        return GroupLeader(startedAt: startedAt(stat), uid: uid, processGroup: stat.pgrp)
    }
}
