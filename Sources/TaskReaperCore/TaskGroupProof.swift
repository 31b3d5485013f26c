/// What /proc says about the process whose pid is a process group's number: its leader.
public struct GroupLeader: Equatable, Sendable {
    /// Start time, Unix ms; nil when /proc could not tell.
    public var startedAt: Millis?
    /// Real uid (/proc/<pid>/status `Uid:`, first field); nil when unreadable.
    public var uid: UInt32?
    /// The group it is in now (stat field 5): a leader that moved is no longer one.
    public var processGroup: Int32

    public init(startedAt: Millis?, uid: UInt32?, processGroup: Int32) {
        self.startedAt = startedAt
        self.uid = uid
        self.processGroup = processGroup
    }
}

/// A process group proven to be a task's own: the only thing taskreaper ever signals.
/// Only `TaskGroupProof.check` makes one.
public struct ProvenGroup: Equatable, Sendable {
    public let pgid: Int32
    /// The leader as it was when the proof was made.
    public let leader: GroupLeader

    fileprivate init(pgid: Int32, leader: GroupLeader) {
        self.pgid = pgid
        self.leader = leader
    }

    /// Still the very process the proof was made on (same start time, uid and group): asked
    /// again before every signal, so the SIGKILL after the grace never reaches a group whose
    /// leader exited and whose number now names someone else's.
    public func isSameLeader(_ current: GroupLeader?) -> Bool { current == leader }
}

/// Issue 11.3: before `--enforce-timeouts` signals a group named by a task JSON (untrusted:
/// run as root on a user's tree, any user could otherwise make us kill any process group),
/// prove the group is the task's. Pure: ProcessTable probes the leader and our own group.
public enum TaskGroupProof {
    public enum Verdict: Equatable, Sendable {
        case proven(ProvenGroup)
        /// Why the group is not provably the task's; nothing may be signalled.
        case refused(String)
    }

    /// - Parameters:
    ///   - pgid, childPID, startedAt: from the task JSON.
    ///   - leader: /proc's account of process `pgid`; nil when there is none.
    ///   - fileOwner: the uid owning the task JSON: the tree's owner.
    ///   - ourGroup: getpgrp() of taskreaper itself.
    ///   - slack: how far the leader's start may be from started_at (clock granularity,
    ///     the harness's own delay between spawn and recording the time).
    public static func check(pgid: Int32?, childPID: UInt32?, startedAt: Millis, leader: GroupLeader?,
                             fileOwner: UInt32, ourGroup: Int32, slack: Millis) -> Verdict {
        guard let pgid else { return .refused("the task records no pgid") }
        // kill(-1) is everyone, kill(0) our own group, 1 is init's: never a task's group.
        guard pgid > 1 else { return .refused("pgid \(pgid) can never be a task's group") }
        guard pgid != ourGroup else { return .refused("pgid \(pgid) is taskreaper's own process group") }
        // The harness's wrapper calls setsid, so its group is numbered after it; a group the
        // JSON names on its own proves nothing.
        guard let childPID else { return .refused("child_pid is null, so pgid \(pgid) cannot be matched to the task's process") }
        guard Int64(childPID) == Int64(pgid) else {
            return .refused("pgid \(pgid) is not child_pid \(childPID) (the task's wrapper leads its own group)")
        }
        guard let leader else { return .refused("no process \(pgid) leads it") }
        guard leader.processGroup == pgid else {
            return .refused("process \(pgid) no longer leads it (it is in group \(leader.processGroup))")
        }
        guard let leaderStart = leader.startedAt else { return .refused("the start time of its leader is unknown") }
        guard leaderStart.distance(to: startedAt) <= slack else {
            return .refused("its leader started at \(leaderStart), \(leaderStart.distance(to: startedAt)) ms from the task's started_at \(startedAt) (more than \(DurationText.format(slack)))")
        }
        guard let uid = leader.uid else { return .refused("the uid of its leader is unknown") }
        guard uid == fileOwner else { return .refused("leader uid \(uid) != file owner \(fileOwner)") }
        return .proven(ProvenGroup(pgid: pgid, leader: leader))
    }
}
