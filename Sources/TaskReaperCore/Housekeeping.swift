/// Rules about things around a task that are not the task table of CONTRACT §5, kept here
/// with the rest of the deciding so the glue only observes and acts.
public enum Housekeeping {
    /// Whether a terminal JSON's aft.db row may be brought in step now (§6). Not while the
    /// JSON is fresh: a live harness writes the JSON, then its row, and racing it there
    /// would only duplicate its write (and report it as a repair).
    public enum RowSync: Equatable, Sendable {
        case now
        case settlingUntil(Millis)
    }

    public static func rowSync(jsonModified: Millis, now: Millis, policy: Policy) -> RowSync {
        // The settling wait is about racing a live harness, not about finalizing: with the
        // finalize grace off, rows still follow their JSON after the default grace.
        let settled = jsonModified.adding(policy.finalizeGrace.duration ?? Policy.defaultFinalizeGrace)
        return now < settled ? .settlingUntil(settled) : .now
    }

    /// A session directory this pass emptied goes in this pass (§5): every entry it had at
    /// the start was removed by us, and there was at least one.
    public static func sessionLeftEmpty(removedEntries: Int, entriesAtStart: Int) -> Bool {
        removedEntries > 0 && removedEntries == entriesAtStart
    }
}
