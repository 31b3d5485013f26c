/// What the process table says about one pid: the raw facts a probe gathers.
public enum PidProbe: Equatable, Sendable {
    /// kill(pid, 0) failed with ESRCH.
    case absent
    /// The pid exists (kill succeeded, or failed with EPERM: another user's process).
    /// `startedAt` is its start time in Unix ms from /proc (nil if /proc could not tell).
    case present(startedAt: Millis?, zombie: Bool)
}

/// What the process table says about a process group.
public enum GroupProbe: Equatable, Sendable {
    /// kill(-pgid, 0) failed with ESRCH.
    case absent
    /// The group exists but every member is a zombie (PID 1 never reaps them here).
    case onlyZombies
    /// At least one member is not a zombie, or EPERM (another user's group): alive.
    case live
}

public enum Liveness: Equatable, Sendable {
    case alive
    case gone
}

/// CONTRACT §5 "A task's processes are gone when all of these hold". Pure: the caller
/// probes; `group` is a closure because the group scan (/proc walk) is only needed when
/// the pid alone does not prove the task alive.
public enum LivenessRules {
    public static func assess(
        startedAt: Millis,
        childPID: UInt32?,
        pgid: Int32?,
        bootTime: Millis,
        policy: Policy,
        pid: (UInt32) -> PidProbe,
        group: (Int32) -> GroupProbe
    ) -> Liveness {
        // A task from before this boot: its numbers now name other processes.
        if startedAt < bootTime { return .gone }
        // Nothing to probe: assume alive (the spawn-grace rule handles `starting`).
        if childPID == nil, pgid == nil { return .alive }

        var pidReused = false
        if let childPID {
            switch pid(childPID) {
            case .absent:
                break
            case .present(let processStart, let zombie):
                if let processStart, processStart > startedAt.adding(policy.pidReuseSlack) {
                    pidReused = true
                } else if !zombie {
                    return .alive
                }
            }
        }
        guard let pgid else { return .gone }
        // Linux keeps a pid number allocated while it is anyone's pgid: if the group
        // leader's number was reused, the old group is gone too.
        if pidReused, let childPID, Int64(pgid) == Int64(childPID) { return .gone }
        switch group(pgid) {
        case .absent, .onlyZombies: return .gone
        case .live: return .alive
        }
    }

    /// A protocol temp file's writer: gone when absent, a zombie, or a process that started
    /// after the file already existed (the pid was reused: this process did not create it).
    /// `fileExistedBy` must be a time only the kernel sets (FileStatus.existedBy: birth time,
    /// else ctime), never the mtime: a live writer may set or keep an old mtime (and on a
    /// freshly booted machine every process started after any old mtime), so comparing with
    /// the mtime called live writers gone and their temp files were deleted mid-write.
    public static func writerIsGone(_ probe: PidProbe, fileExistedBy: Millis) -> Bool {
        switch probe {
        case .absent: return true
        case .present(let startedAt, let zombie):
            if zombie { return true }
            // /proc start times have 1 s (btime) granularity: allow that much.
            if let startedAt, startedAt > fileExistedBy.adding(.second) { return true }
            return false
        }
    }
}
