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
        bootTime = Millis(seconds: Int64(clamping: seconds), nanoseconds: 0)
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? UInt64(ticks) : 100
    }

    // MARK: Probes

    /// kill(pid, 0), then /proc/<pid>/stat for start time and state.
    public func probe(pid: UInt32) -> PidProbe {
        // Guard: 0 is not a process: kill(0, 0) would probe OUR OWN process group and say
        // "present". Above Int32.max the pid_t conversion would go negative and name a
        // group. Neither can ever be a task's process.
        guard pid > 0, pid <= UInt32(Int32.max) else { return .absent }
        if kill(pid_t(pid), 0) != 0, errno == ESRCH { return .absent }
        // Alive, or EPERM (another user's): present either way. /proc tells the rest.
        var failure: Int32 = 0
        let stat = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ProcStat.bufferSize) { buffer in
            ProcFile.withContents(at: AT_FDCWD, "/proc/\(pid)/stat", into: buffer, errno: &failure) { ProcStat.parse($0) }
        }
        guard let stat else {
            // It exited (and was reaped) between kill and the read: ENOENT from open,
            // ESRCH from read. Anything else (EACCES under a hardened /proc, a garbled
            // line): it exists, we just cannot tell more.
            return failure == ENOENT || failure == ESRCH ? .absent : .present(startedAt: nil, zombie: false)
        }
        return .present(startedAt: startedAt(stat), zombie: stat.isDead)
    }

    /// kill(-pgid, 0); when the group exists, a /proc scan for a member that is not a zombie.
    public func probe(group pgid: Int32) -> GroupProbe {
        // Guard: kill(-1, sig) is a broadcast to every process we may signal, and kill(0, sig)
        // (pgid 0) targets our own group; a negative pgid would turn -pgid into a single pid.
        // None of these can be a task's group (init is pgid 1): never signal them.
        guard pgid > 1 else { return .absent }
        if kill(-pgid, 0) != 0 {
            return errno == ESRCH ? .absent : .live  // EPERM: another user's group, alive
        }
        return hasLiveMember(pgid) ? .live : .onlyZombies
    }

    public func liveness(of task: TaskDocument, policy: Policy) -> Liveness {
        LivenessRules.assess(startedAt: task.startedAt, childPID: task.childPID, pgid: task.pgid, bootTime: bootTime,
                             policy: policy, pid: { probe(pid: $0) }, group: { probe(group: $0) })
    }

    /// The writer of a protocol temp file (its pid comes from the file name); `fileExistedBy`
    /// as LivenessRules.writerIsGone takes it (FileStatus.existedBy).
    public func writerIsGone(pid: Int32, fileExistedBy: Millis) -> Bool {
        // 0 or negative cannot be a writer's pid (and must never reach kill()): gone.
        guard pid > 0 else { return true }
        return LivenessRules.writerIsGone(probe(pid: UInt32(pid)), fileExistedBy: fileExistedBy)
    }

    // MARK: /proc

    func startedAt(_ stat: ProcStat) -> Millis {
        // Whole seconds and the rest, converted with saturation: ticks * 1000 could overflow.
        let ticks = stat.startTicks
        let sinceBoot = Millis(seconds: Int64(clamping: ticks / ticksPerSecond),
                               nanoseconds: Int64(ticks % ticksPerSecond) * 1_000_000_000 / Int64(ticksPerSecond))
        return bootTime.adding(sinceBoot)
    }

    /// Walks /proc once: this runs once per running task whose leader is gone, so no
    /// allocation per entry: stat files are opened relative to the /proc fd from the raw
    /// d_name, and read with one read(2) into one stack buffer.
    private func hasLiveMember(_ pgid: Int32) -> Bool {
        var found = false
        // /proc unreadable: cannot tell, so never call it gone.
        guard scanGroup(pgid, { _ in found = true; return false }) else { return true }
        return found
    }

    /// The members of a group that are not dead, up to `limit`: `watch` holds a pidfd on
    /// each when the task's own wrapper is gone but its group lives on.
    public func liveMembers(of pgid: Int32, limit: Int = 64) -> [pid_t] {
        guard pgid > 1 else { return [] }
        var members: [pid_t] = []
        _ = scanGroup(pgid) { pid in
            members.append(pid)
            return members.count < limit
        }
        return members
    }

    /// Calls `visit` with every live member of `pgid` until it returns false. False when
    /// /proc could not be read.
    private func scanGroup(_ pgid: Int32, _ visit: (pid_t) -> Bool) -> Bool {
        guard let dir = opendir("/proc") else { return false }
        defer { closedir(dir) }
        let procFD = dirfd(dir)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ProcStat.bufferSize) { buffer in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { path in
                while let entry = readdir(dir) {
                    guard Self.statPath(of: entry, into: path) else { continue }
                    var failure: Int32 = 0
                    let stat = ProcFile.withContents(at: procFD, path.baseAddress!, into: buffer, errno: &failure) {
                        ProcStat.parse($0)
                    }
                    guard let stat, stat.pgrp == pgid, !stat.isDead else { continue }
                    let pid = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                        pid_t(String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)) ?? 0
                    }
                    if !visit(pid) { return true }
                }
                return true
            }
        }
    }

    /// "<pid>/stat" for a /proc entry whose name is all digits (a process), else false.
    private static func statPath(of entry: UnsafeMutablePointer<dirent>, into path: UnsafeMutableBufferPointer<CChar>) -> Bool {
        let suffix: StaticString = "/stat"
        return withUnsafeBytes(of: &entry.pointee.d_name) { name -> Bool in
            var length = 0
            while length < name.count, name[length] != 0 {
                guard name[length] >= UInt8(ascii: "0"), name[length] <= UInt8(ascii: "9") else { return false }
                length += 1
            }
            guard length > 0, length + suffix.utf8CodeUnitCount < path.count else { return false }
            for i in 0..<length { path[i] = CChar(bitPattern: name[i]) }
            suffix.withUTF8Buffer { tail in
                for (i, byte) in tail.enumerated() { path[length + i] = CChar(bitPattern: byte) }
            }
            path[length + suffix.utf8CodeUnitCount] = 0
            return true
        }
    }
}

