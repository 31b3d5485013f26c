/// Where a report points: the tree it is in and, when known, the session and task.
public struct Location: Sendable, Equatable {
    public var root: String
    /// nil for the legacy `<root>/bash-tasks` layout.
    public var harness: String?
    /// The session directory's name (`<session_hash>`).
    public var session: String?
    /// From the file name, never from the JSON.
    public var taskID: String?

    public init(root: String, harness: String?, session: String? = nil, taskID: String? = nil) {
        self.root = root
        self.harness = harness
        self.session = session
        self.taskID = taskID
    }
}
