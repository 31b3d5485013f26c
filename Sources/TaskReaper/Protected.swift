import TaskReaperCore
import TaskReaperSystem

/// `Protect=` / `--protect` (README "Protect"): a root, tree, session or quarantine a glob
/// protects is never read or written. Each one that exists is reported once per pass
/// (`skip_protected`; `watch` says it once until it changes); the rule is
/// `Protection.glob(protecting:)`, in TaskReaperCore.
enum Protected {
    static func report(_ path: String, what: String, glob: String, location: Location, context: ReconcileContext) {
        var event = ActionReport(.skipProtected, path: path, location: location,
                                 message: "Leaving \(what) \(path) alone: protected by \(glob) (never read or written)")
        event.details = [("glob", .string(glob))]
        context.reporter.report(event)
    }

    /// A storage root a glob protects: reported, and not even opened (no lock, no reader
    /// floor read).
    static func root(_ path: String, context: ReconcileContext) -> Bool {
        guard let glob = context.policy.protection.glob(protecting: path) else { return false }
        report(path, what: "root", glob: glob, location: Location(root: path, harness: nil), context: context)
        return true
    }

    /// Whether `name` exists in `directory` (lstat only: nothing is read). A protected
    /// directory that is not there is not worth a report.
    static func exists(_ name: FileName, in directory: DirectoryHandle) -> Bool {
        ((try? directory.status(name)) ?? nil) != nil
    }
}

extension Tree {
    /// The glob protecting session `name` of this tree (or the whole tree), if any: globs
    /// match paths as reports show them (a name's escaped form, `FileName`).
    public func protectingGlob(session name: FileName, policy: Policy) -> String? {
        policy.protection.glob(protecting: directory.childPath(name))
    }

    /// A protected session: reported (when it exists), never opened.
    func skipsProtected(session name: FileName, context: ReconcileContext) -> Bool {
        guard let glob = protectingGlob(session: name, policy: context.policy) else { return false }
        if Protected.exists(name, in: directory) {
            Protected.report(directory.childPath(name), what: "session", glob: glob, location: location(session: name), context: context)
        }
        return true
    }
}
