import Foundation
import TaskReaperTestSupport
import XCTest

/// Issue 11.3 end to end: with --enforce-timeouts, a task JSON naming a process group that
/// is not provably the task's (an unrelated group, a pgid that is not the child_pid, another
/// user's process) gets an `error` report naming the JSON and the reason, nothing is
/// signalled, and the task is not finalized; sweep exits 1 (README). A real harness-style
/// task past its timeout in the same tree is still terminated.
final class ForgedGroupTests: TreeTestCase {

    /// A process leading its own session and group (as `setsid sleep 60` would), not a task.
    private func bystander() throws -> HarnessProcess {
        let process = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        processes.append(process)
        return process
    }

    /// A running task past its 1 s timeout: its JSON says it started 5 s before `startedAt`.
    @discardableResult
    private func overdue(_ id: String, childPID: Int32?, pgid: Int32?, startedAt: UInt64) throws -> String {
        try BundleFixture.write(session, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "running", startedAt: startedAt - 5_000, childPID: childPID, pgid: pgid, timeoutMs: 1_000))
    }

    private func status(_ id: String) -> String? {
        guard let data = FileManager.default.contents(atPath: "\(session!)/\(id).json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["status"] as? String
    }

    private func isAlive(_ process: HarnessProcess) -> Bool { kill(process.pid, 0) == 0 && processState(process.pid) != "Z" }

    func testAnUnprovableGroupIsReportedAndNeverSignalled() throws {
        // child_pid null, pgid of an unrelated live group: the attack.
        let victim = try bystander()
        try overdue("bgb-00000001", childPID: nil, pgid: victim.pid, startedAt: victim.startedAt)
        // pgid of that group again, child_pid a live process of another group.
        let decoy = try bystander()
        try overdue("bgb-00000002", childPID: decoy.pid, pgid: victim.pid, startedAt: victim.startedAt)
        // A real harness-style task (wrapper leads its group) past its timeout: terminated.
        let task = try HarnessProcess(command: "sleep 60", directory: session, taskID: "bgb-00000003")
        processes.append(task)
        try overdue("bgb-00000003", childPID: task.pid, pgid: task.pid, startedAt: task.startedAt)

        let flags = ["sweep", "--root", root.path, "--json", "--log-target", "stderr", "--enforce-timeouts", "--finalize-grace", "0"]
        let dry = try TaskReaperBinary.run(flags + ["--dry-run"])
        XCTAssertEqual(dry.status, 1, "an error was reported: \(dry.stderr)")
        XCTAssertEqual(dry.actions("error").count, 2, dry.stdout)
        XCTAssertEqual(dry.actions("terminate_group").count, 1, dry.stdout)

        let run = try TaskReaperBinary.run(flags)
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(isAlive(victim), "the unrelated group was not signalled")
        XCTAssertTrue(isAlive(decoy))
        let errors = run.actions("error")
        XCTAssertEqual(errors.count, 2, run.stdout)
        for (id, reason) in [("bgb-00000001", "child_pid is null"), ("bgb-00000002", "is not child_pid \(decoy.pid)")] {
            let report = try XCTUnwrap(errors.first { $0["task_id"] as? String == id }, run.stdout)
            XCTAssertEqual(report["path"] as? String, "\(session!)/\(id).json")
            XCTAssertEqual(report["pgid"] as? Int, Int(victim.pid))
            let message = report["message"] as? String ?? ""
            XCTAssertTrue(message.contains("Refusing to signal process group \(victim.pid)") && message.contains(reason), message)
            XCTAssertTrue((report["error"] as? String ?? "").hasPrefix("not provably the task's process group"), "\(report)")
            XCTAssertEqual(status(id), "running", "not finalized as timed_out")
        }
        // The harness-style task was proven and terminated.
        XCTAssertEqual(run.actions("terminate_group").first?["task_id"] as? String, "bgb-00000003", run.stdout)
        XCTAssertTrue(task.waitUntilExited(timeout: 5))
        XCTAssertEqual(status("bgb-00000003"), "timed_out")
    }

    func testAGroupOfAnotherUserThanTheTreesOwnerIsNeverSignalled() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to give the JSON another owner") }
        // Our (root's) own harness-style task, named by a JSON that uid 12345 owns: as if a
        // user wrote root's process into their tree for a root taskreaper to kill.
        let task = try HarnessProcess(command: "sleep 60", directory: session, taskID: "bgb-00000004")
        processes.append(task)
        let path = try overdue("bgb-00000004", childPID: task.pid, pgid: task.pid, startedAt: task.startedAt)
        XCTAssertEqual(chown(path, 12345, 12345), 0)
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr", "--enforce-timeouts"])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertEqual(run.actions("terminate_group").count, 0, run.stdout)
        let message = run.actions("error").first?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("leader uid 0 != file owner 12345"), run.stdout)
        XCTAssertTrue(isAlive(task))
        XCTAssertEqual(status("bgb-00000004"), "running")
    }
}
