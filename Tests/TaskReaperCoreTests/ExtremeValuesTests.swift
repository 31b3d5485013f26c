import TaskReaperCore
import XCTest

/// Issue 11.1: untrusted numbers (a JSON's started_at/timeout_ms near 2^64, a tmpfs mtime
/// far in the future or before 1970) go through every decision without trapping, and
/// what they decide is still sane. Each of these crashed the process before saturation.
final class ExtremeValuesTests: XCTestCase {
    let now: Millis = 1_800_000_000_000
    let extremes: [Millis] = [.max, 18_446_744_073_709_551_000, .max - 1, Millis(Int64.max), 0]

    private func document(_ status: String, startedAt: Millis, timeoutMs: String = "null", delivered: Bool = false) throws -> TaskDocument {
        let text = """
        {"schema_version": 4, "task_id": "bgb-0000abcd", "session_id": "ses", "command": "sleep 1",
         "mode": "pipes", "workdir": "/w", "project_root": null, "status": "\(status)",
         "started_at": \(startedAt), "finished_at": null, "duration_ms": null, "timeout_ms": \(timeoutMs),
         "exit_code": null, "child_pid": 4242, "pgid": 4242, "completion_delivered": \(delivered),
         "notify_on_completion": true, "compressed": true, "pty_rows": null, "pty_cols": null, "status_reason": null}
        """
        return try TaskDocument(parsing: Array(text.utf8))
    }

    func testSaturatingArithmetic() {
        XCTAssertEqual(Millis.max.adding(1), .max)
        XCTAssertEqual((Millis.max - 5).adding(5), .max)
        XCTAssertEqual(Millis(7).adding(5), 12)
        XCTAssertEqual(Millis(3).distance(to: 10), 7)
        XCTAssertEqual(Millis.max.distance(to: 0), .max)
        // timespec -> ms: negative clamps to 0, past 2^64 ms to max, tv_nsec out of range clamped.
        XCTAssertEqual(Millis(seconds: -1, nanoseconds: 999_999_999), 0)
        XCTAssertEqual(Millis(seconds: .min, nanoseconds: 0), 0)
        XCTAssertEqual(Millis(seconds: .max, nanoseconds: 999_999_999), .max)
        XCTAssertEqual(Millis(seconds: 1 << 62, nanoseconds: 0), .max)
        XCTAssertEqual(Millis(seconds: 18_446_744_073_709_551, nanoseconds: 615_000_000), .max)
        XCTAssertEqual(Millis(seconds: 18_446_744_073_709_551, nanoseconds: 614_999_999), .max - 1)
        XCTAssertEqual(Millis(seconds: 1_700_000_000, nanoseconds: 123_456_789), 1_700_000_000_123)
        XCTAssertEqual(Millis(seconds: 1, nanoseconds: -5), 1_000)
        XCTAssertEqual(Millis(seconds: 1, nanoseconds: .max), 1_999)
    }

    func testRunningTasksWithExtremeStartAndTimeout() throws {
        var policy = Policy()
        policy.enforceTimeouts = true
        for startedAt in extremes {
            for timeout in ["18446744073709551615", "18446744073709551000", "0", "null"] {
                let task = try document("running", startedAt: startedAt, timeoutMs: timeout)
                let alive = Decide.task(TaskObservation(document: task, jsonModified: now, liveness: .alive, marker: nil,
                                                        markerModified: nil, now: now), policy: policy)
                let gone = Decide.task(TaskObservation(document: task, jsonModified: now, liveness: .gone, marker: nil,
                                                       markerModified: nil, now: now), policy: policy)
                XCTAssertEqual(gone, .finalize(Finalization(from: .running, to: .failed, exitCode: nil,
                                                            reason: "process exited without exit marker")))
                if startedAt > now, timeout != "0" {
                    // Started "in the future": not old, not past any timeout; deadlines saturate.
                    guard case .leave(let recheckAt) = alive else { return XCTFail("\(startedAt) \(timeout): \(alive)") }
                    XCTAssertGreaterThan(recheckAt ?? .max, now, "\(startedAt) \(timeout)")
                }
            }
        }
        // Far in the past (0) with a huge timeout: stale-after decides, the timeout never comes.
        let ancient = try document("running", startedAt: 0, timeoutMs: "18446744073709551615")
        var noStale = policy
        noStale.staleAfter = .never
        XCTAssertEqual(Decide.task(TaskObservation(document: ancient, jsonModified: now, liveness: .alive, marker: nil,
                                                   markerModified: nil, now: now), policy: noStale), .leave(recheckAt: .max))
    }

