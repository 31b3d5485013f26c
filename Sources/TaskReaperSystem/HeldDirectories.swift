#if canImport(Glibc)
import Glibc
#endif

/// Which of some directories a live process holds: as its working directory, its root,
/// or an open descriptor (CONTRACT §7.7: the harness keeps O_DIRECTORY handles on session,
/// task, control/ and io/ directories and creates new tasks through them, so an rmdir
/// under it breaks its next spawn).
///
/// One walk of /proc answers for every candidate at once, and costs a syscall or two per
/// open descriptor on the machine: a pass collects its candidates (session directories it
/// would remove, identified by fstat of its own handles) and scans once, only when it has
/// one (`scan` with no candidate reads nothing).
///
/// Not seen: processes /proc hides from us (`hidepid`), and threads that unshared their
/// descriptor table (CLONE_FILES off; /proc/<pid>/fd is the leader's table). Run as root.
public struct HeldDirectories: Sendable {
    /// The candidates some process holds.
    public let held: Set<FileIdentity>
    /// Processes whose cwd, root or descriptors we may not read (EACCES/EPERM: another
    /// user's process and we lack CAP_SYS_PTRACE/CAP_DAC_READ_SEARCH). Any of them might
    /// hold a candidate not in `held`.
    public let unreadableProcesses: Int
    /// The first few of them (for a log line: "pid 1 unreadable" in a container whose init
    /// has capabilities we lack is common, and a caller may judge such a pid harmless).
    public let unreadableSample: [pid_t]
    /// The owners (uids) of the unreadable processes other than PID 1: which users' trees a
    /// process we could not see might hold. PID 1 is the system's or the container's init,
    /// never a harness (seen here: a VM's init that even root may not read).
    public let unreadableOwners: Set<UInt32>
    /// /proc itself could not be listed: nothing is known.
    public let procUnreadable: Bool
    /// What the walk cost, for the benchmark and for logs.
    public let processesScanned: Int
    public let descriptorsScanned: Int
    public let descriptorsStatted: Int

    public enum Answer: Equatable, Sendable {
        case held
        case notHeld
        /// Not seen held, but some process could not be read: the caller decides (removing
        /// a session directory should treat this as held).
        case unknown
    }

    /// Whether the scan saw everything there was to see.
    public var isComplete: Bool { !procUnreadable && unreadableProcesses == 0 }

    public func answer(for directory: FileIdentity) -> Answer {
        if held.contains(directory) { return .held }
        return isComplete ? .notHeld : .unknown
    }

    /// The answer for a directory owned by `owner`: a process we could not read only counts
    /// when it runs as that owner. The harness runs as the tree's user and makes session
    /// directories 0700, so another user's process cannot have opened one; a root process
    /// we cannot read (we are not root then) is not that user's harness.
    public func answer(for directory: FileIdentity, owner: UInt32) -> Answer {
        if held.contains(directory) { return .held }
        if procUnreadable { return .unknown }
        return unreadableOwners.contains(owner) ? .unknown : .notHeld
    }

    /// Walks /proc once (nothing at all when `candidates` is empty); stops early once every
    /// candidate is found held. Our own process is skipped: our handles on the candidates
    /// are how we know them.
    public static func scan(_ candidates: Set<FileIdentity>, proc: String = "/proc") -> HeldDirectories {
        var walk = ProcWalk(candidates: candidates)
        if !candidates.isEmpty { walk.run(proc: proc) }
        return HeldDirectories(held: walk.held, unreadableProcesses: walk.unreadable, unreadableSample: walk.unreadableSample,
                               unreadableOwners: walk.unreadableOwners, procUnreadable: walk.procUnreadable,
                               processesScanned: walk.processes, descriptorsScanned: walk.descriptors,
                               descriptorsStatted: walk.statted)
    }
}

