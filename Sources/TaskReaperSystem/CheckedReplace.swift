#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Replacing a file only if it is still the one a decision was made from, against a writer
/// that replaces it by temp + rename at any moment (issue 11.2, CONTRACT §3 and §7.5).
///
/// Linux has no compare-and-rename. A check before `rename` always leaves a window between
/// the check and the rename in which a writer's newer version is replaced and lost (measured:
/// 49 in ~72 000 finalizations). So we do not check and then replace; we swap and then look:
///
///  1. pin: open the target; it must be the file read (dev, ino) with the bytes read. Held
///     open from here on, its inode number cannot be reused by another file;
///  2. write our version to a fresh temp, fsync (mode, owner copied from the file read);
///  3. rename the temp to a name that says what this step puts and expects back
///     (`ExchangeIntent`: commit, put = ours, expect = the pinned file);
///  4. `renameat2(temp, target, RENAME_EXCHANGE)`: the target is ours, and the temp now holds
///     whatever the target held at that instant. Nothing was unlinked;
///  5. if that is the pinned file with the bytes read, nobody wrote in between: unlink the
///     temp, done. Otherwise it is a newer version (a writer renamed it over the target
///     after the pin): put it back, then the caller decides again from it.
///
/// Putting back is another exchange, and a writer may rename again in between: each step
/// is renamed to (restore, put = the newest version we hold, expect = what we put at the
/// target last), exchanged, and what comes back is looked at. What we put there last: the
/// target has held it continuously since, so the newest version is now at the target and
/// what came back is superseded (ours, or an older version of the writer's): unlink it.
/// Anything else: the writer renamed it over what we had put there, so it is newer than
/// what we just put back; swap again. Each version of the writer's is either at the target
/// or at our temp at every moment, and we only unlink what is provably superseded.
/// An exchange failing with ENOENT means the target was removed after the newest version:
/// removal is then the newest state, and the temp goes.
///
/// What is left (documented in the README, "Rewrites"):
///  - for the microseconds between step 4 and the end of the put-back, a reader of the
///    target sees our version (or an older one of the writer's) although a newer one exists;
///    it is back at the target before we return;
///  - an in-place write (not temp + rename) into the pinned file after step 5's comparison
///    lands in a file we then unlink. The harness never writes a record in place;
///  - where the file system lacks RENAME_EXCHANGE (EINVAL: NFS, some FUSE), the check then
///    rename of CONTRACT §3 is used, with its window;
///  - a writer that renames into the target between every pair of our exchanges keeps us
///    swapping: after `putBackLimit` steps we stop with an error, the newest version at the
///    temp, and the stray-temp rule finishes the job on a later pass (`settle`).
///
/// A crash (SIGKILL) at any point leaves at most one temp, and its name says what to do:
/// `settle` (the stray-temp rule, once the writer pid is gone) compares the temp's file and
/// the target's with the intent and either removes the temp (it holds our unapplied version,
/// or a superseded one) or puts the newest version back exactly as step 5 would have. A
/// crash right after step 4 with nothing raced leaves the temp holding the old content: it
/// is the intent's `expect`, so it is removed and our committed version stays.
extension DirectoryHandle {
    /// The file a decision was made from: a replace goes ahead only if the target is still it.
    public struct ReadFile: Sendable {
        public let status: FileStatus
        public let bytes: [UInt8]

        public init(status: FileStatus, bytes: [UInt8]) {
            self.status = status
            self.bytes = bytes
        }
    }

    public enum ReplaceResult: Equatable, Sendable {
        case replaced
        /// The target was not (or no longer) the file read: rewritten, removed or edited.
        /// Nothing of ours remains, and the newest version of the other writer is at the
        /// target (or the target is absent, if it removed it).
        case changed
    }

    /// How many exchanges a put-back may take before it gives up (see above).
    static let putBackLimit = 64

