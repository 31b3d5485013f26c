import TaskReaperSystem

/// What an inotify watch descriptor stands for. A directory we hold open never reports its
/// own deletion (IN_DELETE_SELF waits for the last reference), so removals of roots, harness
/// directories and trees are seen from their parent (IN_DELETE, IN_MOVED_FROM); roots'
/// parents are watched for that (and for a root coming back), apart from these targets.
enum WatchTarget: Hashable {
    /// A storage root: harness directories and a legacy `bash-tasks` appear here.
    case root(Int)
    /// `<root>/<harness>`: its `bash-tasks` may appear later.
    case harnessDirectory(root: Int, name: FileName)
    /// A bash-tasks tree: session directories appear and disappear here.
    case tree(String)
    /// A session directory: bundles change here.
    case session(SessionKey)
    /// A task directory's `control/` or `io/` (by path) in a session: its record is replaced
    /// there, its marker written in place. Boxed: inline, its path would make every target,
    /// and both of the registry's tables, 16 bytes wider (100 000 sessions: 8 MiB).
    indirect case taskFiles(SessionKey, String)
}

/// A session directory, by its tree's path and its name (exact: `FileName`; tree paths are
/// escaped forms, which never alias either).
struct SessionKey: Hashable {
    let tree: String
    let name: FileName
}

/// What the registry learned that the loop must act on: sessions to look at, sessions and
/// trees that are gone (their deadlines and pidfds go too), or a reason to look everywhere.
struct RegistryChanges {
    var look: [SessionKey] = []
    var forgotten: [SessionKey] = []
    var forgottenTrees: [String] = []
    var rescan: String?

    mutating func merge(_ other: RegistryChanges) {
        look += other.look
        forgotten += other.forgotten
        forgottenTrees += other.forgottenTrees
        rescan = rescan ?? other.rescan
    }
}