    func testExtremeFileTimes() throws {
        let policy = Policy()
        for modified in extremes {
            for status in ["starting", "running", "killing"] {
                let task = try document(status, startedAt: now - .minute)
                _ = Decide.task(TaskObservation(document: task, jsonModified: modified, liveness: .alive, marker: .code(0),
                                                markerModified: modified, now: now), policy: policy)
                _ = Decide.task(TaskObservation(document: task, jsonModified: modified, liveness: .gone, marker: nil,
                                                markerModified: nil, now: now), policy: policy)
            }
            for delivered in [true, false] {
                let verdict = Decide.task(TaskObservation(document: try document("completed", startedAt: 1, delivered: delivered),
                                                          jsonModified: modified, liveness: nil, marker: nil, markerModified: nil,
                                                          now: now), policy: policy)
                if modified > now {
                    // A JSON from the far future never looks old: left, never removed.
                    guard case .leave = verdict else { return XCTFail("\(modified): \(verdict)") }
                }
            }
            _ = Decide.corrupt(modified: modified, now: now, policy: policy)
            _ = Decide.strayTemp(modified: modified, writerGone: true, now: now, policy: policy)
            _ = Decide.orphanFile(modified: modified, now: now, policy: policy)
            _ = Decide.emptySession(modified: modified, now: now, policy: policy)
        }
        XCTAssertEqual(Decide.orphanFile(modified: .max, now: now, policy: policy), .leave(recheckAt: .max))
        XCTAssertEqual(Decide.emptySession(modified: .max - 1, now: now, policy: policy), .leave(recheckAt: .max))
        XCTAssertEqual(Decide.corrupt(modified: 0, now: now, policy: policy), .quarantine)
        // The clock itself at its limit (a stepped clock is input too).
        XCTAssertEqual(Decide.strayTemp(modified: .max, writerGone: true, now: .max, policy: policy), .leave(recheckAt: .max))
    }

    func testLivenessAndFinalizationWithExtremeStarts() throws {
        for startedAt in extremes {
            let liveness = LivenessRules.assess(startedAt: startedAt, childPID: 4242, pgid: 4242, bootTime: 1, policy: Policy(),
                                                pid: { _ in .present(startedAt: .max, zombie: false) }, group: { _ in .live })
            // A process started at the end of time is "after started_at + slack" only when
            // started_at + slack is below it.
            XCTAssertEqual(liveness, startedAt.adding(Policy().pidReuseSlack) < .max ? .gone : .alive, "\(startedAt)")
            for written in extremes {
                _ = LivenessRules.writerIsGone(.present(startedAt: startedAt, zombie: false), fileExistedBy: written)
            }
            let finalized = try document("running", startedAt: startedAt).markedTerminal(.failed, exitCode: nil, reason: "r", now: now)
            XCTAssertEqual(finalized.object["duration_ms"], .integer(age(of: startedAt, at: now)))
        }
    }

    func testDurationsBeyondTheMaximumAreRejected() throws {
        XCTAssertEqual(try DurationText.parse("36500d"), .after(DurationText.maximum))
        for text in ["36501d", "18446744073709551615ms", "18446744073709551616ms", "99999999999999999999d",
                     "\(DurationText.maximum + 1)ms", "876001h", "101y", "1201M", "5215w"] {
            XCTAssertThrowsError(try DurationText.parse(text), text) { error in
                XCTAssertTrue("\(error)".contains("out of range"), "\(error)")
            }
        }
        // The bound keeps any real clock plus any accepted duration far from 2^64.
        XCTAssertLessThan(DurationText.maximum, Millis(Int64.max) / 2)
    }
}
