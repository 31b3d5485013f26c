import SystemPackage
import TaskReaperCore
import TaskReaperSystem

/// Quarantined entries past `--quarantine-retention` (README "Quarantine retention"), as the
/// harness's own quarantine GC removes them (docs/formats.md §6): every entry directly under
/// `<root>/bash-tasks-quarantine/<session>/` and `<root>/<harness>/bash-tasks-quarantine/<session>/`
/// whose name is a quarantine name (`QuarantineName`: ours `<name>.quarantined-<unix ms>`,
/// the harness's `<name>.<reason>-<16 hex>`, task directories `<id>.invalid-<16 hex>`),
/// judged by its own mtime. Nothing else in a quarantine is touched, and the per-session
/// quarantine directories stay (the harness keeps them, and removing one could race its
/// `create_dir_all` + `renameat` into it).
///
/// A file or link is unlinked (a link itself, never its target); a directory goes the way a
/// task directory does (`removeTaskDirectory`: identity check, rename to a `.aft-tmp-`
/// tombstone, then emptied through directory fds, never following a link, never leaving the
/// file system). A tombstone left in a quarantine by an interrupted removal (the harness
/// never makes one there) is finished after a minute. One report per entry
/// (`remove_quarantined`); a dry run reports only.
struct QuarantineRetention {
    let root: DirectoryHandle
    let rootPath: String
    let context: ReconcileContext

    /// Every quarantine of the root; the earliest moment an entry there comes due.
    func run() -> Millis? {
        // Off: nothing under a quarantine is even read.
        if context.policy.quarantineRetention == .never { return nil }
        var next = quarantine(in: root, harness: nil)
        // Listing failures and links among harness directories are the tree discovery's to report.
        guard let entries = try? root.entries() else { return next }
        for entry in entries.sorted(by: { $0.name < $1.name })
        where Tree.isHarnessName(entry.name) && (entry.kind == .directory || entry.kind == .unknown) {
            guard let directory = try? root.openDirectory(entry.name) else { continue }
            next = earliest(next, quarantine(in: directory, harness: entry.name))
        }
        return next
    }

