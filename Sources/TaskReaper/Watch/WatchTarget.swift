import TaskReaperSystem

/// What an inotify watch descriptor stands for. A directory we hold open never reports its
/// own deletion (IN_DELETE_SELF waits for the last reference), so removals of roots, harness
/// directories and trees are seen from their parent (IN_DELETE, IN_MOVED_FROM); roots'
/// parents are watched for that (and for a root coming back), apart from these targets.
enum WatchTarget: Hashable {
    // Every case but a session's is boxed: the target is 8 bytes, and the wd table holds
    // one per session (100 000 sessions: 12 bytes a slot in 262 144 slots, not 28).
    /// A storage root: harness directories and a legacy `bash-tasks` appear here.
    indirect case root(Int)
    /// `<root>/<harness>`: its `bash-tasks` may appear later.
    indirect case harnessDirectory(root: Int, name: FileName)
    /// A bash-tasks tree: session directories appear and disappear here.
    indirect case tree(String)
    /// A session directory: bundles change here.
    case session(SessionID)
    /// A task directory's `control/` or `io/` (by path) in a session: its record is replaced
    /// there, its marker written in place.
    indirect case taskFiles(SessionID, String)
}

/// A session directory, by its tree's path and its name (exact: `FileName`; tree paths are
/// escaped forms, which never alias either): how a pass names a session it removed.
struct SessionKey: Hashable {
    let tree: String
    let name: FileName
}

/// What the registry learned that the loop must act on: sessions to look at, sessions that
/// are gone (with their tree or root too; their deadlines and pidfds go, and their numbers
/// may be handed out again: the loop forgets before it looks), or a reason to look everywhere.
struct RegistryChanges {
    var look: [SessionID] = []
    var forgotten: [SessionID] = []
    var rescan: String?

    mutating func merge(_ other: RegistryChanges) {
        look += other.look
        forgotten += other.forgotten
        rescan = rescan ?? other.rescan
    }
}
