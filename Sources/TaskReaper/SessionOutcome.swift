import TaskReaperCore
import TaskReaperSystem

/// What reconciling a session asks of a watcher.
public struct SessionOutcome: Sendable {
    /// False when the session directory is gone (or was never one).
    public var exists = true
    /// The earliest moment something here asked to be looked at again.
    public var nextDue: Millis?
    /// Tasks left alone because their process is alive.
    public var liveProcesses: [LiveProcess] = []
    /// Task directories' `control/` and `io/` that `watch` should watch for this session:
    /// the harness replaces a record inside `control/` and the wrapper writes its marker
    /// in place inside `io/`, neither of which the session directory's watch sees.
    public var watchDirectories: [DirectoryHandle] = []
    /// The directory is empty and due for removal, unless a process holds it open: decided
    /// for all of a pass's sessions at once (`SessionDirectoryRemoval`).
    public var removal: SessionRemoval?
}

/// A task's wrapper process, with the task's started_at to tell a reused pid.
public struct LiveProcess: Sendable, Hashable {
    public let pid: UInt32
    public let taskStartedAt: Millis
    /// The task's process group, to watch its members when the wrapper is gone.
    public var pgid: Int32?

    public init(pid: UInt32, taskStartedAt: Millis, pgid: Int32? = nil) {
        self.pid = pid
        self.taskStartedAt = taskStartedAt
        self.pgid = pgid
    }
}
