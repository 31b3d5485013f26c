import TaskReaperCore
import TaskReaperSystem

extension SessionEntries {
    /// A session directory's listing, sorted; `resolve` stats what readdir did not type.
    init(listing entries: [DirectoryEntry], in session: DirectoryHandle) {
        self.init(entries) { entryName in
            switch (try? session.status(entryName))??.kind {
            case .regular: return .regular
            case .symlink: return .symlink
            case .directory: return .directory
            default: return .other
            }
        }
    }

    /// Every task that observe / decide / act applies to, in the order they are looked at:
    /// flat bundles with a JSON, then task directories, by id. An id present in both layouts
    /// is corrupt input (`dualLayouts`, reported by the session) and not among them. The one
    /// enumeration `SessionReconciler` and `TaskLister` share: a new layout appears in both.
    var tasks: [(taskID: String, layout: BundleReconciler.Layout)] {
        let dual = dualLayouts
        return bundles.filter { $0.value.hasJSON && !dual.contains($0.key) }
            .sorted { $0.key < $1.key }
            .map { ($0.key, BundleReconciler.Layout.flat(members: $0.value.members)) }
            + taskDirectories.filter { !dual.contains($0) }.sorted().map { ($0, BundleReconciler.Layout.directory) }
    }
}
