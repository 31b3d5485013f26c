import TaskReaperCore
import TaskReaperSystem

/// What one look at a task found, in either layout: the first step of observe / decide /
/// act. Nothing here decides; `BundleReconciler` hands `task.observation` to `Decide.task`
/// and keeps the rest (the bytes as read, the file's identity) for the act step's re-read.
enum BundleObservation {
    /// Gone since the listing: nothing left to decide.
    case absent
    /// Not a task record we may use (unparseable, a link, too large, not a file, two links,
    /// an identity that is not its directory's).
    case corrupt(problem: String, modified: Millis)
    /// A task directory without its control/, io/ or record: being created, or left half-made.
    case incomplete(problem: String, since: Millis, markerWritten: Bool, watch: [DirectoryHandle])
    /// A record of a schema we do not implement: never touched.
    case unsupported(TaskDocument.Problem)
    case task(ObservedTask)
}

struct ObservedTask {
    /// What `decide` sees.
    var observation: TaskObservation
    var files: TaskFiles
    /// The record exactly as read, and its file: a rewrite happens only if both still hold.
    var record: [UInt8]
    var recordStatus: FileStatus
    /// A `killed` marker may be added: flat, no `<id>.exit` at all (the seed's
    /// write_kill_marker_if_absent counts any entry); directory, `io/exit` absent or empty.
    var killMarkerWritable: Bool
    /// The marker is there but not a regular file (FIFO, socket, directory, link): no marker,
    /// and worth saying.
    var irregularMarker: FileStatus.Kind?
}

extension BundleReconciler {
    /// Reads the record; for a task that is not terminal, probes its processes *first*,
    /// then reads the marker (CONTRACT §5: the wrapper writes the marker, then exits).
    func observe() throws(SystemError) -> BundleObservation {
        let files: TaskFiles
        switch layout {
        case .flat(let members):
            files = .flat(session: session, taskID: taskID, members: members)
        case .directory:
            switch TaskDirectoryOpening.open(FileName(taskID), in: session, now: context.clock()) {
            case .opened(let opened): files = opened
            case .absent: return .absent
            case .invalid(let problem, let modified): return .corrupt(problem: problem, modified: modified)
            case .incomplete(let problem, let since, let written, let watch):
                return .incomplete(problem: problem, since: since, markerWritten: written, watch: watch)
            }
        }

        let bytes: [UInt8]
        let status: FileStatus
        switch try files.recordDirectory.read(files.recordName, limit: ReadLimits.taskJSON) {
        case .absent:
            // A directory task whose record vanished after the open: being removed or replaced.
            return .absent
        case .notRegular(let kind):
            let modified = try files.recordDirectory.status(files.recordName)?.modified ?? context.clock()
            return .corrupt(problem: kind == .symlink ? "is a symbolic link (never followed)" : "is not a regular file", modified: modified)
        case .tooLarge(let size):
            let modified = try files.recordDirectory.status(files.recordName)?.modified ?? context.clock()
            return .corrupt(problem: "is \(size) bytes, more than a task record can be", modified: modified)
        case .contents(let contents, let fileStatus):
            bytes = contents
            status = fileStatus
        }
        // The harness quarantines a task file with more than one link (§7.7): never ours to use.
        if files.isDirectory, status.links > 1 {
            return .corrupt(problem: "has \(status.links) hard links", modified: status.modified)
        }

        let document: TaskDocument
        do { document = try TaskDocument(parsing: bytes) } catch {
            if case .unsupportedSchema = error { return .unsupported(error) }
            return .corrupt(problem: error.description, modified: status.modified)
        }
        if files.isDirectory, document.taskID != taskID {
            return .corrupt(problem: "names task '\(document.taskID.prefix(64))', not its directory's \(taskID)", modified: status.modified)
        }

        var liveness: Liveness?
        var marker: ExitMarker?
        var markerModified: Millis?
        var killMarkerWritable = false
        var irregularMarker: FileStatus.Kind?
        if !document.status.isTerminal {
            liveness = context.processes.liveness(of: document, policy: context.policy)
            let markerRead = try files.markerDirectory.read(files.markerName, limit: ReadLimits.marker)
            switch markerRead {
            case .absent: killMarkerWritable = true
            case .contents(let content, let markerStatus):
                if let parsed = ExitMarker.parse(content) {
                    marker = parsed
                    markerModified = markerStatus.modified
                }
                killMarkerWritable = files.isDirectory && content.isEmpty
            case .notRegular(let kind): irregularMarker = kind
            case .tooLarge: irregularMarker = .regular  // said as "cannot be read as a marker"
            }
        }
        let observation = TaskObservation(document: document, jsonModified: status.modified, liveness: liveness,
                                          marker: marker, markerModified: markerModified, now: context.clock(),
                                          outputPath: document.status.isTerminal ? nil : files.outputPath(taskID: taskID, mode: document.mode))
        return .task(ObservedTask(observation: observation, files: files, record: bytes, recordStatus: status,
                                  killMarkerWritable: killMarkerWritable, irregularMarker: irregularMarker))
    }
}