    /// `<parent>/bash-tasks-quarantine`, where `parent` is a harness directory or the root.
    private func quarantine(in parent: DirectoryHandle, harness: FileName?) -> Millis? {
        let location = Location(root: rootPath, harness: harness?.escaped)
        let path = parent.childPath(Tree.quarantineName)
        // Protecting a tree protects what was moved out of it too.
        if let glob = context.policy.protection.glob(protectingAny: [path, parent.childPath(Tree.directoryName)]) {
            if Protected.exists(Tree.quarantineName, in: parent) {
                Protected.report(path, what: "quarantine", glob: glob, location: location, context: context)
            }
            return nil
        }
        let quarantine: DirectoryHandle
        let entries: [DirectoryEntry]
        do {
            quarantine = try parent.openDirectory(Tree.quarantineName)
            entries = try quarantine.entries()
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory: break
            case .notDirectory, .tooManySymbolicLinkLevels:
                if (try? parent.status(Tree.quarantineName))??.kind == .symlink { Tree.reportSymlink(path, location: location, context: context) }
            default: context.reporter.failed(error, at: location, doing: "read the quarantine")
            }
            return nil
        }
        var next: Millis?
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            switch entry.kind {
            case .symlink: Tree.reportSymlink(quarantine.childPath(entry.name), location: location, context: context)
            case .directory, .unknown: next = earliest(next, session(entry.name, in: quarantine, parent: parent, harness: harness))
            case .regular, .other: continue  // not the harness's layout: not ours to touch
            }
        }
        return next
    }

    /// One session's quarantine, `<quarantine>/<session>/`.
    private func session(_ name: FileName, in quarantine: DirectoryHandle, parent: DirectoryHandle, harness: FileName?) -> Millis? {
        let location = Location(root: rootPath, harness: harness?.escaped, session: name.escaped)
        let path = quarantine.childPath(name)
        let sessionPath = parent.childPath(Tree.directoryName) + "/" + name.escaped
        if let glob = context.policy.protection.glob(protectingAny: [path, sessionPath]) {
            Protected.report(path, what: "quarantine of session", glob: glob, location: location, context: context)
            return nil
        }
        let directory: DirectoryHandle
        let entries: [DirectoryEntry]
        do {
            directory = try quarantine.openDirectory(name)
            entries = try directory.entries()
        } catch {
            switch error.code {
            case .noSuchFileOrDirectory, .notDirectory, .tooManySymbolicLinkLevels: break  // gone, or not a directory
            default: context.reporter.failed(error, at: location, doing: "read the quarantine")
            }
            return nil
        }
        var next: Millis?
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            // Classified on the escaped form (`FileName`): a name that is not UTF-8 can be
            // one (the harness quarantines such names as `<name>.invalid-<16 hex>`).
            if let quarantined = QuarantineName.classify(entry.name.escaped) {
                next = earliest(next, expire(entry.name, quarantined, in: directory, location: location))
            } else if HarnessTempName.matches(entry.name), entry.kind != .regular {
                next = earliest(next, finishInterrupted(entry.name, in: directory, location: location))
            }
        }
        return next
    }

    /// An entry past the retention: removed, reported.
    private func expire(_ name: FileName, _ quarantined: QuarantineName, in directory: DirectoryHandle, location: Location) -> Millis? {
        var location = location
        location.taskID = quarantined.taskID
        let path = directory.childPath(name)
        do {
            guard let status = try directory.status(name) else { return nil }
            switch Decide.quarantined(modified: status.modified, now: context.clock(), policy: context.policy) {
            case .leave(let recheckAt): return recheckAt
            case .remove, .quarantine: break
            }
            var files = 1
            if !context.dryRun {
                if status.kind == .directory {
                    switch try directory.removeTaskDirectory(name, expected: FileIdentity(status)) {
                    case .removed(_, let count): files = count
                    case .absent: return nil
                    case .identityChanged: return context.retryAfterFailure()  // replaced since the look: judge it afresh
                    }
                } else if try !directory.unlink(name) {
                    return nil
                }
            }
            let retention = DurationText.format(context.policy.quarantineRetention)
            var event = ActionReport(.removeQuarantined, path: path, location: location,
                                     message: "\(context.verb("Removed", "remove")) quarantined \(status.kind == .directory ? "directory" : "file") \(path) "
                                         + "(last modified \(TimeText.short(age(of: status.modified, at: context.clock()))) ago, past the quarantine retention of \(retention))")
            event.reason = "quarantine expired"
            event.since = status.modified
            if !context.dryRun || status.kind != .directory { event.details = [("files", .integer(files))] }
            context.reporter.report(event)
            return nil
        } catch {
            context.reporter.failed(error, at: location, doing: "remove quarantined \(path)")
            return context.retryAfterFailure()
        }
    }

    /// A `.aft-tmp-` tombstone in a quarantine: our removal of a directory, interrupted.
    private func finishInterrupted(_ name: FileName, in directory: DirectoryHandle, location: Location) -> Millis? {
        let path = directory.childPath(name)
        do {
            guard let status = try directory.status(name), status.kind == .directory else { return nil }
            switch Decide.tombstone(modified: status.modified, now: context.clock(), policy: context.policy) {
            case .leave(let recheckAt): return recheckAt
            case .remove, .quarantine: break
            }
            var event = ActionReport(.removeQuarantined, path: path, location: location,
                                     message: "\(context.verb("Finished", "finish")) removing \(path) (a quarantined directory whose removal was interrupted)")
            event.reason = "interrupted removal"
            if !context.dryRun {
                switch try directory.finishTombstone(name) {
                case .finished(let count): event.details = [("files", .integer(count))]
                case .absent, .notADirectory: return nil
                }
            }
            context.reporter.report(event)
            return nil
        } catch {
            context.reporter.failed(error, at: location, doing: "finish removing \(path)")
            return context.retryAfterFailure()
        }
    }
}
