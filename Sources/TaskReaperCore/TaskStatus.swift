/// The harness's task states (CONTRACT §3, §7.2); all but the first three are terminal.
/// `fate_unknown` (schema 5 and later): the process was gone after a restart and left no marker.
public enum TaskStatus: String, Sendable, CaseIterable {
    case starting, running, killing, completed, failed, killed
    case timedOut = "timed_out"
    case fateUnknown = "fate_unknown"

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .killed, .timedOut, .fateUnknown: return true
        case .starting, .running, .killing: return false
        }
    }
}

/// How the harness captures output; missing in the JSON means pipes.
public enum TaskMode: String, Sendable {
    case pipes, pty
}
