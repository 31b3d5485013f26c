/// Everything `decide` needs about one bundle, observed in the contract's order:
/// JSON first (its started_at is needed by the probe), then liveness, then the marker.
public struct TaskObservation: Equatable, Sendable {
    public var document: TaskDocument
    /// mtime of `<id>.json`, Unix ms.
    public var jsonModified: Millis
    /// nil when not probed (terminal tasks are never probed).
    public var liveness: Liveness?
    public var marker: ExitMarker?
    /// mtime of `<id>.exit` when a valid marker is present.
    public var markerModified: Millis?
    public var now: Millis
    /// Where the task's output is (absolute: `io/stdout` or `io/pty` of a task directory,
    /// `<id>.stdout`/`.pty` of a flat bundle), for the harness's fate_unknown reason.
    public var outputPath: String?

    public init(document: TaskDocument, jsonModified: Millis, liveness: Liveness?, marker: ExitMarker?,
                markerModified: Millis?, now: Millis, outputPath: String? = nil) {
        self.document = document
        self.jsonModified = jsonModified
        self.liveness = liveness
        self.marker = marker
        self.markerModified = markerModified
        self.now = now
        self.outputPath = outputPath
    }
}

/// CONTRACT §5 as one pure function: no I/O, no clock. Every row is a case below and a
/// test in DecideTests. Records of schema 5 and later follow §7.4's differences (fate_unknown,
/// killed = 137 on schema 7, no stale-after), selected by the record's own schema_version.
public enum Decide {
    public static func task(_ o: TaskObservation, policy: Policy) -> Verdict {
        let task = o.document
        if task.status.isTerminal { return terminal(o, policy: policy) }
        let jsonAge = age(of: o.jsonModified, at: o.now)

        switch task.status {
        case .starting:
            let noPid = task.childPID == nil && task.pgid == nil
            if policy.spawnGrace.isReached(byAge: jsonAge) {
                if noPid || o.liveness == .gone {
                    return .finalize(Finalization(from: .starting, to: .failed, exitCode: nil, reason: "spawn aborted"))
                }
                return .leave(recheckAt: nil)
            }
            return .leave(recheckAt: policy.spawnGrace.deadline(from: o.jsonModified))

        case .running, .killing:
            if let marker = o.marker {
                let markerAge = age(of: o.markerModified ?? o.now, at: o.now)
                guard policy.finalizeGrace.isReached(byAge: markerAge) else {
                    return .leave(recheckAt: policy.finalizeGrace.deadline(from: o.markerModified ?? o.now))
                }
                let (status, exitCode) = marker.outcome(schemaVersion: task.schemaVersion)
                let reason = task.status == .killing ? "recovered from inconsistent killing state" : nil
                return .finalize(Finalization(from: task.status, to: status, exitCode: exitCode, reason: reason))
            }
            if o.liveness == .gone {
                if task.status == .killing {
                    return .finalize(Finalization(from: .killing, to: .killed, exitCode: nil,
                                                  reason: "killed while owner was gone", writeKilledMarker: true))
                }
                if task.mode == .pty {
                    return .finalize(Finalization(from: .running, to: .killed, exitCode: nil,
                                                  reason: "pty_lost_on_bridge_restart"))
                }
                if task.followsCurrentRules {
                    return .finalize(Finalization(from: .running, to: .fateUnknown, exitCode: nil,
                                                  reason: fateUnknownReason(taskID: task.taskID, outputPath: o.outputPath)))
                }
                return .finalize(Finalization(from: .running, to: .failed, exitCode: nil,
                                              reason: "process exited without exit marker"))
            }
            guard task.status == .running else { return .leave(recheckAt: nil) }
            return runningAndAlive(o, policy: policy)

        case .completed, .failed, .killed, .timedOut, .fateUnknown:
            fatalError("terminal handled above")
        }
    }