    /// Replaces `name` with `bytes` only if it is still `read`'s file with `read`'s content,
    /// never losing a version another writer renamed over it meanwhile (see above).
    public func replace(_ name: FileName, with bytes: [UInt8], ifStill read: ReadFile, temps: TempNames,
                        steps: ReplaceSteps = .kernel) throws(SystemError) -> ReplaceResult {
        guard let decided = try HeldFile.open(name, in: self), decided.status.kind == .regular,
              decided.status.device == read.status.device, decided.status.inode == read.status.inode,
              decided.contentEquals(read.bytes) else { return .changed }

        let (fresh, ours) = try createTemp(bytes, like: read.status, temps: temps)
        let temp = temps.intent(ExchangeIntent(.commit, put: ours.digest, expect: decided.digest))
        do { try rename(fresh, to: temp) } catch {
            unlinkQuietly(fresh)
            throw error
        }

        switch steps.exchange(self, temp, name, 1) {
        case 0: break
        case EINVAL, ENOSYS:
            return try renameIfStill(temp, over: name, decided: decided, read: read)
        case ENOENT:
            unlinkQuietly(temp)
            return .changed
        case let code:
            unlinkQuietly(temp)
            throw SystemError("exchange", childPath(temp) + " <-> " + childPath(name), errno: code)
        }

        guard let back = try HeldFile.open(temp, in: self) else {
            throw SystemError("open", childPath(temp), errno: ENOENT)
        }
        if back.isSameFile(as: decided), back.contentEquals(read.bytes) {
            // A temp we fail to remove holds the intent's `expect`: the stray rule removes it.
            unlinkQuietly(temp)
            return .replaced
        }
        try putBack(back, over: ours, from: temp, target: name, temps: temps, steps: steps, exchanges: 1)
        return .changed
    }

    /// Our version in a fresh temp, held open. A harness-style name that exists is not ours:
    /// another is drawn (as the harness does, 32 attempts).
    private func createTemp(_ bytes: [UInt8], like original: FileStatus, temps: TempNames) throws(SystemError) -> (FileName, HeldFile) {
        var attempts = 0
        while true {
            let name = try temps.fresh()
            let file: Int32
            do { file = try createTemp(name, bytes: bytes, like: original, replacingLeftover: temps.freshIsOurs) } catch {
                attempts += 1
                if error.errno == EEXIST, attempts < 32 { continue }
                throw error
            }
            close(file)
            guard let held = try HeldFile.open(name, in: self) else { throw SystemError("open", childPath(name), errno: ENOENT) }
            return (name, held)
        }
    }

    /// No RENAME_EXCHANGE here: CONTRACT §3's check just before the rename, window and all.
    private func renameIfStill(_ temp: FileName, over name: FileName, decided: HeldFile, read: ReadFile) throws(SystemError) -> ReplaceResult {
        guard let now = try status(name), now.device == decided.status.device, now.inode == decided.status.inode,
              decided.contentEquals(read.bytes) else {
            unlinkQuietly(temp)
            return .changed
        }
        do { try rename(temp, to: name) } catch {
            unlinkQuietly(temp)
            throw error
        }
        return .replaced
    }

    /// Puts `newest` (at `temp`) back at `target`, where `displaced` is (see the type's
    /// comment). Returns the last temp name (already removed) for the record.
    @discardableResult
    func putBack(_ newest: HeldFile, over displaced: HeldFile, from temp: FileName, target: FileName,
                 temps: TempNames, steps: ReplaceSteps, exchanges done: Int) throws(SystemError) -> FileName {
        var (newest, displaced, temp) = (newest, displaced, temp)
        for exchange in (done + 1)...(done + Self.putBackLimit) {
            let next = temps.intent(ExchangeIntent(.restore, put: newest.digest, expect: displaced.digest))
            if next != temp {
                try rename(temp, to: next)
                temp = next
            }
            switch steps.exchange(self, temp, target, exchange) {
            case 0: break
            case ENOENT:
                // The target was removed after `newest` was written: that is the newest state.
                unlinkQuietly(temp)
                return temp
            case let code:
                throw SystemError("exchange", childPath(temp) + " <-> " + childPath(target), errno: code)
            }
            guard let back = try HeldFile.open(temp, in: self) else { throw SystemError("open", childPath(temp), errno: ENOENT) }
            if back.isSameFile(as: displaced) {
                unlinkQuietly(temp)
                return temp
            }
            // A writer renamed `back` over what we had put there: it is newer than `newest`.
            (newest, displaced) = (back, newest)
        }
        throw SystemError("put back a concurrent writer's version", childPath(target) + " (left at " + childPath(temp) + ")", errno: EAGAIN)
    }
}

/// The calls of a checked replace at which another writer can act, as a seam: tests put a
/// writer's rename right before or after any exchange, or a file system without
/// RENAME_EXCHANGE. Production uses `.kernel`.
public struct ReplaceSteps: Sendable {
    /// (directory, temp, target, exchange number from 1) -> 0 or the errno.
    public let exchange: @Sendable (DirectoryHandle, FileName, FileName, Int) -> Int32

    public init(exchange: @escaping @Sendable (DirectoryHandle, FileName, FileName, Int) -> Int32) {
        self.exchange = exchange
    }

    public static let kernel = ReplaceSteps { directory, temp, target, _ in
        temp.withCName { from in target.withCName { taskreaper_rename_exchange(directory.fd, from, directory.fd, $0) } } == 0 ? 0 : errno
    }
}
