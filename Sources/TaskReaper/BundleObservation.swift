import TaskReaperCore
import TaskReaperSystem

/// What one look at a bundle found: the first step of observe / decide / act. Nothing here
/// decides; `BundleReconciler` hands `task.observation` to `Decide.task` and keeps the rest
/// (the bytes as read, the file's identity) for the act step's re-read before a rewrite.
enum BundleObservation {
    /// The JSON is gone since the listing: nothing left to decide.
    case absent
    /// The JSON cannot be a task record (unparseable, a link, too large, not a file).
    case corrupt(problem: String, modified: Millis)
    /// A record of a schema we do not implement: never touched.
    case unsupported(TaskDocument.Problem)
    case task(ObservedTask)
}

struct ObservedTask {
    /// What `decide` sees.
    var observation: TaskObservation
    /// The record exactly as read, and its file: a rewrite happens only if both still hold.
    var record: [UInt8]
    var recordStatus: FileStatus
    /// Any `.exit` entry exists, readable or not (the seed's write_kill_marker_if_absent).
    var markerFileExists: Bool
    /// The marker is there but not a regular file (FIFO, socket, directory, link): no marker,
    /// and worth saying.
    var irregularMarker: FileStatus.Kind?
}

extension BundleReconciler {
    /// Reads the record; for a task that is not terminal, probes its processes *first*,
    /// then reads the marker (CONTRACT §5: the wrapper writes the marker, then exits).
    func observe() throws(SystemError) -> BundleObservation {
        let bytes: [UInt8]
        let status: FileStatus
        switch try session.read(jsonName, limit: ReadLimits.taskJSON) {
        case .absent:
            return .absent
        case .notRegular(let kind):
            let modified = try session.status(jsonName)?.modified ?? context.clock()
            return .corrupt(problem: kind == .symlink ? "is a symbolic link (never followed)" : "is not a regular file", modified: modified)
        case .tooLarge(let size):
            let modified = try session.status(jsonName)?.modified ?? context.clock()
            return .corrupt(problem: "is \(size) bytes, more than a task JSON can be", modified: modified)
        case .contents(let contents, let fileStatus):
            bytes = contents
            status = fileStatus
        }

        let document: TaskDocument
        do { document = try TaskDocument(parsing: bytes) } catch {
            if case .unsupportedSchema = error { return .unsupported(error) }
            return .corrupt(problem: error.description, modified: status.modified)
        }

        var liveness: Liveness?
        var marker: ExitMarker?
        var markerModified: Millis?
        var markerFileExists = false
        var irregularMarker: FileStatus.Kind?
        if !document.status.isTerminal {
            liveness = context.processes.liveness(of: document, policy: context.policy)
            let markerRead = try session.read(markerName, limit: ReadLimits.marker)
            markerFileExists = markerRead != .absent
            if case .contents(let content, let markerStatus) = markerRead, let parsed = ExitMarker.parse(content) {
                marker = parsed
                markerModified = markerStatus.modified
            }
            if case .notRegular(let kind) = markerRead { irregularMarker = kind }
        }
        let observation = TaskObservation(document: document, jsonModified: status.modified, liveness: liveness,
                                          marker: marker, markerModified: markerModified, now: context.clock())
        return .task(ObservedTask(observation: observation, record: bytes, recordStatus: status, markerFileExists: markerFileExists,
                                 irregularMarker: irregularMarker))
    }
}
