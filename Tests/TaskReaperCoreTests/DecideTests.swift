import TaskReaperCore
import XCTest

/// CONTRACT §5, one row per case: each case names the row it proves.
final class DecideTests: XCTestCase {
    let now: Millis = 1_800_000_000_000
    let policy = Policy()

    private func document(_ status: String, mode: String = "pipes", startedAgo: Millis = 10 * .minute,
                          childPID: String = "4242", pgid: String = "4242", delivered: Bool = false,
                          notify: Bool = true, timeoutMs: String = "null", schema: Int = 4) -> TaskDocument {
        let text = """
        {"schema_version": \(schema), "task_id": "bgb-0000abcd", "session_id": "ses", "command": "sleep 1",
         "mode": "\(mode)", "workdir": "/w", "project_root": null, "status": "\(status)",
         "started_at": \(now - startedAgo), "finished_at": null, "duration_ms": null, "timeout_ms": \(timeoutMs),
         "exit_code": null, "child_pid": \(childPID), "pgid": \(pgid), "completion_delivered": \(delivered),
         "notify_on_completion": \(notify), "compressed": true, "pty_rows": null, "pty_cols": null, "status_reason": null}
        """
        return try! TaskDocument(parsing: Array(text.utf8))
    }

    private func observe(_ document: TaskDocument, jsonAgo: Millis = 10 * .minute, liveness: Liveness? = nil,
                         marker: ExitMarker? = nil, markerAgo: Millis = 10 * .second) -> TaskObservation {
        TaskObservation(document: document, jsonModified: now - jsonAgo,
                        liveness: document.status.isTerminal ? nil : (liveness ?? .alive),
                        marker: marker, markerModified: marker == nil ? nil : now - markerAgo, now: now,
                        outputPath: "/r/opencode/bash-tasks/ab/bash-0123456789abcdef/io/stdout")
    }

    struct Row {
        let name: String
        let observation: TaskObservation
        let policy: Policy
        let expected: Verdict
        let line: UInt
    }

