import TaskReaperCore
import TaskReaperSystem

/// A session directory's listing sorted into bundles, protocol temp files and the rest
/// (CONTRACT §2), by file name only.
struct SessionEntries {
    struct Bundle {
        var hasJSON = false
        /// Every member present except the JSON, by file name.
        var members: [String] = []
    }

    var bundles: [String: Bundle] = [:]
    var temps: [(name: String, writerPID: Int32)] = []
    /// Names that are not ours (unknown names, directories): they keep the session non-empty.
    var others = 0
    var total: Int

    /// `resolve` stats an entry whose type readdir did not report.
    init(_ entries: [DirectoryEntry], resolve: (String) -> DirectoryEntry.Kind) {
        total = entries.count
        for entry in entries {
            var kind = entry.kind
            if kind == .unknown { kind = resolve(entry.name) }
            let name = EntryName.classify(entry.name)
            // A `<id>.json` that is a directory, FIFO or socket still names its bundle: the
            // reconciler reports it, and its members are never orphans (issue 11.7).
            if case .member(let taskID, .json) = name, kind != .regular, kind != .symlink {
                bundles[taskID, default: Bundle()].hasJSON = true
                continue
            }
            // Members and temps are files, or links to unlink (never to follow).
            guard kind == .regular || kind == .symlink else { others += 1; continue }
            switch name {
            case .member(let taskID, let memberKind):
                if memberKind == .json {
                    bundles[taskID, default: Bundle()].hasJSON = true
                } else {
                    bundles[taskID, default: Bundle()].members.append(entry.name)
                }
            case .protocolTemp(let pid):
                temps.append((entry.name, pid))
            case .unknown:
                others += 1
            }
        }
    }
}