/// The walk itself: one /proc listing, per process a directory fd, and every file opened
/// or read relative to it from the raw d_name bytes, so no path is built and nothing is
/// allocated per descriptor.
private struct ProcWalk {
    let candidates: Set<FileIdentity>
    var held: Set<FileIdentity> = []
    var unreadable = 0
    var unreadableSample: [pid_t] = []
    var unreadableOwners: Set<UInt32> = []
    static let sampleSize = 16
    var procUnreadable = false
    var processes = 0
    var descriptors = 0
    var statted = 0

    init(candidates: Set<FileIdentity>) {
        self.candidates = candidates
    }

    private var allHeld: Bool { held.count == candidates.count }

    mutating func run(proc: String) {
        guard let procDir = opendir(proc) else {
            procUnreadable = true
            return
        }
        defer { closedir(procDir) }
        let ourPID = getpid()
        // A readlink target only needs its first byte: "/..." is a file system path;
        // "socket:[…]", "pipe:[…]", "anon_inode:…" are not and cannot be a directory.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 2) { target in
            while !allHeld, let entry = readdir(procDir) {
                withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    let name = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                    guard let pid = Self.decimal(name), pid != ourPID else { return }
                    if !scanProcess(name, in: dirfd(procDir), target: target.baseAddress!) {
                        unreadable += 1
                        if unreadableSample.count < Self.sampleSize { unreadableSample.append(pid) }
                        // /proc/<pid> belongs to the process's euid, readable by anyone.
                        var st = stat()
                        if pid != 1, fstatat(dirfd(procDir), name, &st, 0) == 0 { unreadableOwners.insert(st.st_uid) }
                    }
                }
            }
        }
    }

    /// cwd, root, then each descriptor of one process; false when any of them was denied
    /// to us. ENOENT/ESRCH anywhere: it exited, nothing to see.
    private mutating func scanProcess(_ pid: UnsafePointer<CChar>, in procFD: Int32, target: UnsafeMutablePointer<CChar>) -> Bool {
        let processFD = openat(procFD, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard processFD >= 0 else { return errno != EACCES && errno != EPERM }
        defer { close(processFD) }
        processes += 1
        var denied = false
        // stat follows the magic link to the inode itself, wherever it is mounted or renamed.
        for link in ["cwd", "root"] {
            switch statDirectory(processFD, link) {
            case .denied: denied = true
            case .directory(let identity) where candidates.contains(identity): held.insert(identity)
            default: break
            }
        }
        let fdDirFD = openat(processFD, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fdDirFD >= 0 else {
            return !denied && errno != EACCES && errno != EPERM
        }
        guard let fdDir = fdopendir(fdDirFD) else {
            close(fdDirFD)
            return false
        }
        defer { closedir(fdDir) }
        while !allHeld, let entry = readdir(fdDir) {
            withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let name = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                guard name[0] != CChar(UInt8(ascii: ".")) else { return }
                descriptors += 1
                let length = readlinkat(fdDirFD, name, target, 1)
                guard length == 1 else {
                    if length < 0, errno == EACCES || errno == EPERM { denied = true }
                    return
                }
                guard target[0] == CChar(UInt8(ascii: "/")) else { return }
                statted += 1
                switch statDirectory(fdDirFD, name) {
                case .denied: denied = true
                case .directory(let identity) where candidates.contains(identity): held.insert(identity)
                default: break
                }
            }
        }
        return !denied
    }

    private enum LinkTarget { case directory(FileIdentity), other, gone, denied }

    private func statDirectory(_ directoryFD: Int32, _ name: UnsafePointer<CChar>) -> LinkTarget {
        var st = stat()
        guard fstatat(directoryFD, name, &st, 0) == 0 else {
            return errno == EACCES || errno == EPERM ? .denied : .gone
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { return .other }
        return .directory(FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
    }

    /// A /proc entry name that is all digits, as a pid; nil for "self", "sys"...
    private static func decimal(_ name: UnsafePointer<CChar>) -> pid_t? {
        var value: Int64 = 0
        var index = 0
        while name[index] != 0 {
            let byte = UInt8(bitPattern: name[index])
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), index < 10 else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            index += 1
        }
        return index > 0 ? pid_t(exactly: value) : nil
    }
}
