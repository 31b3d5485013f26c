import TaskReaperCore

/// One row of `taskreaper list`: a task as observed, and what taskreaper would do to it next
/// and when, decided by the very rules a sweep applies (`Decide`), never a copy of them.
public struct TaskListing: Sendable, Equatable {
    public enum Layout: String, Sendable { case flat, directory }

    /// Whether the task's process runs, as the sweep's probe says.
    public enum Process: String, Sendable {
        case alive, gone
        /// Nothing to probe (no pid recorded) or nothing readable (a corrupt record).
        case unknown
        /// Not probed: a terminal task has no process to ask about.
        case none = "-"
    }

    /// What comes next: an action of the sweep's vocabulary at a moment (now or later).
    public struct Next: Sendable, Equatable {
        public var action: ActionKind
        /// Unix ms; at or before `observedAt`: due now.
        public var at: Millis
        /// The status a finalization writes, or the removal's reason (`delivered`...).
        public var detail: String?
        /// The reason a finalization writes, or why a record is quarantined.
        public var reason: String?
    }

    public var root: String
    public var harness: String?
    public var session: String
    public var taskID: String
    public var layout: Layout
    /// The record (`<id>.json`, `<id>/control/metadata.json`), or the task directory.
    public var path: String
    /// The record's status, or `corrupt`, `initialising`, `unsupported` when there is none to read.
    public var status: String
    public var isTerminal: Bool
    public var startedAt: Millis?
    public var process: Process
    /// completion_delivered of a terminal task; nil otherwise.
    public var delivered: Bool?
    public var next: Next?
    /// What is wrong with a record that is not a usable task.
    public var problem: String?
    /// When the observation was made (Unix ms).
    public var observedAt: Millis

    public var age: Millis? { startedAt.map { TaskReaperCore.age(of: $0, at: observedAt) } }
    public var isDue: Bool { next.map { $0.at <= observedAt } ?? false }

    /// `list`'s default: what is not finished, or what taskreaper still has something to do to.
    public var isOfInterest: Bool { !isTerminal || next != nil }
}

extension TaskListing {
    /// The next verdict that is an action, by asking `Decide.task` again at each moment it
    /// asks to look again, with everything else as observed (at most a few steps: every
    /// rule's deadline is one of them). nil: nothing will ever be done with these facts.
    static func next(_ observation: TaskObservation, policy: Policy) -> Next? {
        var moment = observation
        for _ in 0..<6 {
            switch Decide.task(moment, policy: policy) {
            case .leave(let recheckAt):
                guard let at = recheckAt, at > moment.now else { return nil }
                moment.now = at
            case .finalize(let f):
                return Next(action: .finalize, at: moment.now, detail: f.to.rawValue, reason: f.reason)
            case .enforceTimeout(let f):
                return Next(action: .terminateGroup, at: moment.now, detail: f.to.rawValue, reason: f.reason)
            case .removeBundle(let reason):
                return Next(action: .removeBundle, at: moment.now, detail: reason.rawValue, reason: nil)
            }
        }
        return nil
    }

    /// A record that cannot be used: reported while young, quarantined once old (`Decide.corrupt`).
    static func quarantine(modified: Millis, now: Millis, policy: Policy, problem: String) -> Next? {
        switch Decide.corrupt(modified: modified, now: now, policy: policy) {
        case .quarantine, .remove: return Next(action: .quarantine, at: now, detail: nil, reason: problem)
        case .leave(let at): return at.map { Next(action: .quarantine, at: $0, detail: nil, reason: problem) }
        }
    }
}

extension BundleObservation {
    /// This observation as a row. The one place that knows the observation's cases: a new
    /// kind of observation adds its row here (the compiler asks for it), and `list`'s
    /// walking, filtering and rendering stay as they are. nil: nothing there any more.
    func listing(at location: Location, layout: BundleReconciler.Layout, entryPath: String, policy: Policy,
                 now: Millis) -> TaskListing? {
        var row = TaskListing(root: location.root, harness: location.harness, session: location.session ?? "",
                              taskID: location.taskID ?? "", layout: layout.listingLayout, path: entryPath, status: "",
                              isTerminal: false, startedAt: nil, process: .unknown, delivered: nil, next: nil,
                              problem: nil, observedAt: now)
        switch self {
        case .absent:
            return nil
        case .corrupt(let problem, let modified):
            row.status = "corrupt"
            row.problem = problem
            row.next = TaskListing.quarantine(modified: modified, now: now, policy: policy, problem: problem)
        case .incomplete(let problem, let since, let markerWritten, _):
            row.problem = problem
            if !markerWritten, case .leave(let until) = Decide.initialising(since: since, now: now, policy: policy) {
                row.status = "initialising"
                row.next = TaskListing.quarantine(modified: since, now: until ?? now, policy: policy, problem: problem)
            } else {
                row.status = "corrupt"
                row.next = TaskListing.quarantine(modified: since, now: now, policy: policy, problem: problem)
            }
        case .unsupported(let problem):
            // Never touched: a newer harness's record.
            row.status = "unsupported"
            row.problem = problem.description
        case .task(let task):
            let o = task.observation
            let document = o.document
            row.path = task.files.recordPath
            row.status = document.status.rawValue
            row.isTerminal = document.status.isTerminal
            row.startedAt = document.startedAt
            row.observedAt = o.now
            if document.status.isTerminal {
                row.process = .none
                row.delivered = document.completionDelivered
            } else if document.childPID == nil, document.pgid == nil {
                row.process = .unknown
            } else {
                row.process = o.liveness == .gone ? .gone : .alive
            }
            row.next = TaskListing.next(o, policy: policy)
        }
        return row
    }
}

extension BundleReconciler.Layout {
    var listingLayout: TaskListing.Layout {
        switch self {
        case .flat: return .flat
        case .directory: return .directory
        }
    }
}
