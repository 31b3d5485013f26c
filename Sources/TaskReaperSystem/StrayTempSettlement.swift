#if canImport(Glibc)
import Glibc
#endif

/// What the stray-temp rule does with a temp of a checked replace whose writer is gone
/// (crashed, killed): the temp's name records the step it was taking (`ExchangeIntent`),
/// and comparing the files now at the temp and at the target with it says which side of
/// the step's exchange the crash came, so a newer version a writer had renamed over the
/// target is never deleted with the temp (CheckedReplace.swift).
///
/// | temp holds                | target holds              | meaning                                       | action |
/// |---------------------------|---------------------------|-----------------------------------------------|--------|
/// | `put`, step = commit      | anything                  | our version, never exchanged                  | remove |
/// | `put`, step = restore     | `expect`                  | a put-back not yet exchanged                   | put back |
/// | `put`, step = restore     | anything else             | a writer wrote after that: newer than `put`   | remove |
/// | `expect`                  | anything                  | exchanged, nothing raced: superseded           | remove |
/// | something else            | `put`                     | exchanged, a writer's newer version came back  | put back |
/// | something else            | anything else, or nothing | a writer wrote (or removed) after the exchange | remove |
/// | (target absent)           |                           | removed after everything in the temp           | remove |
///
/// "put back" is the same exchange loop a live replace runs, under our own pid's names.
/// Compared by `FileDigest` (nothing is held open across a crash): an inode number reused
/// within the same millisecond of birth time by the file that replaced ours would fool it.
extension DirectoryHandle {
    public enum StrayTempSettlement: Equatable, Sendable {
        /// The temp was removed: it held nothing newer than the target.
        case removed
        /// The temp held a writer's version newer than the target's: it is at the target again.
        case putBack(target: FileName)
        /// Nothing by that name any more.
        case gone
    }

    /// Removes a stray temp of a gone writer, settling a seed-family exchange step first
    /// (`.<name>.tmp.<pid>.x<32 hex>`); any other temp is simply unlinked.
    public func settleStrayTemp(_ temp: FileName, steps: ReplaceSteps = .kernel) throws(SystemError) -> StrayTempSettlement {
        guard let (target, intent) = TempNames.seedIntent(temp) else {
            return try unlink(temp) ? .removed : .gone
        }
        return try settle(temp, target: target, intent: intent, temps: .seed(for: target), steps: steps)
    }

    /// Settles the temp of an exchange step (see the table above). `temps` names the steps
    /// of a put-back, if one is needed.
    public func settle(_ temp: FileName, target: FileName, intent: ExchangeIntent, temps: TempNames,
                       steps: ReplaceSteps = .kernel) throws(SystemError) -> StrayTempSettlement {
        guard let held = try HeldFile.open(temp, in: self) else { return .gone }
        func remove() throws(SystemError) -> StrayTempSettlement { try unlink(temp) ? .removed : .gone }
        guard let current = try HeldFile.open(target, in: self) else { return try remove() }
        let putBackNeeded: Bool
        if intent.isPut(held.digest) {
            putBackNeeded = intent.kind == .restore && intent.isExpected(current.digest)
        } else if intent.isExpected(held.digest) {
            putBackNeeded = false
        } else {
            putBackNeeded = intent.isPut(current.digest)
        }
        guard putBackNeeded else { return try remove() }
        try putBack(held, over: current, from: temp, target: target, temps: temps, steps: steps, exchanges: 0)
        return .putBack(target: target)
    }
}
