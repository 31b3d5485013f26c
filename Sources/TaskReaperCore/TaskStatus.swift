/// The harness's task states (CONTRACT §3); the last four are terminal.
public enum TaskStatus: String, Sendable, CaseIterable {
    case starting, running, killing, completed, failed, killed
    case timedOut = "timed_out"

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .killed, .timedOut: return true
        case .starting, .running, .killing: return false
        }
    }
}

/// How the harness captures output; missing in the JSON means pipes.
public enum TaskMode: String, Sendable {
    case pipes, pty
}