/// The fields of /proc/<pid>/stat a probe needs.
struct ProcStat: Equatable {
    /// Up to field 22 the line is ~400 bytes at most (comm is at most 64 bytes, the numbers
    /// at most 20 digits); fields past 22 may be cut off, they are never read.
    static let bufferSize = 1024

    /// Field 3: R, S, D, Z, T, ...
    var state: UInt8
    /// Field 5.
    var pgrp: Int32
    /// Field 20.
    var threads: Int64
    /// Field 22: clock ticks after boot.
    var startTicks: UInt64

    /// Dead but not reaped. A zombie *leader* whose other threads still run (the main thread
    /// called pthread_exit) also shows state Z, with num_threads > 1: that process is alive.
    var isDead: Bool { state == UInt8(ascii: "Z") && threads <= 1 }

    /// `pid (comm) state ppid pgrp ... num_threads(20) itrealvalue starttime(22) ...`:
    /// comm may hold spaces and ')', so fields are counted from the LAST ')'.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ProcStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var state: UInt8?
        var pgrp: Int32?
        var threads: Int64?
        var start: UInt64?
        var field = 2  // the field just closed
        var index = close + 1
        while index < bytes.count, field < 22 {
            // Exactly one space separates fields; a missing one means a malformed line.
            guard bytes[index] == UInt8(ascii: " ") else { return nil }
            index += 1
            field += 1
            let begin = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: "\n") { index += 1 }
            let text = UnsafeBufferPointer(rebasing: bytes[begin..<index])
            switch field {
            case 3: state = text.count == 1 ? text[0] : nil
            case 5: pgrp = decimal(text).flatMap { Int32(exactly: $0) }
            case 20: threads = decimal(text)
            case 22: start = decimal(text).flatMap { UInt64(exactly: $0) }
            default: break
            }
        }
        guard let state, let pgrp, let threads, let start else { return nil }
        return ProcStat(state: state, pgrp: pgrp, threads: threads, startTicks: start)
    }

    /// A non-negative decimal integer (every field read here is one), or nil.
    private static func decimal(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !text.isEmpty, text.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// The one field of /proc/<pid>/status a proof needs.
enum ProcStatus {
    /// `Uid:\t<real>\t<effective>\t<saved>\t<fs>`: the real uid, the one the kernel's own
    /// permission check for kill(2) looks at.
    static func realUID(in text: String) -> UInt32? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap { UInt32($0) }
    }
}

/// Small reads of /proc files.
enum ProcFile {
    /// One read(2) of `path` (relative to `directory`) into `buffer`: /proc generates a small
    /// file in one go. On failure `errno` holds the open or read error.
    static func withContents<T>(at directory: Int32, _ path: UnsafePointer<CChar>, into buffer: UnsafeMutableBufferPointer<UInt8>,
                                errno failure: inout Int32, _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        let fd = openat(directory, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            failure = errno
            return nil
        }
        defer { close(fd) }
        let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
        guard n > 0 else {
            failure = n < 0 ? errno : ESRCH  // an empty stat: the process is being torn down
            return nil
        }
        return body(UnsafeBufferPointer(rebasing: buffer[..<n]))
    }

    /// A whole (small) file as text, nil if it cannot be opened.
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
