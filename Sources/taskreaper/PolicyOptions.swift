import ArgumentParser
import TaskReaperCore

/// The decision thresholds of CONTRACT §5, shared by `sweep` and `watch`.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("finalize-grace"), help: ArgumentHelp("How old an exit marker must be before a task is finalized from it (the live harness needs 0.5 s). Default 5s.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var finalizeGrace: Millis?

    @Option(name: .customLong("spawn-grace"), help: ArgumentHelp("How long a `starting` task without a live process may wait before it is failed as `spawn aborted`. Default 5m.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var spawnGrace: Millis?

    @Option(name: .customLong("retention"), help: ArgumentHelp("How long a delivered bundle is kept after its JSON was last written. Default 1h.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var retention: Millis?

    @Option(name: .customLong("stale-after"), help: ArgumentHelp("A running task whose process is alive but started this long ago is declared orphaned (killed). Default 24h; 0 disables.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var staleAfter: Millis?

    @Option(name: .customLong("abandoned-after"), help: ArgumentHelp("A terminal bundle never delivered is removed once its JSON is this old. Default 30d; 0 disables.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var abandonedAfter: Millis?

    @Flag(name: .customLong("enforce-timeouts"), help: "Terminate (SIGTERM, 2 s, SIGKILL) running tasks past their own timeout_ms and mark them timed_out; only a process group proven to be the task's (pgid == child_pid, its leader started with the task and owned by the JSON's owner), else an error.")
    var enforceTimeouts = false

    @Option(name: .customLong("db-busy-timeout"), help: ArgumentHelp("How long a row change in <root>/aft.db waits for the harness's write lock before it is left for a later pass (CONTRACT §6). Default 5s, at most 10m.", valueName: "DUR"),
            transform: DurationArgument.parse)
    var dbBusyTimeout: Millis?

    mutating func validate() throws {
        if let dbBusyTimeout, dbBusyTimeout > 10 * .minute { throw ValidationError("--db-busy-timeout must be at most 10m") }
    }

    var policy: Policy {
        var policy = Policy()
        if let finalizeGrace { policy.finalizeGrace = finalizeGrace }
        if let spawnGrace { policy.spawnGrace = spawnGrace }
        if let retention { policy.retention = retention }
        if let staleAfter { policy.staleAfter = staleAfter }
        if let abandonedAfter { policy.abandonedAfter = abandonedAfter }
        policy.enforceTimeouts = enforceTimeouts
        if let dbBusyTimeout { policy.dbBusyTimeout = dbBusyTimeout }
        return policy
    }
}

/// DUR: an integer with unit ms, s, m, h or d, or 0 (defaults in `--help` and README).
enum DurationArgument {
    static func parse(_ text: String) throws -> Millis {
        do { return try DurationText.parse(text) } catch { throw ValidationError(error.description) }
    }
}
