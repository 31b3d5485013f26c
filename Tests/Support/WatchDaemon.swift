import Foundation

/// `taskreaper watch` as a test runs it: over one root, logging to a file, answering `ctl`
/// on a socket, and started once its first pass is done (READY=1 on a notify socket).
public struct WatchDaemon {
    public let process: HarnessProcess
    /// What the watcher sent up to READY=1.
    public let startMessages: [String]
    public let controlSocket: String

    public init(root: String, controlSocket: String, log: String, notify: NotifySocket,
                extra: [String] = [], environment: [String] = []) throws {
        var env = ["PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(notify.path)"] + environment
        if let ci = ProcessInfo.processInfo.environment["CI"] { env.append("CI=\(ci)") }
        process = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root, "--log-target", "stderr",
                                                "--control-socket", controlSocket] + extra,
                                     environment: TaskReaperBinary.isolated(env), output: log)
        var messages: [String] = []
        poll("READY=1 from the watcher") {
            messages += notify.receive()
            return messages.contains { $0.contains("READY=1") }
        }
        startMessages = messages
        self.controlSocket = controlSocket
    }

    /// The `ctl status` answer of the watcher on `socket`; nil while nothing answers.
    public static func status(socket: String) -> [String: Any]? {
        guard let answer = try? TaskReaperBinary.run(["ctl", "--socket", socket, "status"]) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any]
    }

    public func status() -> [String: Any]? { Self.status(socket: controlSocket) }

    /// One integer of the `ctl status` answer (0 while nothing answers).
    public func status(_ key: String) -> Int { status()?[key] as? Int ?? 0 }
}
