#if canImport(Glibc)
import Glibc
#endif
import TaskReaperSystem

/// One bash-tasks tree under a root (CONTRACT §1): `<root>/bash-tasks` (legacy, no
/// harness) or `<root>/<harness>/bash-tasks`.
public struct Tree: Sendable {
    public let root: String
    public let harness: String?
    /// The bash-tasks directory.
    public let directory: DirectoryHandle
    /// Where `bash-tasks-quarantine` goes: the harness directory, or the root (legacy).
    public let parent: DirectoryHandle
    /// The root's aft.db, shared by its trees.
    public let mirror: TaskMirror?

    public static let directoryName = "bash-tasks"
    public static let quarantineName = "bash-tasks-quarantine"

    func location(session: String? = nil, taskID: String? = nil) -> Location {
        Location(root: root, harness: harness, session: session, taskID: taskID)
    }

    /// Every tree under an open root. Links are never followed: a harness directory or a
    /// bash-tasks that is a symbolic link is reported and skipped.
    static func discover(in root: DirectoryHandle, mirror: TaskMirror?, context: ReconcileContext) -> [Tree] {
        let rootPath = root.path
        let entries: [DirectoryEntry]
        do { entries = try root.entries() } catch {
            context.reporter.failed(error, at: Location(root: rootPath, harness: nil), dryRun: context.dryRun,
                                    doing: "list the storage root")
            return []
        }
        var trees: [Tree] = []
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            if entry.name == directoryName {
                if let directory = open(directoryName, in: root, location: Location(root: rootPath, harness: nil), context: context) {
                    trees.append(Tree(root: rootPath, harness: nil, directory: directory, parent: root, mirror: mirror))
                }
                continue
            }
            guard !entry.name.hasPrefix("."), entry.name != quarantineName,
                  entry.kind == .directory || entry.kind == .unknown else { continue }
            // Most entries of a root are not harness dirs (aft.db, caches): only look inside
            // the ones that have a bash-tasks child.
            guard let harnessDir = try? root.openDirectory(entry.name),
                  let status = try? harnessDir.status(directoryName) else { continue }
            let location = Location(root: rootPath, harness: entry.name)
            if status.kind == .symlink {
                reportSymlink(harnessDir.childPath(directoryName), location: location, context: context)
                continue
            }
            guard status.kind == .directory,
                  let directory = open(directoryName, in: harnessDir, location: location, context: context) else { continue }
            trees.append(Tree(root: rootPath, harness: entry.name, directory: directory, parent: harnessDir, mirror: mirror))
        }
        return trees
    }

    private static func open(_ name: String, in parent: DirectoryHandle, location: Location, context: ReconcileContext) -> DirectoryHandle? {
        do { return try parent.openDirectory(name) } catch {
            if error.errno == ELOOP {
                reportSymlink(parent.childPath(name), location: location, context: context)
            } else if error.errno != ENOTDIR {
                context.reporter.failed(error, at: location, dryRun: context.dryRun, doing: "open the bash-tasks tree")
            }
            return nil
        }
    }

    static func reportSymlink(_ path: String, location: Location, context: ReconcileContext) {
        context.reporter.report(ActionReport(.skipSymlink, path: path, location: location, dryRun: context.dryRun,
                                             message: "Not following symbolic link \(path)"))
    }
}
