import TaskReaperCore
import TaskReaperSystem

/// What every observe/decide/act step needs, shared by `sweep` and `watch`.
public struct ReconcileContext: Sendable {
    public var policy: Policy
    public var processes: ProcessTable
    public var reporter: Reporter
    /// Injected so tests can move time; the real one is WallClock.now.
    public var clock: @Sendable () -> Millis

    public init(policy: Policy, processes: ProcessTable, reporter: Reporter,
                clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.policy = policy
        self.processes = processes
        self.reporter = reporter
        self.clock = clock
    }

    /// Decide and report everything; change nothing (the reporter's mode: one source).
    public var dryRun: Bool { reporter.dryRun }

    /// When to look again at an item whose action just failed (Policy.failureRetry).
    func retryAfterFailure() -> Millis { clock().adding(policy.failureRetry) }

    /// "Removed ..." or "Would remove ...": the same sentence in both modes.
    func verb(_ done: String, _ wouldDo: String) -> String { dryRun ? "Would \(wouldDo)" : done }
}
