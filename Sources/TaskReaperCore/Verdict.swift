/// A finalization as the seed's `mark_terminal(status, exit_code, reason)` takes it.
public struct Finalization: Equatable, Sendable {
    public var from: TaskStatus
    public var to: TaskStatus
    public var exitCode: Int32?
    public var reason: String?
    /// Write a `killed` marker first when none is present (the harness's kill path).
    public var writeKilledMarker: Bool

    public init(from: TaskStatus, to: TaskStatus, exitCode: Int32?, reason: String?, writeKilledMarker: Bool = false) {
        self.from = from
        self.to = to
        self.exitCode = exitCode
        self.reason = reason
        self.writeKilledMarker = writeKilledMarker
    }
}

public enum RemovalReason: String, Sendable {
    /// completion_delivered and older than retention.
    case delivered
    /// never delivered and older than abandoned-after.
    case abandoned
}

/// The outcome of deciding one bundle whose JSON parsed.
public enum Verdict: Equatable, Sendable {
    /// Nothing to do now; look again at `recheckAt` (Unix ms) if something will be due then.
    case leave(recheckAt: Millis?)
    case finalize(Finalization)
    /// SIGTERM the group, wait the termination grace, SIGKILL, then finalize.
    case enforceTimeout(Finalization)
    case removeBundle(RemovalReason)
}

/// The outcome for things that are not a well-formed bundle: strays, corrupt JSON, empty
/// session directories.
public enum StrayVerdict: Equatable, Sendable {
    case leave(recheckAt: Millis?)
    case remove
    /// Corrupt JSON: move it and its members to the quarantine beside the tree.
    case quarantine
}
