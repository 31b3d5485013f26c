import TaskReaperCore
import TaskReaperSystem

/// A session directory's listing sorted into flat bundles, task directories, protocol temp
/// files, the harness's tombstones and the rest (CONTRACT §2, §7.1), by name and type only.
/// Names are classified on their escaped form (`FileName`), which matches a rule exactly
/// when the bytes do: one that is not UTF-8 can only be a protocol temp (its `<name>` part is
/// free) or unknown; task ids and the other patterns are ASCII.
struct SessionEntries {
    struct Bundle {
        var hasJSON = false
        /// Every member present except the JSON, by file name.
        var members: [FileName] = []
    }

    var bundles: [String: Bundle] = [:]
    /// `bash-<16 hex>` entries that are directories, or links where one should be (reported).
    var taskDirectories: [String] = []
    /// `.aft-tmp-<32 hex>` directories: removals the harness (or we) started; finished once old.
    var tombstones: [FileName] = []
    var temps: [(name: FileName, writerPID: Int32)] = []
    /// Names that are not ours (unknown names, directories): they keep the session non-empty.
    var others = 0
    var total: Int

    /// `resolve` stats an entry whose type readdir did not report.
    init(_ entries: [DirectoryEntry], resolve: (FileName) -> DirectoryEntry.Kind) {
        total = entries.count
        for entry in entries {
            let name = entry.name.escaped
            var kind = entry.kind
            if kind == .unknown { kind = resolve(entry.name) }
            if kind == .directory || kind == .symlink, EntryName.isTaskDirectoryName(name) {
                taskDirectories.append(name)
                continue
            }
            if kind == .directory, HarnessTempName.matches(entry.name) {
                tombstones.append(entry.name)
                continue
            }
            // Members and temps are files, or links to unlink (never to follow). A `<id>.json`
            // of any other type (FIFO, socket, directory) still makes its bundle a task: it is
            // reported as corrupt and its members are kept, never deleted as orphans.
            guard kind == .regular || kind == .symlink else {
                if case .member(let taskID, .json) = EntryName.classify(name) {
                    bundles[taskID, default: Bundle()].hasJSON = true
                } else {
                    others += 1
                }
                continue
            }
            switch EntryName.classify(name) {
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

    /// Ids present in both layouts (`<id>.json` and `<id>/`): corrupt input, neither touched.
    var dualLayouts: Set<String> {
        Set(taskDirectories).intersection(bundles.filter { $0.value.hasJSON }.keys)
    }
}
