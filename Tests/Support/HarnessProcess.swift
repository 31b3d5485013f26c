import Foundation

/// A background task spawned the way the harness spawns one in pipes mode: a shell that
/// called setsid (so pid == pgid), runs the command, then writes the exit marker
/// atomically (`<id>.exit.tmp.$$` + rename) and exits.
public final class HarnessProcess {
    public let pid: pid_t
    /// When it was spawned, Unix ms: what the harness records as started_at.
    public let startedAt: UInt64
    private var reaped = false

    /// POSIX_SPAWN_SETSID (glibc 2.26+); not exported to Swift by the Glibc module.
    static let spawnSetsid: Int16 = 0x80

    /// `command` runs under /bin/sh; the marker goes to `<directory>/<taskID>.exit`.
    public convenience init(command: String, directory: String, taskID: String) throws {
        let marker = "\(directory)/\(taskID).exit"
        let wrapper = "\(command)\ncode=$?\nprintf %s \"$code\" > '\(marker).tmp.'$$ && mv '\(marker).tmp.'$$ '\(marker)'"
        try self.init(arguments: ["/bin/sh", "-c", wrapper])
    }

    /// Any program, as the leader of a new session and process group; `output` receives
    /// its stdout and stderr; `environment` replaces ours ("KEY=value").
    public init(arguments: [String], environment: [String]? = nil, output: String? = nil) throws {
        startedAt = BundleFixture.nowMs()
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Self.spawnSetsid)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
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
    }

    public var pgid: pid_t { getpgid(pid) }

    public func signal(_ signal: Int32) { if !reaped { kill(pid, signal) } }

    /// Waits until it has exited but leaves it a zombie (WNOWAIT): PID 1 here never reaps
    /// orphans, and an unreaped task is exactly what taskreaper must call gone.
    public func waitUntilExited(timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | WNOHANG) == 0, info._sifields._sigchld.si_pid == pid { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }

    /// Collects its exit status: from now on the pid is free.
    @discardableResult
    public func reap() -> Int32? {
        guard !reaped else { return nil }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return nil }
        reaped = true
        return status
    }

    /// Waits for it to exit and reaps it; nil on timeout.
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

/// Whether `pid` has a child process yet (the wrapper forked its command).
public func hasChild(_ pid: pid_t) -> Bool {
    let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return !children.trimmingCharacters(in: .whitespaces).isEmpty
}
