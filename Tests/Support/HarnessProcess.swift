import Foundation

/// A background task spawned the way the harness spawns one in pipes mode: a shell that
/// called setsid (so pid == pgid == sid), runs the command, then writes the exit marker
/// atomically (`<id>.exit.tmp.$$` + rename, CONTRACT §2/§4) and exits.
///
/// The test process is the parent: the task stays a zombie after it exits until `reap()`
/// (or `stop()`/deinit) collects it, which is how tests produce the "exited but still in
/// the process table" case on purpose.
public final class HarnessProcess {
    public let pid: pid_t
    /// When it was spawned, Unix ms: what the harness records as started_at.
    public let startedAt: UInt64
    private var reaped = false

    /// POSIX_SPAWN_SETSID (glibc 2.26+); not exported to Swift by the Glibc module.
    static let spawnSetsid: Int16 = 0x80

    /// `command` runs under /bin/sh; the marker goes to `<directory>/<taskID>.exit`. With
    /// `captureOutput` the command's stdout and stderr go to `<taskID>.stdout`/`.stderr` in
    /// `directory`, as the harness's pipes mode captures them; without, they are inherited.
    public convenience init(command: String, directory: String, taskID: String, captureOutput: Bool = false) throws {
        try self.init(arguments: ["/bin/sh", "-c", Self.wrapper(command: command, directory: directory, taskID: taskID)],
                      output: captureOutput ? "\(directory)/\(taskID).stdout" : nil,
                      errorOutput: captureOutput ? "\(directory)/\(taskID).stderr" : nil)
    }

    /// A task directory's process as the current harness spawns it (its PAYLOAD_WRAPPER): the
    /// command with stdout and stderr into `io/`, then `printf "%s" "$code" >&3`, the exit
    /// code written in place into `io/exit` through the inherited fd 3, no newline.
    public convenience init(command: String, taskDirectory: String) throws {
        try self.init(arguments: ["/bin/sh", "-c", "\(command)\ncode=$?\nprintf \"%s\" \"$code\" >&3\nexit \"$code\""],
                      output: taskDirectory + "/io/stdout", errorOutput: taskDirectory + "/io/stderr",
                      descriptor3: taskDirectory + "/io/exit")
    }

    /// The pipes-mode wrapper script: the command, then its status written to the marker
    /// through a temp file named after the wrapper's pid, renamed into place in one step.
    /// Lines, not `;`, separate the parts so that a command ending in `&` stays valid.
    public static func wrapper(command: String, directory: String, taskID: String) -> String {
        let marker = shellQuote("\(directory)/\(taskID).exit")
        return "\(command)\ncode=$?\nprintf %s \"$code\" > \(marker).tmp.$$ && mv \(marker).tmp.$$ \(marker)"
    }

    /// Any program, as the leader of a new session and process group (pid == pgid, checked);
    /// stdin is /dev/null. `output` receives its stdout, and its stderr too unless
    /// `errorOutput` names another file (both appended, created 0644). `environment`
    /// replaces ours ("KEY=value").
    public init(arguments: [String], environment: [String]? = nil, output: String? = nil, errorOutput: String? = nil,
                descriptor3: String? = nil) throws {
        startedAt = BundleFixture.nowMs()
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The flag makes the child call setsid() before exec: no `setsid` binary in between,
        // so the pid we get is the session and group leader itself, as the harness's is.
        posix_spawnattr_setflags(&attributes, Self.spawnSetsid)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            if let errorOutput {
                posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            } else {
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            }
        } else if let errorOutput {
            posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        // The current harness hands the wrapper its io/exit as fd 3, opened before the spawn:
        // the marker is written in place through it (no temp, no rename; CONTRACT §7.3).
        if let descriptor3 { posix_spawn_file_actions_addopen(&actions, 3, descriptor3, O_WRONLY, 0) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        var envp: [UnsafeMutablePointer<CChar>?] = (environment ?? []).map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        let rc = environment == nil
            ? posix_spawn(&child, arguments[0], &actions, &attributes, &argv, environ)
            : posix_spawn(&child, arguments[0], &actions, &attributes, &argv, &envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        pid = child
        // glibc's posix_spawn returns after the child's exec, so setsid has happened: if the
        // flag were not honoured, every liveness test would silently probe the wrong group.
        guard getpgid(child) == child, getsid(child) == child else {
            kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
            reaped = true
            throw NotASessionLeader(pid: child)
        }
    }

    /// posix_spawn ignored POSIX_SPAWN_SETSID: the child is not its own group.
    public struct NotASessionLeader: Error, CustomStringConvertible {
        public let pid: pid_t
        public var description: String { "spawned pid \(pid) is not the leader of its own session and group (POSIX_SPAWN_SETSID ignored?)" }
    }

    /// A process that existed a moment ago and is gone now (exited and reaped): its pid is
    /// free, and `startedAt` says when it ran. What a task whose harness went away names.
    public static func exited() throws -> HarnessProcess {
        let process = try HarnessProcess(arguments: ["/bin/true"])
        guard process.waitForExitStatus(timeout: 10) != nil else { throw PollTimeout(what: "/bin/true to exit", timeout: 10) }
        return process
    }

    public var pgid: pid_t { getpgid(pid) }

    /// A signal to the leader only (not its group).
    public func signal(_ signal: Int32) { if !reaped { kill(pid, signal) } }

    /// SIGKILL to the whole group, as a harness kill or an OOM kill of the group would do.
    /// Nothing is reaped: the leader stays a zombie until `reap()`, and any child of it is
    /// reparented to PID 1 (a zombie until PID 1 reaps it: late here, never in some containers).
    public func kill9() { if !reaped { kill(-pid, SIGKILL) } }

    /// Waits until it has exited but leaves it a zombie (waitid WEXITED|WNOWAIT): an unreaped
    /// task (its harness gone, PID 1 not reaping) is exactly what taskreaper must call gone.
    /// False if it still runs at `deadline`.
    public func waitForExit(deadline: Date) -> Bool {
        guard !reaped else { return true }
        repeat {
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | WNOHANG) == 0, info._sifields._sigchld.si_pid == pid { return true }
            Thread.sleep(forTimeInterval: 0.005)
        } while Date() < deadline
        return false
    }

    /// `waitForExit(deadline:)` `timeout` seconds from now.
    public func waitUntilExited(timeout: TimeInterval = 10) -> Bool {
        waitForExit(deadline: Date().addingTimeInterval(timeout))
    }

    /// Collects its exit status (blocking until it exits): from now on the pid is free.
    /// The raw wait status; nil if it was already reaped.
    @discardableResult
    public func reap() -> Int32? {
        guard !reaped else { return nil }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return nil }
        reaped = true
        return status
    }

