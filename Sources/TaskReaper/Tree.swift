import SystemPackage
import TaskReaperSystem

/// One bash-tasks tree under a root (CONTRACT §1): `<root>/bash-tasks` (legacy, no
/// harness) or `<root>/<harness>/bash-tasks`. The only place that knows how trees are
/// found: `sweep` and `watch`'s registry both go through `discover` / `open`, so they report
/// the same things (a linked bash-tasks is `skip_symlink` in both).
public struct Tree: Sendable {
    public let root: String
    /// The harness directory's name, exactly (nil for the legacy tree).
    public let harnessName: FileName?
    /// Its escaped form, for reports (`FileName`).
    public var harness: String? { harnessName?.escaped }
    /// The bash-tasks directory.
    public let directory: DirectoryHandle
    /// Where `bash-tasks-quarantine` goes: the harness directory, or the root (legacy).
    public let parent: DirectoryHandle
    /// The root's aft.db, shared by its trees.
    public let mirror: TaskMirror?

    public static let directoryName: FileName = "bash-tasks"
    public static let quarantineName: FileName = "bash-tasks-quarantine"

    func location(session: FileName? = nil, taskID: String? = nil) -> Location {
        Location(root: root, harness: harness, session: session?.escaped, taskID: taskID)
    }

    /// Whether a root's entry may be a harness directory: not hidden (ours or anyone's
    /// temp and state), not the legacy tree, not a quarantine. Any other name is one, UTF-8
    /// or not: the harness names its own (`opencode`, `pi`, `runner`, `mcp--…`) with Rust
    /// strings, but a tree under another name is reconciled all the same (README).
    static func isHarnessName(_ name: FileName) -> Bool {
        !name.escaped.hasPrefix(".") && name != directoryName && name != quarantineName
    }

    /// Every tree under an open root.
    static func discover(in root: DirectoryHandle, rootPath: String, mirror: TaskMirror?, context: ReconcileContext) -> [Tree] {
        var trees: [Tree] = []
        if let legacy = open(in: root, harness: nil, rootPath: rootPath, mirror: mirror, context: context) { trees.append(legacy) }
        for (name, directory) in harnessDirectories(in: root, rootPath: rootPath, context: context) {
            if let tree = open(in: directory, harness: name, rootPath: rootPath, mirror: mirror, context: context) { trees.append(tree) }
        }
        return trees
    }

    /// The directories of a root that may hold a harness's tree, opened (never through a
    /// link), sorted by name.
    static func harnessDirectories(in root: DirectoryHandle, rootPath: String, context: ReconcileContext) -> [(name: FileName, directory: DirectoryHandle)] {
        let entries: [DirectoryEntry]
        do { entries = try root.entries() } catch {
            context.reporter.failed(error, at: Location(root: rootPath, harness: nil), doing: "list the storage root")
            return []
        }
        return entries
            .filter { entry in
                guard isHarnessName(entry.name) else { return false }
                if entry.kind == .symlink {
                    // Where a harness directory could be: said, never followed (issue 11.7).
                    reportSymlink(root.childPath(entry.name), location: Location(root: rootPath, harness: entry.name.escaped), context: context)
                    return false
                }
                return entry.kind == .directory || entry.kind == .unknown
            }
            .sorted { $0.name < $1.name }
            .compactMap { entry in (try? root.openDirectory(entry.name)).map { (entry.name, $0) } }
    }

    /// The bash-tasks tree in `parent` (a harness directory, or the root for the legacy
    /// tree); nil when there is none, or when a `Protect=` glob protects it (reported). A
    /// link there is reported and never followed.
    static func open(in parent: DirectoryHandle, harness: FileName?, rootPath: String, mirror: TaskMirror?,
                     context: ReconcileContext) -> Tree? {
        let location = Location(root: rootPath, harness: harness?.escaped)
        if let glob = context.policy.protection.glob(protecting: parent.childPath(directoryName)) {
            if Protected.exists(directoryName, in: parent) {
                Protected.report(parent.childPath(directoryName), what: "tree", glob: glob, location: location, context: context)
            }
            return nil
        }
        do {
            let directory = try parent.openDirectory(directoryName)
            // aft.db rows name their harness with the harness's own (Rust, UTF-8) string: a
            // directory whose name is not UTF-8 has no rows, and is never the legacy tree.
            let rows = harness?.text == nil && harness != nil ? nil : mirror
            return Tree(root: rootPath, harnessName: harness, directory: directory, parent: parent, mirror: rows)
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory: break
            case .notDirectory, .tooManySymbolicLinkLevels:
                // O_NOFOLLOW|O_DIRECTORY on a link fails with either; a plain file is no tree.
                if (try? parent.status(directoryName))??.kind == .symlink {
                    reportSymlink(parent.childPath(directoryName), location: location, context: context)
                }
            default:
                context.reporter.failed(error, at: location, doing: "open the bash-tasks tree")
            }
            return nil
        }
    }

    /// A session directory opened (never through a link) and listed; nil when it is gone, not
    /// a directory, or unreadable (reported). `reportLinks`: say so when it is a link.
    func openSession(_ name: FileName, context: ReconcileContext, reportLinks: Bool) -> (DirectoryHandle, [DirectoryEntry])? {
        let location = location(session: name)
        do {
            let session = try directory.openDirectory(name)
            return (session, try session.entries())
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory: break  // gone since the listing
            case .notDirectory, .tooManySymbolicLinkLevels:
                // O_NOFOLLOW|O_DIRECTORY on a link fails with either; a plain file is no session.
                if reportLinks, (try? directory.status(name))??.kind == .symlink {
                    Self.reportSymlink(directory.childPath(name), location: location, context: context)
                }
            default: context.reporter.failed(error, at: location, doing: "read session directory")
            }
            return nil
        }
    }

    /// The session directories of a tree (and links where they should be, reported later).
    func sessionNames(context: ReconcileContext) -> [FileName] {
        do {
            return try directory.entries()
                .filter { entry in entry.kind == .directory || entry.kind == .unknown || entry.kind == .symlink }
                .map(\.name)
        } catch {
            context.reporter.failed(error, at: location(), doing: "list the bash-tasks tree")
            return []
        }
    }

    static func reportSymlink(_ path: String, location: Location, context: ReconcileContext) {
        context.reporter.report(ActionReport(.skipSymlink, path: path, location: location,
                                             message: "Not following symbolic link \(path)"))
    }
}
