/// Every threshold of CONTRACT §5. The first nine are operator settings (flags and the
/// configuration, shared by `sweep`, `watch` and `list`); the rest are fixed by the contract
/// and exposed only so tests can name them. A rule an operator can switch off is a
/// `Threshold`: `.after(0)` acts at once, `.never` (`infinity`) never.
public struct Policy: Equatable, Sendable {
    /// A marker must be this old before we finalize from it (the live harness does it in 0.5 s).
    /// Off: never finalize from a marker (the harness's job alone).
    public var finalizeGrace: Threshold = .after(Policy.defaultFinalizeGrace)
    /// A `starting` task without a live process is abandoned after this long. Off: never.
    public var spawnGrace: Threshold = .after(5 * .minute)
    /// Delivered bundles are removed once their JSON is this old. Off: kept.
    public var retention: Threshold = .after(1 * .hour)
    /// A running task whose process is alive but started this long ago is declared orphaned. Off: never.
    public var staleAfter: Threshold = .after(24 * .hour)
    /// Undelivered terminal bundles are removed once their JSON is this old. Off: kept.
    public var abandonedAfter: Threshold = .after(30 * .day)
    /// Kill running tasks past their own `timeout_ms`.
    public var enforceTimeouts = false
    /// How long a row change waits for a harness holding aft.db's write lock (the harness's own 5 s).
    public var dbBusyTimeout: Millis = 5 * .second
    /// Quarantined entries are removed once their own mtime is this old (the harness's
    /// `QUARANTINE_GC_GRACE`). Off: kept.
    public var quarantineRetention: Threshold = .after(30 * .day)
    /// Trees and sessions never read or written (`Protect=`, `--protect`).
    public var protection = Protection()

    /// SIGTERM to SIGKILL when enforcing a timeout.
    public var terminationGrace: Millis = 2 * .second
    /// A protocol temp file whose writer is gone is removed after this long.
    public var strayTempAge: Millis = 1 * .minute
    /// Bundle members without a JSON are removed after this long.
    public var orphanFileAge: Millis = 1 * .hour
    /// An unparseable JSON is quarantined after this long (reported before).
    public var corruptQuarantineAge: Millis = 24 * .hour
    /// A task directory without its control/, io/ or record is the harness still creating it
    /// this long (CONTRACT §7.1; an escalation payload waits up to 120 s for its record).
    public var initialisingGrace: Millis = 5 * .minute
    /// A harness tombstone (`.aft-tmp-*` directory) this old is an interrupted removal (§7.6).
    public var tombstoneAge: Millis = 1 * .minute
    /// An empty session directory is removed after this long.
    public var emptySessionAge: Millis = 1 * .hour
    /// An empty session directory kept because a process holds it open is looked at again
    /// this long after: nothing wakes `watch` when the holder closes it or exits.
    public var heldSessionRecheck: Millis = 1 * .minute
    /// After a busy timeout, aft.db is left alone this long (one wait per backoff, not per row).
    public var dbBusyBackoff: Millis = 30 * .second
    /// An item whose action failed (ENOSPC, EROFS, EACCES...) is looked at again this long after:
    /// `watch` gets no event when the disk is freed or remounted read-write.
    public var failureRetry: Millis = 30 * .second
    /// A pid whose process started this long after the task did belongs to someone else.
    public var pidReuseSlack: Millis = 30 * .second

    /// The default finalize grace; also how long a terminal JSON settles before its aft.db
    /// row is synced when the operator switched finalizing from markers off.
    public static let defaultFinalizeGrace: Millis = 5 * .second

    public init() {}
}
