import TaskReaperCore
import TaskReaperSystem

/// What every observe/decide/act step needs, shared by `sweep` (and later `watch`).
public struct ReconcileContext: Sendable {
    public var policy: Policy
    /// Decide and report everything; change nothing.
    public var dryRun: Bool
    public var processes: ProcessTable
    public var reporter: Reporter
    /// Injected so tests can move time; the real one is WallClock.now.
    public var clock: @Sendable () -> Millis

    public init(policy: Policy, dryRun: Bool, processes: ProcessTable, reporter: Reporter,
                clock: @escaping @Sendable () -> Millis = WallClock.now) {
        self.policy = policy
        self.dryRun = dryRun
        self.processes = processes
        self.reporter = reporter
        self.clock = clock
    }

    /// "Removed ..." or "Would remove ...": the same sentence in both modes.
    func verb(_ done: String, _ wouldDo: String) -> String { dryRun ? "Would \(wouldDo)" : done }
}

/// Size limits for what we read: a task JSON beyond this is not the harness's; a marker
/// is a handful of bytes.
enum ReadLimits {
    static let taskJSON = 16 << 20
    static let marker = 4096
}
