import Foundation

/// A flat task as the harness starts it, and what its record says later: what the watch
/// tests (inotify and fanotify alike) start and then wait on.
public enum RunningBundle {
    /// Starts `command` under the harness's wrapper (its marker renamed into place when it
    /// ends) and writes the running record atomically, as the harness does (temp + rename).
    public static func start(_ id: String, in dir: String, _ command: String) throws -> HarnessProcess {
        let process = try HarnessProcess(command: command, directory: dir, taskID: id)
        let json = BundleFixture.schema4(taskID: id, status: "running", startedAt: process.startedAt,
                                         childPID: process.pid, pgid: process.pid)
        try BundleFixture.write(dir, ".\(id).json.tmp.1.\(id)", json)
        rename(dir + "/.\(id).json.tmp.1.\(id)", dir + "/\(id).json")
        return process
    }

    /// A task directory (the current layout) whose process, `sleep 60`, stays alive: only its
    /// io/ directory's events can tell of a marker written in place into io/exit.
    public static func startDirectory(_ n: Int, in session: String) throws -> (path: String, process: HarnessProcess) {
        let id = TaskDirectoryFixture.id(n)
        let taskDir = try TaskDirectoryFixture.write(in: session, taskID: id, record: nil)
        let process = try HarnessProcess(command: "sleep 60", taskDirectory: taskDir)
        try TaskDirectoryFixture.setRecord(taskDir, TaskDirectoryFixture.record(taskID: id, status: "running",
                                                                                startedAt: process.startedAt, childPID: process.pid))
        return (taskDir, process)
    }

    /// The `status` of the JSON record at `path` (a bundle's, or a task directory's
    /// control/metadata.json); nil while it cannot be read.
    public static func status(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["status"] as? String
    }
}
