import Logging

/// The vocabulary of what taskreaper reports: one value per kind of event, each with a
/// stable journal MESSAGE_ID (documented in README.md; never change a published one).
public enum ActionKind: String, CaseIterable, Sendable {
    /// A non-terminal task written terminal (mark_terminal).
    case finalize
    /// A `killed` exit marker written where none was (killing/orphaned tasks).
    case writeKillMarker = "write_kill_marker"
    /// SIGTERM, then SIGKILL after the grace, to a task's group (--enforce-timeouts).
    case terminateGroup = "terminate_group"
    /// A terminal bundle removed (reason delivered or abandoned).
    case removeBundle = "remove_bundle"
    /// An unparseable JSON and its bundle moved to bash-tasks-quarantine.
    case quarantine
    /// A protocol temp file whose writer is gone, older than 1 min, removed.
    case removeStrayTemp = "remove_stray_temp"
    /// A bundle member without `<id>.json`, older than 1 h, removed.
    case removeOrphanFile = "remove_orphan_file"
    /// An empty session directory removed.
    case removeSessionDir = "remove_session_dir"
    /// A quarantined entry older than the quarantine retention removed (or an interrupted
    /// removal of one finished).
    case removeQuarantined = "remove_quarantined"
    /// An unparseable JSON younger than the quarantine age: reported, left.
    case reportCorrupt = "report_corrupt"
    /// A record with a schema_version outside 2-7: never touched.
    case skipUnsupportedSchema = "skip_unsupported_schema"
    /// A symbolic link where a directory or file of the tree was expected: not followed.
    case skipSymlink = "skip_symlink"
    /// Another sweep or watch holds this root's lock: the root was skipped.
    case skipLockedRoot = "skip_locked_root"
    /// The root's reader floor asks for a newer bash-task schema than we implement (or cannot
    /// be read): nothing under that root is touched in this pass.
    case skipReaderFloor = "skip_reader_floor"
    /// A root, tree, session or quarantine matched by a `Protect=` / `--protect` glob:
    /// never read or written.
    case skipProtected = "skip_protected"
    /// `watch` looks at everything again (start, inotify overflow, SIGHUP, the safety
    /// interval, or the watch limit's periodic cover).
    case rescan
    /// `watch` could not add an inotify watch: the per-user limit is exhausted.
    case watchLimit = "watch_limit"
    /// `watch` could not open a pidfd: the descriptor limit is reached; tasks are polled.
    case descriptorLimit = "fd_limit"
    /// A row of aft.db still non-terminal while its task's JSON is terminal, updated from
    /// the JSON (an earlier row update was deferred, or someone finalized only the file).
    case syncRow = "sync_row"
    /// aft.db stayed locked past the busy timeout: its row changes, and the removals that
    /// wait on them, are left for a later pass.
    case dbBusy = "db_busy"
    /// Something failed; the rest of the pass went on.
    case error
    /// One per sweep: the counters.
    case summary

    public var messageID: String {
        switch self {
        case .finalize: return "2d5bc4079ab44e09b066ac3b9be3eca6"
        case .writeKillMarker: return "690933814b6d499484f5627882bf7155"
        case .terminateGroup: return "45a287f5f5e648699150f568a98abd71"
        case .removeBundle: return "a5c630d3578b438a811bf18d7d8f4900"
        case .quarantine: return "27dbbe0d163f4af7b04492a6435ab964"
        case .removeStrayTemp: return "b03163788854466aa315515ebc2307d7"
        case .removeOrphanFile: return "7467e710934a494fba6d3cdd05cecfdb"
        case .removeSessionDir: return "a0e0627e96fa4f94b9a578d18513d2f0"
        case .removeQuarantined: return "aca45c272c1b497d91840a0030ca9484"
        case .reportCorrupt: return "b77c44bc82ef4ff0b1c87ac9e4a86c6b"
        case .skipUnsupportedSchema: return "c76cdcefc7c04c2291f53161537485a0"
        case .skipSymlink: return "6b1a3a9fc6bd4d04aa2b16a4df4c579b"
        case .skipLockedRoot: return "10ee9eb874cf48fa8926b266f0d47564"
        case .skipReaderFloor: return "1591743af4f84719926d477519dca685"
        case .skipProtected: return "823f341f04d4441e94960f7d32729865"
        case .rescan: return "5464f6502c49431683a39e292acea3ce"
        case .watchLimit: return "61e54de10a724418869e9f4f25eb378e"
        case .descriptorLimit: return "0d00fabc6d714932b60a017f128a9310"
        case .syncRow: return "b2dfa50e8e624567a4b17857cadbf269"
        case .dbBusy: return "f97bd6663ec645c598752adef8607d83"
        case .error: return "297b648640434786b367b1a5c475d6b4"
        case .summary: return "1d3c8120479a40e9b07fc3dd0f953a9a"
        }
    }

    /// Journal priority: changes to a task's state are notices, clean-up is info,
    /// anything an operator should look at is a warning, failures are errors.
    public var level: Logger.Level {
        switch self {
        case .finalize, .terminateGroup, .quarantine, .syncRow: return .notice
        case .writeKillMarker, .removeBundle, .removeStrayTemp, .removeOrphanFile, .removeSessionDir, .removeQuarantined, .summary, .rescan,
             .skipProtected: return .info
        case .reportCorrupt, .skipUnsupportedSchema, .skipSymlink, .skipLockedRoot, .skipReaderFloor, .watchLimit, .descriptorLimit, .dbBusy: return .warning
        case .error: return .error
        }
    }
}