    public var isReaped: Bool { reaped }

    /// Waits for it to exit and reaps it: its exit code, or 128 + the signal; nil on timeout.
    public func waitForExitStatus(timeout: TimeInterval) -> Int32? {
        guard waitUntilExited(timeout: timeout), let status = reap() else { return nil }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Kills the whole group and reaps the leader: for tearDown.
    public func stop() {
        guard !reaped else { return }
        kill(-pid, SIGKILL)
        reap()
    }

    deinit { stop() }
}

/// A harness-style task group killed with SIGKILL whose members are all dead and none
/// reaped: the leader (the wrapper shell) is our unreaped child, and its child (the
/// command) was reparented to PID 1 when the leader died.
///
/// The child's zombie relies on PID 1 not reaping orphans, as in many containers; on
/// these machines PID 1 reaps them late (about a second, sometimes far longer), elsewhere
/// never (one leaked zombie per instance: make few). Once PID 1 has reaped it, the group
/// still holds the leader's zombie until `process.reap()`: `.onlyZombies` either way, so
/// assert on the child's state only as "Z or gone".
public final class ZombieGroup {
    public let process: HarnessProcess
    /// The wrapper's child, now a zombie whose parent is PID 1.
    public let childPID: pid_t
    public var pgid: pid_t { process.pid }

    public init(directory: String, taskID: String, timeout: TimeInterval = 10) throws {
        process = try HarnessProcess(command: "sleep 60", directory: directory, taskID: taskID)
        let deadline = Date().addingTimeInterval(timeout)
        var child: pid_t?
        while child == nil, Date() < deadline {
            child = children(of: process.pid).first
            if child == nil { Thread.sleep(forTimeInterval: 0.005) }
        }
        guard let child else {
            process.stop()
            throw PollTimeout(what: "the wrapper's child", timeout: timeout)
        }
        childPID = child
        process.kill9()
        guard process.waitForExit(deadline: deadline) else { throw PollTimeout(what: "the leader to die", timeout: timeout) }
        // The child is PID 1's now: we cannot wait for it, only watch /proc.
        while processState(child).map({ $0 != "Z" }) ?? false, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        guard processState(child).map({ $0 == "Z" }) ?? true else {
            throw PollTimeout(what: "the child to become a zombie", timeout: timeout)
        }
    }
}

/// Whether `pid` has a child process yet (the wrapper forked its command).
public func hasChild(_ pid: pid_t) -> Bool { !children(of: pid).isEmpty }

/// The pids of `pid`'s children (its main thread's), from /proc.
public func children(of pid: pid_t) -> [pid_t] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

/// Field 3 of /proc/<pid>/stat (R, S, Z...), nil once the pid is gone (reaped).
public func processState(_ pid: pid_t) -> Character? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].first(where: { $0 != " " })
}

/// `text` as one single-quoted shell word.
public func shellQuote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
