import TaskReaperCore
import TaskReaperSystem

/// A session directory's listing sorted into flat bundles, task directories, protocol temp
/// files, the harness's tombstones and the rest (CONTRACT §2, §7.1), by name and type only.
struct SessionEntries {
    struct Bundle {
        var hasJSON = false
        /// Every member present except the JSON, by file name.
        var members: [String] = []
    }

    var bundles: [String: Bundle] = [:]
    /// `bash-<16 hex>` entries that are directories, or links where one should be (reported).
    var taskDirectories: [String] = []
    /// `.aft-tmp-<32 hex>` directories: removals the harness (or we) started; finished once old.
    var tombstones: [String] = []
    var temps: [(name: String, writerPID: Int32)] = []
    /// Names that are not ours (unknown names, directories): they keep the session non-empty.
    var others = 0
    /// Names that are not valid UTF-8 (never touched; reported): they keep it non-empty too.
    var undecodable: [DirectoryEntry] = []
    var total: Int

    /// `resolve` stats an entry whose type readdir did not report.
    init(_ entries: [DirectoryEntry], resolve: (String) -> DirectoryEntry.Kind) {
        total = entries.count
        for entry in entries {
            guard entry.isValidUTF8 else {
                undecodable.append(entry)
                others += 1
                continue
            }
            var kind = entry.kind
            if kind == .unknown { kind = resolve(entry.name) }
            if kind == .directory || kind == .symlink, EntryName.isTaskDirectoryName(entry.name) {
                taskDirectories.append(entry.name)
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
                if case .member(let taskID, .json) = EntryName.classify(entry.name) {
                    bundles[taskID, default: Bundle()].hasJSON = true
                } else {
                    others += 1
                }
                continue
            }
            switch EntryName.classify(entry.name) {
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
