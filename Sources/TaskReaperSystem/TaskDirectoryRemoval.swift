#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Removing a directory task as the harness does (formats §5, CONTRACT §7.6): check it is
/// still the directory observed, rename it to a `.aft-tmp-<32 hex>` tombstone in the
/// session directory (one atomic step: from then on no reader sees the task), then empty
/// `io/`, empty `control/` with `metadata.json` last, remove `io`, `control`, anything else
/// at the task root (Windows `metadata.ps1`), and the tombstone. `self` is the session
/// directory.
extension DirectoryHandle {
    public enum Entombment: Equatable, Sendable {
        case entombed(tombstone: FileName)
        /// `name` is not (or no longer) the directory observed: nothing was done.
        case identityChanged
        /// Nothing has that name now: nothing was done.
        case absent
    }

    public enum TaskDirectoryRemoval: Equatable, Sendable {
        case removed(tombstone: FileName, filesRemoved: Int)
        case identityChanged
        case absent
    }

    public enum TombstoneCompletion: Equatable, Sendable {
        case finished(filesRemoved: Int)
        /// Already gone: a pass before us finished it.
        case absent
        /// A file of that name (the harness's temp files share the pattern): not ours.
        case notADirectory
    }

    /// The whole removal. Errors after the rename leave a tombstone that `finishTombstone`
    /// completes on a later pass (the error's path names it).
    public func removeTaskDirectory(_ name: FileName, expected: FileIdentity) throws(SystemError) -> TaskDirectoryRemoval {
        let (result, tombstone) = try entombed(name, expected: expected)
        guard case .entombed(let tombstoneName) = result, let tombstone else {
            return result == .absent ? .absent : .identityChanged
        }
        let files = try finish(tombstone, named: tombstoneName)
        return .removed(tombstone: tombstoneName, filesRemoved: files)
    }

    /// Steps 1–2 only: the identity check and the rename to a tombstone. What a crash right
    /// after the rename leaves behind; `removeTaskDirectory` is this plus `finishTombstone`.
    public func entomb(_ name: FileName, expected: FileIdentity) throws(SystemError) -> Entombment {
        try entombed(name, expected: expected).0
    }

    /// Steps 3–5 on an existing tombstone, whatever of them was done already (a crash
    /// mid-removal): every name may be missing. For tombstones older than a minute, so a
    /// removal in progress (ours or the harness's) is not raced.
    public func finishTombstone(_ name: FileName) throws(SystemError) -> TombstoneCompletion {
        try Self.requireSingleName(name, in: self)
        // Only ever a tombstone: a mistaken call with a task's name must not empty a live task.
        guard HarnessTempName.matches(name) else {
            throw SystemError("finish tombstone (not a .aft-tmp-<32 hex> name)", childPath(name), errno: EINVAL)
        }
        let tombstone: DirectoryHandle
        do { tombstone = try openDirectory(name) } catch {
            switch error.errno {
            case ENOENT: return .absent
            case ENOTDIR, ELOOP: return .notADirectory
            default: throw error
            }
        }
        return .finished(filesRemoved: try finish(tombstone, named: name))
    }

    // MARK: Steps

    /// Identity check and rename; the tombstone's open handle when it was renamed.
    private func entombed(_ name: FileName, expected: FileIdentity) throws(SystemError) -> (Entombment, DirectoryHandle?) {
        try Self.requireSingleName(name, in: self)
        let task: DirectoryHandle
        do { task = try openDirectory(name) } catch {
            switch error.errno {
            case ENOENT: return (.absent, nil)
            case ENOTDIR, ELOOP: return (.identityChanged, nil)  // a file or link now: not what was observed
            default: throw error
            }
        }
        guard try task.identity() == expected else { return (.identityChanged, nil) }
        guard let tombstoneName = try renameToTombstone(name) else { return (.absent, nil) }
        // Between our check and the rename, `name` could have been swapped for another
        // directory; the rename would then have moved that one. Check what we moved.
        let tombstone = try? openDirectory(tombstoneName)
        guard let tombstone, try tombstone.identity() == expected else {
            // Put it back if the name is still free; either way, touch nothing inside it.
            _ = Self.renameNoReplace(fd, tombstoneName, name)
            return (.identityChanged, nil)
        }
        return (.entombed(tombstone: tombstoneName), tombstone)
    }

    /// renameat2(RENAME_NOREPLACE) to a fresh tombstone name, drawing another on EEXIST
    /// (only ever a pre-placed name), as the harness tries up to 32. Nil when `name` vanished.
    private func renameToTombstone(_ name: FileName) throws(SystemError) -> FileName? {
        for _ in 0..<32 {
            let tombstone = try HarnessTempName.make()
            if Self.renameNoReplace(fd, name, tombstone) == 0 { return tombstone }
            switch errno {
            case EEXIST: continue
            case ENOENT: return nil
            case EINVAL:
                // A file system without RENAME_NOREPLACE: check, then a plain rename. 128
                // random bits make the name taken between the two only an attacker's guess.
                var st = stat()
                guard tombstone.withCName({ fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0, errno == ENOENT else { continue }
                if name.withCName({ from in tombstone.withCName { renameat(fd, from, fd, $0) } }) == 0 { return tombstone }
                if errno == ENOENT { return nil }
                throw SystemError("rename", childPath(name) + " -> " + childPath(tombstone))
            default:
                throw SystemError("rename", childPath(name) + " -> " + childPath(tombstone))
            }
        }
        throw SystemError("rename (32 tombstone names taken)", childPath(name), errno: EEXIST)
    }

    /// Steps 3–5 through the tombstone's fd; the number of files (non-directories) removed.
    private func finish(_ tombstone: DirectoryHandle, named name: FileName) throws(SystemError) -> Int {
        var removal = TreeRemoval(device: try tombstone.status().device)
        // 3. io/'s contents, depth first (`.sandbox-tmp-*` directories included).
        if let io = try removal.openSubdirectory("io", in: tombstone, depth: 1) {
            try removal.removeContents(of: io, depth: 1)
        }
        // 4. control/'s names, metadata.json last: while any payload file is left, the
        //    record that explains it is still there.
        if let control = try removal.openSubdirectory("control", in: tombstone, depth: 1) {
            try removal.removeContents(of: control, depth: 1, order: Self.metadataLast)
        }
        // 5. rmdir io, control; whatever else the task root holds (a Windows wrapper, or an
        //    io/control that was refilled or is not a directory) through the same bounded
        //    removal; then the tombstone itself.
        for directory: FileName in ["io", "control"] where directory.withCName({ unlinkat(tombstone.fd, $0, AT_REMOVEDIR) }) != 0 {
            switch errno {
            case ENOENT, ENOTEMPTY, EEXIST, ENOTDIR: continue  // gone, or left to the next step
            default: throw SystemError("rmdir", tombstone.childPath(directory))
            }
        }
        try removal.removeContents(of: tombstone, depth: 0)
        try removal.removeEmptyDirectory(name, in: self)
        return removal.filesRemoved
    }

    /// The harness's order in `control/`: every other name (sorted, so it is repeatable),
    /// then `metadata.json`.
    static func metadataLast(_ names: [FileName]) -> [FileName] {
        names.filter { $0 != "metadata.json" }.sorted() + names.filter { $0 == "metadata.json" }
    }

    private static func renameNoReplace(_ fd: Int32, _ name: FileName, _ target: FileName) -> Int32 {
        name.withCName { from in target.withCName { taskreaper_rename_noreplace(fd, from, fd, $0) } }
    }
}
