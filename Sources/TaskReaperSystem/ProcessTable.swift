#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore

/// The real probes behind `LivenessRules` (CONTRACT §5): kill(0) on the pid and on the
/// group, /proc/<pid>/stat for start time and zombie state, /proc/stat for the boot time.
public struct ProcessTable: Sendable {
    /// Boot time, Unix ms (/proc/stat `btime`, 1 s granularity).
    public let bootTime: Millis
    private let ticksPerSecond: UInt64

    public init() throws(SystemError) {
        guard let text = ProcFile.read("/proc/stat", limit: 1 << 20) else { throw SystemError("read", "/proc/stat") }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let seconds = UInt64(line.dropFirst(6).trimmingPrefix(while: { $0 == " " })) else {
            throw SystemError("parse btime in", "/proc/stat", errno: EINVAL)
        }
        bootTime = seconds * 1000
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? UInt64(ticks) : 100
    }

    /// kill(pid, 0), then /proc for start time and state.
    public func probe(pid: UInt32) -> PidProbe {
        // 0 would probe our own group, > Int32.max a negative pid (a group): neither can be
        // a task's process.
        guard pid > 0, pid <= UInt32(Int32.max) else { return .absent }
        if kill(pid_t(pid), 0) != 0, errno == ESRCH { return .absent }
        // Alive, or EPERM (another user's): present either way. /proc tells the rest.
        switch stat(of: pid_t(pid)) {
        case .some(let s): return .present(startedAt: bootTime + s.startTicks * 1000 / ticksPerSecond, zombie: s.state == UInt8(ascii: "Z"))
        case .none:
            // Exited between kill and the read: absent if /proc no longer has it.
            return access("/proc/\(pid)", F_OK) != 0 ? .absent : .present(startedAt: nil, zombie: false)
        }
    }

    /// kill(-pgid, 0); when the group exists, a /proc scan for a member that is not a zombie.
    public func probe(group pgid: Int32) -> GroupProbe {
        // kill(-1, ...) is a broadcast to every process, kill(0, ...) our own group: a
        // pgid <= 1 can never be a task's group, so it is never signalled.
        guard pgid > 1 else { return .absent }
        if kill(-pgid, 0) != 0 {
            return errno == ESRCH ? .absent : .live  // EPERM: another user's group, alive
        }
        return hasLiveMember(pgid) ? .live : .onlyZombies
    }

    public func liveness(of task: TaskDocument, policy: Policy) -> Liveness {
        LivenessRules.assess(startedAt: task.startedAt, childPID: task.childPID, pgid: task.pgid, bootTime: bootTime,
                             policy: policy, pid: probe(pid:), group: probe(group:))
    }

    /// The writer of a protocol temp file.
    public func writerIsGone(pid: Int32, fileModified: Millis) -> Bool {
        guard pid > 0 else { return true }
        return LivenessRules.writerIsGone(probe(pid: UInt32(pid)), fileModified: fileModified)
    }

    public enum TerminationResult: Equatable, Sendable {
        case alreadyGone
        case exitedAfterTERM
        case killed
        case failed(SystemError)
    }

    /// SIGTERM to the group, up to `grace` for it to go (absent or only zombies), then SIGKILL.
    public func terminate(group pgid: Int32, grace: Millis) -> TerminationResult {
        guard pgid > 1 else { return .alreadyGone }
        if kill(-pgid, SIGTERM) != 0 {
            return errno == ESRCH ? .alreadyGone : .failed(SystemError("kill -TERM", "process group \(pgid)"))
        }
        let deadline = WallClock.now() + grace
        while WallClock.now() < deadline {
            if probe(group: pgid) != .live { return .exitedAfterTERM }
            usleep(20_000)
        }
        if probe(group: pgid) != .live { return .exitedAfterTERM }
        if kill(-pgid, SIGKILL) != 0, errno != ESRCH {
            return .failed(SystemError("kill -KILL", "process group \(pgid)"))
        }
        return .killed
    }

    // MARK: /proc

    struct Stat {
        var state: UInt8
        var pgrp: Int32
        var startTicks: UInt64
    }

    func stat(of pid: pid_t) -> Stat? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        return ProcFile.withContents("/proc/\(pid)/stat", into: &buffer) { Self.parseStat($0) }
    }

    /// `pid (comm) state ppid pgrp ... starttime(22)`: comm may hold spaces and ')', so
    /// fields are counted from the last ')'.
    static func parseStat(_ bytes: UnsafeBufferPointer<UInt8>) -> Stat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var fields: [Substring] = []
        let rest = String(decoding: UnsafeBufferPointer(rebasing: bytes[(close + 1)...]), as: UTF8.self)
        fields = rest.split(separator: " ", maxSplits: 21, omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
        guard fields.count >= 20, let state = fields[0].utf8.first, let pgrp = Int32(fields[2]),
              let start = UInt64(fields[19]) else { return nil }
        return Stat(state: state, pgrp: pgrp, startTicks: start)
    }

    private func hasLiveMember(_ pgid: Int32) -> Bool {
        guard let dir = opendir("/proc") else { return true }  // cannot tell: never call it gone
        defer { closedir(dir) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        while let entry = readdir(dir) {
            let pid: pid_t? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                guard let first = raw.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return nil }
                return pid_t(String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self))
            }
            guard let pid else { continue }
            let stat = ProcFile.withContents("/proc/\(pid)/stat", into: &buffer) { Self.parseStat($0) }
            if let stat, stat.pgrp == pgid, stat.state != UInt8(ascii: "Z") { return true }
        }
        return false
    }
}

/// Small reads of /proc files with one read(2) into a reused buffer.
enum ProcFile {
    static func withContents<T>(_ path: String, into buffer: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return buffer.withUnsafeMutableBufferPointer { raw -> T? in
            let n = Glibc.read(fd, raw.baseAddress!, raw.count)
            guard n > 0 else { return nil }
            return body(UnsafeBufferPointer(rebasing: raw[..<n]))
        }
    }

    static func read(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
