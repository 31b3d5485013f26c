import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// What every observe/decide/act step needs, shared by `sweep` and `watch`.
public struct ReconcileContext: Sendable {
    /// The thresholds; in `watch`, read from a `LivePolicy` a SIGHUP may swap.
    public var policy: Policy {
        get { live?.current ?? fixedPolicy }
        set { fixedPolicy = newValue; live = nil }
    }
    private var fixedPolicy: Policy
    private var live: LivePolicy?
    public var processes: ProcessTable
    public var reporter: Reporter
    /// Injected so tests can move time; the real one is WallClock.now.
    public var clock: @Sendable () -> Millis

    public init(policy: Policy, processes: ProcessTable, reporter: Reporter,
                clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.fixedPolicy = policy
        self.processes = processes
        self.reporter = reporter
        self.clock = clock
    }

    /// A context whose policy is `live`'s current one: every copy of it sees a swap.
    public init(livePolicy: LivePolicy, processes: ProcessTable, reporter: Reporter,
                clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.init(policy: livePolicy.current, processes: processes, reporter: reporter, clock: clock)
        live = livePolicy
    }

    /// Decide and report everything; change nothing (the reporter's mode: one source).
    public var dryRun: Bool { reporter.dryRun }

    /// When to look again at an item whose action just failed (Policy.failureRetry).
    func retryAfterFailure() -> Millis { clock().adding(policy.failureRetry) }

    /// "Removed ..." or "Would remove ...": the same sentence in both modes.
    func verb(_ done: String, _ wouldDo: String) -> String { dryRun ? "Would \(wouldDo)" : done }
}

/// A policy that can be replaced while `watch` runs (SIGHUP with a good configuration).
/// Every decision reads it once per use; a swap is seen by the next one.
public final class LivePolicy: Sendable {
    private let value: Mutex<Policy>

    public init(_ policy: Policy) { value = Mutex(policy) }

    public var current: Policy { value.withLock { $0 } }

    public func replace(_ policy: Policy) { value.withLock { $0 = policy } }
}