    func testEveryRowOfTheNonTerminalTable() {
        var timeouts = policy
        timeouts.enforceTimeouts = true
        var staleOff = policy
        staleOff.staleAfter = .never
        let rows: [Row] = [
            // starting | older than spawn grace, and no pid recorded or gone | failed | spawn aborted
            Row(name: "starting, old, no pid", observation: observe(document("starting", childPID: "null", pgid: "null"), jsonAgo: 6 * .minute),
                policy: policy, expected: .finalize(Finalization(from: .starting, to: .failed, exitCode: nil, reason: "spawn aborted")), line: #line),
            Row(name: "starting, old, pid gone", observation: observe(document("starting"), jsonAgo: 5 * .minute, liveness: .gone),
                policy: policy, expected: .finalize(Finalization(from: .starting, to: .failed, exitCode: nil, reason: "spawn aborted")), line: #line),
            Row(name: "starting, old, pid alive: left", observation: observe(document("starting"), jsonAgo: 6 * .minute, liveness: .alive),
                policy: policy, expected: .leave(recheckAt: nil), line: #line),
            Row(name: "starting, young, no pid: recheck at the spawn grace", observation: observe(document("starting", childPID: "null", pgid: "null"), jsonAgo: 1 * .minute),
                policy: policy, expected: .leave(recheckAt: now - 1 * .minute + 5 * .minute), line: #line),
            // running / killing | marker present and older than finalize grace | per marker table
            Row(name: "running, marker 0", observation: observe(document("running"), liveness: .gone, marker: .code(0)),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .completed, exitCode: 0, reason: nil)), line: #line),
            Row(name: "running, marker 3, still alive", observation: observe(document("running"), liveness: .alive, marker: .code(3)),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .failed, exitCode: 3, reason: nil)), line: #line),
            Row(name: "running, marker -1", observation: observe(document("running"), liveness: .gone, marker: .code(-1)),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .failed, exitCode: -1, reason: nil)), line: #line),
            Row(name: "running, marker killed", observation: observe(document("running"), liveness: .gone, marker: .killed),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: nil, reason: nil)), line: #line),
            Row(name: "killing, marker 0", observation: observe(document("killing"), liveness: .gone, marker: .code(0)),
                policy: policy, expected: .finalize(Finalization(from: .killing, to: .completed, exitCode: 0, reason: "recovered from inconsistent killing state")), line: #line),
            Row(name: "running, marker younger than the grace: recheck", observation: observe(document("running"), liveness: .gone, marker: .code(0), markerAgo: 2 * .second),
                policy: policy, expected: .leave(recheckAt: now - 2 * .second + 5 * .second), line: #line),
            Row(name: "running, marker exactly at the grace", observation: observe(document("running"), liveness: .gone, marker: .code(0), markerAgo: 5 * .second),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .completed, exitCode: 0, reason: nil)), line: #line),
            // killing | gone, no marker | killed + killed marker | killed while owner was gone
            Row(name: "killing, gone, no marker", observation: observe(document("killing"), liveness: .gone),
                policy: policy, expected: .finalize(Finalization(from: .killing, to: .killed, exitCode: nil, reason: "killed while owner was gone", writeKilledMarker: true)), line: #line),
            Row(name: "killing, alive, no marker: left", observation: observe(document("killing"), liveness: .alive),
                policy: policy, expected: .leave(recheckAt: nil), line: #line),
            // running, mode pty | gone, no marker | killed | pty_lost_on_bridge_restart
            Row(name: "running pty, gone", observation: observe(document("running", mode: "pty"), liveness: .gone),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: nil, reason: "pty_lost_on_bridge_restart")), line: #line),
            // running | gone, no marker | failed | process exited without exit marker
            Row(name: "running, gone, no marker", observation: observe(document("running"), liveness: .gone),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .failed, exitCode: nil, reason: "process exited without exit marker")), line: #line),
            // running | alive, started more than stale-after ago | killed + marker | orphaned (>24h)
            Row(name: "running, alive, 25 h old", observation: observe(document("running", startedAgo: 25 * .hour), liveness: .alive),
                policy: policy, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: nil, reason: "orphaned (>24h)", writeKilledMarker: true)), line: #line),
            Row(name: "running, alive, 25 h old, stale-after infinity: off", observation: observe(document("running", startedAgo: 25 * .hour), liveness: .alive),
                policy: staleOff, expected: .leave(recheckAt: nil), line: #line),
            Row(name: "running, alive, young: recheck when it turns stale", observation: observe(document("running", startedAgo: 1 * .hour), liveness: .alive),
                policy: policy, expected: .leave(recheckAt: now - 1 * .hour + 24 * .hour), line: #line),
            // running | alive, past timeout_ms, --enforce-timeouts | timed_out 124
            Row(name: "running, alive, past its timeout, enforced", observation: observe(document("running", startedAgo: 2 * .minute, timeoutMs: "60000"), liveness: .alive),
                policy: timeouts, expected: .enforceTimeout(Finalization(from: .running, to: .timedOut, exitCode: 124, reason: "timed out (enforced by taskreaper)")), line: #line),
            Row(name: "running, alive, past its timeout, not enforced", observation: observe(document("running", startedAgo: 2 * .minute, timeoutMs: "60000"), liveness: .alive),
                policy: policy, expected: .leave(recheckAt: now - 2 * .minute + 24 * .hour), line: #line),
            Row(name: "running, alive, timeout ahead: recheck at the timeout", observation: observe(document("running", startedAgo: 2 * .minute, timeoutMs: "600000"), liveness: .alive),
                policy: timeouts, expected: .leave(recheckAt: now - 2 * .minute + 10 * .minute), line: #line),
        ]
        for row in rows {
            XCTAssertEqual(Decide.task(row.observation, policy: row.policy), row.expected, row.name, line: row.line)
        }
    }

    /// CONTRACT §7.4: records of schema 5 and later, one case per row, and every row of §5
    /// that §7.4 keeps, proven unchanged on each of those schemas.
    func testEveryRowOfTheCurrentHarnessTable() {
        var timeouts = policy
        timeouts.enforceTimeouts = true
        let fateUnknown = "task bgb-0000abcd: daemon restarted, process fate unknown, last output at /r/opencode/bash-tasks/ab/bash-0123456789abcdef/io/stdout"
        for schema in 5...7 {
            let killedCode: Int32? = schema == 7 ? 137 : nil
            let rows: [Row] = [
                // running | gone, no marker | fate_unknown, exit_code null, the harness's reason
                Row(name: "s\(schema) running, gone, no marker", observation: observe(document("running", schema: schema), liveness: .gone),
                    policy: policy, expected: .finalize(Finalization(from: .running, to: .fateUnknown, exitCode: nil, reason: fateUnknown)), line: #line),
                // killed by marker | exit_code 137 on schema 7 (terminal_exit_code_for_status)
                Row(name: "s\(schema) running, marker killed", observation: observe(document("running", schema: schema), liveness: .gone, marker: .killed),
                    policy: policy, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: killedCode, reason: nil)), line: #line),
                Row(name: "s\(schema) killing, marker killed", observation: observe(document("killing", schema: schema), liveness: .gone, marker: .killed),
                    policy: policy, expected: .finalize(Finalization(from: .killing, to: .killed, exitCode: killedCode, reason: "recovered from inconsistent killing state")), line: #line),
                // running | alive past stale-after | not applied: only --enforce-timeouts acts
                Row(name: "s\(schema) running, alive, 25 h old: left", observation: observe(document("running", startedAgo: 25 * .hour, schema: schema), liveness: .alive),
                    policy: policy, expected: .leave(recheckAt: nil), line: #line),
                Row(name: "s\(schema) running, alive, past timeout, enforced", observation: observe(document("running", startedAgo: 25 * .hour, timeoutMs: "60000", schema: schema), liveness: .alive),
                    policy: timeouts, expected: .enforceTimeout(Finalization(from: .running, to: .timedOut, exitCode: 124, reason: "timed out (enforced by taskreaper)")), line: #line),
                // Everything else as in §5:
                Row(name: "s\(schema) starting, old, no pid", observation: observe(document("starting", childPID: "null", pgid: "null", schema: schema), jsonAgo: 6 * .minute),
                    policy: policy, expected: .finalize(Finalization(from: .starting, to: .failed, exitCode: nil, reason: "spawn aborted")), line: #line),
                Row(name: "s\(schema) killing, gone, no marker", observation: observe(document("killing", schema: schema), liveness: .gone),
                    policy: policy, expected: .finalize(Finalization(from: .killing, to: .killed, exitCode: nil, reason: "killed while owner was gone", writeKilledMarker: true)), line: #line),
                Row(name: "s\(schema) running pty, gone", observation: observe(document("running", mode: "pty", schema: schema), liveness: .gone),
                    policy: policy, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: nil, reason: "pty_lost_on_bridge_restart")), line: #line),
                Row(name: "s\(schema) running, marker 3", observation: observe(document("running", schema: schema), liveness: .gone, marker: .code(3)),
                    policy: policy, expected: .finalize(Finalization(from: .running, to: .failed, exitCode: 3, reason: nil)), line: #line),
                Row(name: "s\(schema) running, marker younger than the grace", observation: observe(document("running", schema: schema), liveness: .gone, marker: .code(0), markerAgo: 2 * .second),
                    policy: policy, expected: .leave(recheckAt: now - 2 * .second + 5 * .second), line: #line),
                Row(name: "s\(schema) fate_unknown, delivered, 2 h old", observation: observe(document("fate_unknown", delivered: true, schema: schema), jsonAgo: 2 * .hour),
                    policy: policy, expected: .removeBundle(.delivered), line: #line),
                Row(name: "s\(schema) fate_unknown, undelivered, 31 d old", observation: observe(document("fate_unknown", schema: schema), jsonAgo: 31 * .day),
                    policy: policy, expected: .removeBundle(.abandoned), line: #line),
            ]
            for row in rows {
                XCTAssertEqual(Decide.task(row.observation, policy: row.policy), row.expected, row.name, line: row.line)
            }
        }
    }

    func testEveryRowOfTheTerminalTable() {
        var noAbandon = policy
        noAbandon.abandonedAfter = .never
        let rows: [Row] = [
            // completion_delivered and JSON older than retention | remove
            Row(name: "delivered, 2 h old", observation: observe(document("completed", delivered: true), jsonAgo: 2 * .hour),
                policy: policy, expected: .removeBundle(.delivered), line: #line),
            Row(name: "delivered, exactly 1 h old", observation: observe(document("failed", delivered: true), jsonAgo: 1 * .hour),
                policy: policy, expected: .removeBundle(.delivered), line: #line),
            Row(name: "delivered, 10 min old: recheck at retention", observation: observe(document("killed", delivered: true), jsonAgo: 10 * .minute),
                policy: policy, expected: .leave(recheckAt: now - 10 * .minute + 1 * .hour), line: #line),
            // not delivered and JSON older than abandoned-after | remove, abandoned
            Row(name: "undelivered, 31 d old", observation: observe(document("timed_out"), jsonAgo: 31 * .day),
                policy: policy, expected: .removeBundle(.abandoned), line: #line),
            Row(name: "undelivered, 31 d old, abandoned-after infinity: off", observation: observe(document("completed"), jsonAgo: 31 * .day),
                policy: noAbandon, expected: .leave(recheckAt: nil), line: #line),
            Row(name: "undelivered, 2 d old: recheck at abandoned-after", observation: observe(document("completed"), jsonAgo: 2 * .day),
                policy: policy, expected: .leave(recheckAt: now - 2 * .day + 30 * .day), line: #line),
            // A terminal task is never probed nor finalized again, whatever its marker says.
            Row(name: "terminal with a marker: not refinalized", observation: observe(document("completed"), jsonAgo: 1 * .minute, marker: .code(1)),
                policy: policy, expected: .leave(recheckAt: now - 1 * .minute + 30 * .day), line: #line),
        ]
        for row in rows {
            XCTAssertEqual(Decide.task(row.observation, policy: row.policy), row.expected, row.name, line: row.line)
        }
    }

    /// Every operator rule says the same thing for 0 (at once: due the moment it applies)
    /// and for infinity (off: never due, nothing to recheck), whatever the ages involved.
    func testEveryRuleAtZeroAndAtInfinity() {
        func with(_ change: (inout Policy) -> Void) -> Policy {
            var changed = policy
            change(&changed)
            return changed
        }
        let startingNoPid = document("starting", childPID: "null", pgid: "null")
        let spawnAborted = Verdict.finalize(Finalization(from: .starting, to: .failed, exitCode: nil, reason: "spawn aborted"))
        let rows: [Row] = [
            // --spawn-grace
            Row(name: "spawn-grace 0: a starting task without a pid fails at once", observation: observe(startingNoPid, jsonAgo: 0),
                policy: with { $0.spawnGrace = .immediately }, expected: spawnAborted, line: #line),
            Row(name: "spawn-grace infinity: never failed, nothing to recheck", observation: observe(startingNoPid, jsonAgo: 3650 * .day),
                policy: with { $0.spawnGrace = .never }, expected: .leave(recheckAt: nil), line: #line),
            // --finalize-grace
            Row(name: "finalize-grace 0: a marker written this instant finalizes", observation: observe(document("running"), liveness: .gone, marker: .code(0), markerAgo: 0),
                policy: with { $0.finalizeGrace = .immediately }, expected: .finalize(Finalization(from: .running, to: .completed, exitCode: 0, reason: nil)), line: #line),
            Row(name: "finalize-grace infinity: a marker never finalizes (and is not 'no marker')", observation: observe(document("running"), liveness: .gone, marker: .code(0), markerAgo: 3650 * .day),
                policy: with { $0.finalizeGrace = .never }, expected: .leave(recheckAt: nil), line: #line),
            Row(name: "finalize-grace infinity: gone without a marker is still decided", observation: observe(document("running"), liveness: .gone),
                policy: with { $0.finalizeGrace = .never }, expected: .finalize(Finalization(from: .running, to: .failed, exitCode: nil, reason: "process exited without exit marker")), line: #line),
            // --stale-after
            Row(name: "stale-after 0: a live running task is orphaned at once", observation: observe(document("running", startedAgo: 0), liveness: .alive),
                policy: with { $0.staleAfter = .immediately }, expected: .finalize(Finalization(from: .running, to: .killed, exitCode: nil, reason: "orphaned (>0)", writeKilledMarker: true)), line: #line),
            Row(name: "stale-after infinity: never orphaned", observation: observe(document("running", startedAgo: 3650 * .day), liveness: .alive),
                policy: with { $0.staleAfter = .never }, expected: .leave(recheckAt: nil), line: #line),
            Row(name: "stale-after infinity, timeouts enforced: only the timeout is due", observation: observe(document("running", startedAgo: 1 * .minute, timeoutMs: "600000"), liveness: .alive),
                policy: with { $0.staleAfter = .never; $0.enforceTimeouts = true }, expected: .leave(recheckAt: now - 1 * .minute + 10 * .minute), line: #line),
            // --retention
            Row(name: "retention 0: a delivered bundle goes at once", observation: observe(document("completed", delivered: true), jsonAgo: 0),
                policy: with { $0.retention = .immediately }, expected: .removeBundle(.delivered), line: #line),
            Row(name: "retention infinity: delivered bundles are kept", observation: observe(document("completed", delivered: true), jsonAgo: 3650 * .day),
                policy: with { $0.retention = .never }, expected: .leave(recheckAt: nil), line: #line),
            // --abandoned-after
            Row(name: "abandoned-after 0: an undelivered bundle goes at once", observation: observe(document("failed"), jsonAgo: 0),
                policy: with { $0.abandonedAfter = .immediately }, expected: .removeBundle(.abandoned), line: #line),
            Row(name: "abandoned-after infinity: undelivered bundles are kept", observation: observe(document("failed"), jsonAgo: 3650 * .day),
                policy: with { $0.abandonedAfter = .never }, expected: .leave(recheckAt: nil), line: #line),
        ]
        for row in rows {
            XCTAssertEqual(Decide.task(row.observation, policy: row.policy), row.expected, row.name, line: row.line)
        }
        // Row sync settles for the finalize grace; with it off, for the default grace.
        XCTAssertEqual(Housekeeping.rowSync(jsonModified: now, now: now, policy: with { $0.finalizeGrace = .immediately }), .now)
        XCTAssertEqual(Housekeeping.rowSync(jsonModified: now, now: now, policy: with { $0.finalizeGrace = .never }),
                       .settlingUntil(now + Policy.defaultFinalizeGrace))
    }

    func testStrays() {
        // a protocol temp file whose writer pid is gone and which is older than 1 min: remove
        XCTAssertEqual(Decide.strayTemp(modified: now - 61 * .second, writerGone: true, now: now, policy: policy), .remove)
        XCTAssertEqual(Decide.strayTemp(modified: now - 30 * .second, writerGone: true, now: now, policy: policy), .leave(recheckAt: now + 30 * .second))
        XCTAssertEqual(Decide.strayTemp(modified: now - 1 * .day, writerGone: false, now: now, policy: policy), .leave(recheckAt: nil))
        // bundle members with no <id>.json, older than 1 h: remove
        XCTAssertEqual(Decide.orphanFile(modified: now - 2 * .hour, now: now, policy: policy), .remove)
        XCTAssertEqual(Decide.orphanFile(modified: now - 59 * .minute, now: now, policy: policy), .leave(recheckAt: now + 1 * .minute))
        // a JSON that does not parse, older than 24 h: quarantine; younger: report only
        XCTAssertEqual(Decide.corrupt(modified: now - 25 * .hour, now: now, policy: policy), .quarantine)
        XCTAssertEqual(Decide.corrupt(modified: now - 23 * .hour, now: now, policy: policy), .leave(recheckAt: now + 1 * .hour))
        // an empty session directory found older than 1 h is removed
        XCTAssertEqual(Decide.emptySession(modified: now - 2 * .hour, now: now, policy: policy), .remove)
        XCTAssertEqual(Decide.emptySession(modified: now - 10 * .minute, now: now, policy: policy), .leave(recheckAt: now + 50 * .minute))
    }

    func testFileTimesInTheFutureAreNotOld() {
        // A clock step backwards must not make fresh files look ancient (saturating age).
        let future = observe(document("completed", delivered: true), jsonAgo: 0)
        var shifted = future
        shifted.jsonModified = now + 1 * .hour
        XCTAssertEqual(Decide.task(shifted, policy: policy), .leave(recheckAt: now + 2 * .hour))
    }
}
