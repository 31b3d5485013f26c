import TaskReaperCore

public struct WatchOptions: Sendable {
    /// A full rescan this often even when inotify saw everything (`.never`: none). Rare: a
    /// safety net against what inotify cannot see (e.g. changes on another NFS client).
    public var rescanInterval: Threshold = .after(6 * .hour)
    /// While the inotify watch limit leaves part of the trees unwatched, that part is
    /// covered by a full rescan this often.
    public var uncoveredRescanInterval: Millis = 5 * .minute
    /// A task alive only through other members of its group (its wrapper is gone, so no
    /// pidfd can tell when it ends) is looked at again this often.
    public var groupRecheckInterval: Millis = 30 * .second
    /// A root that is missing, or locked by another taskreaper, is tried again this often
    /// (when its parent directory cannot be watched for it to come back).
    public var rootRetryInterval: Millis = 5 * .second
    /// Where `watch` listens for `taskreaper ctl` when systemd passed no socket; nil: nowhere.
    public var controlSocketPath: String?
    /// Called on SIGHUP before the rescan: the CLI re-reads its configuration here and, if
    /// it is good, swaps the policy (`ReconcileContext(livePolicy:)`); a bad one is reported
    /// and the old one kept.
    public var onHangup: (@Sendable () -> Void)?
    /// Called after every pass with the `ctl status` facts (the CLI writes --metrics-file).
    public var afterPass: (@Sendable (JSONObject) -> Void)?
    /// Where directory events come from (`--events`); `auto` moves from inotify to fanotify
    /// when inotify runs out of watches (README "watch").
    public var events = EventSourceChoice.auto
    /// For `taskreaper_build_info`.
    public var version = "unknown"

    public init() {}
}
