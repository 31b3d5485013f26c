import ArgumentParser
import TaskReaperCore

/// The decision thresholds of CONTRACT §5, shared by `sweep`, `watch` and `list`. Every
/// value is optional: a flag not given leaves the configuration's value (or the default).
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("finalize-grace"), parsing: .unconditional,
            help: ArgumentHelp("How old an exit marker must be before a task is finalized from it (the live harness needs 0.5 s). Default 5s; infinity: never finalize from a marker.", valueName: "DUR"),
            transform: DurationArgument.threshold)
    var finalizeGrace: Threshold?

    @Option(name: .customLong("spawn-grace"), parsing: .unconditional,
            help: ArgumentHelp("How long a `starting` task without a live process may wait before it is failed as `spawn aborted`. Default 5min; infinity: never.", valueName: "DUR"),
            transform: DurationArgument.threshold)
    var spawnGrace: Threshold?

    @Option(name: .customLong("retention"), parsing: .unconditional,
            help: ArgumentHelp("How long a delivered bundle is kept after its JSON was last written. Default 1h; 0: at once; infinity: kept.", valueName: "DUR"),
            transform: DurationArgument.threshold)
    var retention: Threshold?

    @Option(name: .customLong("stale-after"), parsing: .unconditional,
            help: ArgumentHelp("A running task whose process is alive but started this long ago is declared orphaned (killed). Default 24h; infinity disables (a bare 0 is refused: it used to disable; write infinity, or 0s for at once).", valueName: "DUR"),
            transform: { try DurationArgument.migratedZero($0, flag: "--stale-after") })
    var staleAfter: Threshold?

    @Option(name: .customLong("abandoned-after"), parsing: .unconditional,
            help: ArgumentHelp("A terminal bundle never delivered is removed once its JSON is this old. Default 30d; infinity disables (a bare 0 is refused: it used to disable; write infinity, or 0s for at once).", valueName: "DUR"),
            transform: { try DurationArgument.migratedZero($0, flag: "--abandoned-after") })
    var abandonedAfter: Threshold?

    @Flag(name: .customLong("enforce-timeouts"), inversion: .prefixedNo, help: "Terminate (SIGTERM, 2 s, SIGKILL) running tasks past their own timeout_ms and mark them timed_out; only a process group proven to be the task's (pgid == child_pid, its leader started with the task and owned by the JSON's owner), else an error. Default off (or the configuration's EnforceTimeouts=).")
    var enforceTimeouts: Bool?

    @Option(name: .customLong("db-busy-timeout"), parsing: .unconditional,
            help: ArgumentHelp("How long a row change in <root>/aft.db waits for the harness's write lock before it is left for a later pass (CONTRACT §6). Default 5s, 0: no wait, at most 10min.", valueName: "DUR"),
            transform: { try DurationArgument.finite($0, maximum: PolicyOptions.maximumBusyTimeout) })
    var dbBusyTimeout: Millis?

    static let maximumBusyTimeout: Millis = 10 * .minute

    /// The flags given, over `configuration` (files and defaults), each recorded as the
    /// origin of its value.
    func apply(to configuration: inout Configuration) {
        func flag(_ key: String, _ name: String) { configuration.flagged("Policy." + key, flag: name) }
        if let finalizeGrace { configuration.policy.finalizeGrace = finalizeGrace; flag("FinalizeGrace", "--finalize-grace") }
        if let spawnGrace { configuration.policy.spawnGrace = spawnGrace; flag("SpawnGrace", "--spawn-grace") }
        if let retention { configuration.policy.retention = retention; flag("Retention", "--retention") }
        if let staleAfter { configuration.policy.staleAfter = staleAfter; flag("StaleAfter", "--stale-after") }
        if let abandonedAfter { configuration.policy.abandonedAfter = abandonedAfter; flag("AbandonedAfter", "--abandoned-after") }
        if let enforceTimeouts {
            configuration.policy.enforceTimeouts = enforceTimeouts
            flag("EnforceTimeouts", enforceTimeouts ? "--enforce-timeouts" : "--no-enforce-timeouts")
        }
        if let dbBusyTimeout { configuration.policy.dbBusyTimeout = dbBusyTimeout; flag("DBBusyTimeout", "--db-busy-timeout") }
    }

    /// The flags over `base`.
    func policy(over base: Configuration) -> Policy {
        var configuration = base
        apply(to: &configuration)
        return configuration.policy
    }

    /// The flags over the configuration this process read.
    var policy: Policy { policy(over: ConfigurationStore.shared.configuration) }
}

/// DUR: systemd's time-span syntax (`5min`, `1h 30min`, `2d12h`, `infinity`); README "Durations".
/// ArgumentParser prefixes each message with the flag ("The value '-1s' is invalid for
/// '--retention <DUR>': ...").
enum DurationArgument {
    static func threshold(_ text: String) throws -> Threshold {
        do { return try DurationText.parse(text) } catch { throw ValidationError(error.description) }
    }

    static func finite(_ text: String, maximum: Millis = DurationText.maximum) throws -> Millis {
        do { return try DurationText.parseFinite(text, maximum: maximum) } catch { throw ValidationError(error.description) }
    }

    /// `--stale-after` and `--abandoned-after` used to read a bare `0` as "off"; it now means
    /// "at once", as for every rule. A unit file written for the old meaning must not start
    /// removing every undelivered bundle after an upgrade: the bare spelling is refused.
    static func migratedZero(_ text: String, flag: String) throws -> Threshold {
        if DurationText.isUnitlessZero(text) { throw ValidationError(migrationMessage(flag)) }
        return try threshold(text)
    }

    static func migrationMessage(_ setting: String) -> String {
        "a bare 0 no longer switches \(setting) off (0 now means at once, as for every rule); "
            + "write infinity to switch it off, or 0s to act at once"
    }

    /// `--rescan-interval`: `infinity` switches the safety rescan off; an interval below one
    /// second would rescan without pause (0 used to mean off: refused with a pointer).
    static func rescanInterval(_ text: String) throws -> Threshold {
        let value = try threshold(text)
        if case .after(let interval) = value, interval < .second {
            throw ValidationError(DurationText.isUnitlessZero(text)
                ? "0 no longer switches the safety rescan off (it would rescan without pause); write infinity"
                : "the safety rescan interval must be at least 1s, or infinity for none")
        }
        return value
    }
}
