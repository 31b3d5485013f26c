import TaskReaperCore
import TaskReaperSystem

/// Where one task's files are, in either layout (CONTRACT §2, §7.1): the record, the exit
/// marker and the output, each as a directory handle and a name. Everything after observe
/// goes through this, so the two layouts differ only where the contract says they do.
struct TaskFiles {
    enum Layout {
        /// `<session>/<id>.json` and its members beside it, by name.
        case flat(members: [FileName])
        /// `<session>/<id>/` with `control/` and `io/`, opened once; `identity` is the task
        /// directory's, checked again before its removal (§7.6).
        case directory(task: DirectoryHandle, io: DirectoryHandle, identity: FileIdentity)
    }

    let layout: Layout
    let recordDirectory: DirectoryHandle
    let recordName: FileName
    let markerDirectory: DirectoryHandle
    let markerName: FileName

    var recordPath: String { recordDirectory.childPath(recordName) }
    var markerPath: String { markerDirectory.childPath(markerName) }
    var isDirectory: Bool { if case .directory = layout { return true }; return false }

    static func flat(session: DirectoryHandle, taskID: String, members: [FileName]) -> TaskFiles {
        TaskFiles(layout: .flat(members: members), recordDirectory: session, recordName: FileName(taskID + ".json"),
                  markerDirectory: session, markerName: FileName(taskID + ".exit"))
    }

    /// Where the task's output is, as the harness names it in its fate_unknown reason:
    /// absolute, `io/stdout` (or `io/pty`) of a task directory, `<id>.stdout`/`.pty` flat.
    func outputPath(taskID: String, mode: TaskMode) -> String {
        let directory: DirectoryHandle
        let name: String
        switch layout {
        case .flat:
            directory = recordDirectory
            name = taskID + (mode == .pty ? ".pty" : ".stdout")
        case .directory(_, let io, _):
            directory = io
            name = mode == .pty ? "pty" : "stdout"
        }
        let base = directory.path.hasPrefix("/") ? directory.path : ((try? directory.realPath()) ?? directory.path)
        return base + "/" + name
    }
}

/// Opening a task directory as the harness validates it (CONTRACT §7.1, docs/formats.md §2.4).
enum TaskDirectoryOpening {
    case opened(TaskFiles)
    case absent
    /// Not a task directory we may touch (a link, a file where a directory must be).
    case invalid(problem: String, modified: Millis)
    /// `control/`, `io/` or the record is missing: the harness may still be creating it.
    /// `since`: the control directory's mtime, else the task directory's. `watch`: where
    /// what is missing will appear (the task directory, its control/).
    case incomplete(problem: String, since: Millis, markerWritten: Bool, watch: [DirectoryHandle])

    static func open(_ name: FileName, in session: DirectoryHandle, now: Millis) -> TaskDirectoryOpening {
        let task: DirectoryHandle
        let taskStatus: FileStatus
        do {
            task = try session.openDirectory(name)
            taskStatus = try task.status()
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory: return .absent
            case .tooManySymbolicLinkLevels, .notDirectory:
                let status = (try? session.status(name)) ?? nil
                return .invalid(problem: status?.kind == .symlink ? "is a symbolic link (never followed)" : "is not a directory",
                                modified: status?.modified ?? now)
            default: return .invalid(problem: "cannot be opened (\(error))", modified: now)
            }
        }
        let control = subdirectory("control", of: task)
        let io = subdirectory("io", of: task)
        let since = control?.status?.modified ?? taskStatus.modified
        switch (control, io) {
        case (.some(let c), .some(let i)):
            guard let controlHandle = c.handle else { return .invalid(problem: "control/ \(c.problem!)", modified: since) }
            guard let ioHandle = i.handle else { return .invalid(problem: "io/ \(i.problem!)", modified: since) }
            guard (try? controlHandle.status("metadata.json")) ?? nil != nil else {
                return .incomplete(problem: "has no control/metadata.json", since: since, markerWritten: markerWritten(ioHandle),
                                   watch: [task, controlHandle])
            }
            return .opened(TaskFiles(layout: .directory(task: task, io: ioHandle, identity: FileIdentity(taskStatus)),
                                     recordDirectory: controlHandle, recordName: "metadata.json",
                                     markerDirectory: ioHandle, markerName: "exit"))
        case (nil, _):
            return .incomplete(problem: "has no control/", since: since, markerWritten: false, watch: [task])
        case (_, nil):
            return .incomplete(problem: "has no io/", since: since, markerWritten: false, watch: [task] + (control?.handle.map { [$0] } ?? []))
        }
    }

    /// nil when absent; a handle, or why there is none (a file, a link).
    private static func subdirectory(_ name: FileName, of task: DirectoryHandle) -> (handle: DirectoryHandle?, problem: String?, status: FileStatus?)? {
        do {
            let handle = try task.openDirectory(name)
            return (handle, nil, try? handle.status())
        } catch {
            if error.code == .noSuchFileOrDirectory { return nil }
            let status = (try? task.status(name)) ?? nil
            let problem = status?.kind == .symlink ? "is a symbolic link (never followed)"
                : status?.kind == .directory ? "cannot be opened (\(error))" : "is not a directory"
            return (nil, problem, status)
        }
    }

    /// A non-empty `io/exit`: the wrapper finished, so the task is not still initialising.
    private static func markerWritten(_ io: DirectoryHandle) -> Bool {
        ((try? io.status("exit")) ?? nil).map { $0.kind == .regular && $0.size > 0 } ?? false
    }
}