    private static func runningAndAlive(_ o: TaskObservation, policy: Policy) -> Verdict {
        let task = o.document
        let runtime = age(of: task.startedAt, at: o.now)
        var deadlines: [Millis] = []
        // The current harness enforces timeout_ms itself and dropped the 24 h rule (§7.4).
        if case .after(let staleAfter) = policy.staleAfter, !task.followsCurrentRules {
            if runtime >= staleAfter {
                return .finalize(Finalization(from: .running, to: .killed, exitCode: nil,
                                              reason: "orphaned (>\(DurationText.format(staleAfter)))",
                                              writeKilledMarker: true))
            }
            deadlines.append(task.startedAt.adding(staleAfter))
        }
        if policy.enforceTimeouts, let timeout = task.timeoutMs {
            if runtime >= timeout {
                return .enforceTimeout(Finalization(from: .running, to: .timedOut, exitCode: 124,
                                                    reason: "timed out (enforced by taskreaper)"))
            }
            deadlines.append(task.startedAt.adding(timeout))
        }
        return .leave(recheckAt: deadlines.min())
    }

    private static func terminal(_ o: TaskObservation, policy: Policy) -> Verdict {
        let jsonAge = age(of: o.jsonModified, at: o.now)
        if o.document.completionDelivered {
            if policy.retention.isReached(byAge: jsonAge) { return .removeBundle(.delivered) }
            return .leave(recheckAt: policy.retention.deadline(from: o.jsonModified))
        }
        if policy.abandonedAfter.isReached(byAge: jsonAge) { return .removeBundle(.abandoned) }
        return .leave(recheckAt: policy.abandonedAfter.deadline(from: o.jsonModified))
    }

    /// The harness's own words for a running task whose process is gone without a marker
    /// (registry.rs `restart_fate_unknown_reason`; docs/formats.md §4.4).
    public static func fateUnknownReason(taskID: String, outputPath: String?) -> String {
        "task \(taskID): daemon restarted, process fate unknown, last output at \(outputPath ?? "(unknown)")"
    }

    /// A JSON that does not parse: quarantined once old enough, reported before that.
    public static func corrupt(modified: Millis, now: Millis, policy: Policy) -> StrayVerdict {
        age(of: modified, at: now) >= policy.corruptQuarantineAge
            ? .quarantine : .leave(recheckAt: modified.adding(policy.corruptQuarantineAge))
    }

    /// A task directory without its control/, io/ or record: left while the harness may
    /// still be creating it; after that it is corrupt input (`.quarantine` stands for "no
    /// longer initialising": the corrupt rule then decides between report and quarantine).
    public static func initialising(since: Millis, now: Millis, policy: Policy) -> StrayVerdict {
        age(of: since, at: now) >= policy.initialisingGrace ? .quarantine : .leave(recheckAt: since.adding(policy.initialisingGrace))
    }

    /// A harness tombstone (`.aft-tmp-*` directory): a removal that stopped half-way is
    /// finished once it is old enough that nobody is still working on it.
    public static func tombstone(modified: Millis, now: Millis, policy: Policy) -> StrayVerdict {
        age(of: modified, at: now) >= policy.tombstoneAge ? .remove : .leave(recheckAt: modified.adding(policy.tombstoneAge))
    }

    /// A protocol temp file (`.<name>.tmp.<pid>.<id>` or `<id>.exit.tmp.<pid>`).
    public static func strayTemp(modified: Millis, writerGone: Bool, now: Millis, policy: Policy) -> StrayVerdict {
        guard writerGone else { return .leave(recheckAt: nil) }
        return age(of: modified, at: now) >= policy.strayTempAge
            ? .remove : .leave(recheckAt: modified.adding(policy.strayTempAge))
    }

    /// A bundle member whose `<id>.json` does not exist.
    public static func orphanFile(modified: Millis, now: Millis, policy: Policy) -> StrayVerdict {
        age(of: modified, at: now) >= policy.orphanFileAge
            ? .remove : .leave(recheckAt: modified.adding(policy.orphanFileAge))
    }

    /// A session directory found empty at the start of a pass.
    public static func emptySession(modified: Millis, now: Millis, policy: Policy) -> StrayVerdict {
        age(of: modified, at: now) >= policy.emptySessionAge
            ? .remove : .leave(recheckAt: modified.adding(policy.emptySessionAge))
    }
}
