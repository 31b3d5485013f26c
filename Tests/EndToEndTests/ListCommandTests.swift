import Foundation
import TaskReaperTestSupport
import XCTest

/// `taskreaper list` (issue 13.1): the sweep's observation and decisions, shown, never acted on.
final class ListCommandTests: XCTestCase {
    var root: TemporaryDirectory!
    var live: HarnessProcess?

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    override func tearDown() {
        live?.stop()
    }

    /// One task of every kind a sweep tells apart, flat and directory layout.
    private func mixedTree() throws {
        let now = BundleFixture.nowMs()
        let flat = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        func json(_ id: String, _ status: String, delivered: Bool = false, childPID: Int32? = nil, startedAt: UInt64 = 1) -> String {
            BundleFixture.schema4(taskID: id, status: status, startedAt: startedAt, childPID: childPID, pgid: childPID,
                                  completionDelivered: delivered, exitCode: status == "completed" ? 0 : nil)
        }
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000001", json: json("bgb-00000001", "completed", delivered: true),
                                      members: [(.stdout, "x")], ageMs: 2 * BundleFixture.hour)         // remove now
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000002", json: json("bgb-00000002", "completed", delivered: true),
                                      ageMs: 10 * 60_000)                                                 // remove in 50m
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000003", json: json("bgb-00000003", "failed"),
                                      ageMs: BundleFixture.hour)                                          // remove in ~30d
        // running, its process gone, no marker: finalize now (failed)
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000004",
                                      json: json("bgb-00000004", "running", childPID: 999_999, startedAt: now - 60_000), ageMs: 60_000)
        // running and alive: orphaned once 24 h old
        let process = try HarnessProcess(arguments: ["/bin/sleep", "60"])
        live = process
        try BundleFixture.writeBundle(in: flat, taskID: "bgb-00000005",
                                      json: json("bgb-00000005", "running", childPID: process.pid, startedAt: process.startedAt))
        try BundleFixture.write(flat, "bgb-00000006.json", "{not json", ageMs: 60_000)                  // quarantine in 24h
        try BundleFixture.write(flat, "bgb-00000007.json", #"{"schema_version": 99, "task_id": "bgb-00000007"}"#)  // never touched
        let pi = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "fedcba9876543210")
        let done = TaskDirectoryFixture.id(1)
        try TaskDirectoryFixture.write(in: pi, taskID: done, record: TaskDirectoryFixture.record(
            taskID: done, status: "completed", startedAt: 1, delivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        let gone = TaskDirectoryFixture.id(2)
        try TaskDirectoryFixture.write(in: pi, taskID: gone, record: TaskDirectoryFixture.record(
            taskID: gone, status: "running", startedAt: now - 60_000, childPID: 999_998), ageMs: 60_000)
    }

    private func rows(_ arguments: [String] = []) throws -> (TaskReaperBinary.Run, [String: [String: Any]]) {
        let run = try TaskReaperBinary.run(["list", "--root", root.path, "--json"] + arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        var byID: [String: [String: Any]] = [:]
        for line in run.jsonLines { byID[line["task_id"] as? String ?? ""] = line }
        return (run, byID)
    }

    func testEveryTaskWithItsNextActionAndWhenAndNothingChanges() throws {
        try mixedTree()
        let before = BundleFixture.snapshot(root.path)
        let (run, all) = try rows(["--all"])
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "list writes nothing")
        XCTAssertEqual(run.jsonLines.count, 9, run.stdout)
        func check(_ id: String, status: String, process: String?, next: String?, within: ClosedRange<UInt64>? = nil,
                   detail: String? = nil, line: UInt = #line) {
            guard let row = all[id] else { return XCTFail("no row for \(id): \(run.stdout)", line: line) }
            XCTAssertEqual(row["status"] as? String, status, id, line: line)
            XCTAssertEqual(row["process"] as? String, process, id, line: line)
            XCTAssertEqual(row["next_action"] as? String, next, id, line: line)
            if let within { XCTAssertTrue(within.contains(row["next_in_ms"] as? UInt64 ?? .max), "\(id): \(row)", line: line) }
            if let detail { XCTAssertEqual(row["next_detail"] as? String, detail, id, line: line) }
        }
        let minute: UInt64 = 60_000
        check("bgb-00000001", status: "completed", process: nil, next: "remove_bundle", within: 0...0, detail: "delivered")
        check("bgb-00000002", status: "completed", process: nil, next: "remove_bundle", within: 49 * minute...50 * minute)
        check("bgb-00000003", status: "failed", process: nil, next: "remove_bundle", within: 29 * 24 * 60 * minute...30 * 24 * 60 * minute, detail: "abandoned")
        check("bgb-00000004", status: "running", process: "gone", next: "finalize", within: 0...0, detail: "failed")
        check("bgb-00000005", status: "running", process: "alive", next: "finalize", within: 23 * 60 * minute...24 * 60 * minute, detail: "killed")
        check("bgb-00000006", status: "corrupt", process: "unknown", next: "quarantine", within: 22 * 60 * minute...24 * 60 * minute)
        check("bgb-00000007", status: "unsupported", process: "unknown", next: nil)
        check(TaskDirectoryFixture.id(1), status: "completed", process: nil, next: "remove_bundle", within: 0...0)
        check(TaskDirectoryFixture.id(2), status: "running", process: "gone", next: "finalize", within: 0...0, detail: "fate_unknown")
        XCTAssertEqual(all[TaskDirectoryFixture.id(1)]?["layout"] as? String, "directory")
        XCTAssertEqual(all["bgb-00000001"]?["harness"] as? String, "opencode")
    }

    /// The same rules, not a copy: what list says is due now is exactly what a dry-run sweep
    /// of the same tree would do, task by task and action by action, under the same policy.
    func testWhatIsDueNowIsWhatADryRunDoes() throws {
        try mixedTree()
        for policy in [[], ["--retention", "0", "--stale-after", "0s", "--abandoned-after", "infinity"],
                       ["--finalize-grace", "infinity", "--spawn-grace", "infinity", "--retention", "infinity"]] {
            let (_, listed) = try rows(["--all"] + policy)
            let dueNow = Set(listed.values.filter { $0["next_in_ms"] as? UInt64 == 0 }
                .map { "\($0["task_id"] as? String ?? "") \($0["next_action"] as? String ?? "")" })
            let dry = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--json", "--log-target", "stderr"] + policy)
            let done = Set(dry.jsonLines.filter { ["finalize", "remove_bundle", "quarantine", "terminate_group"].contains($0["action"] as? String ?? "") }
                .map { "\($0["task_id"] as? String ?? "") \($0["action"] as? String ?? "")" })
            XCTAssertEqual(dueNow, done, "policy \(policy)")
            XCTAssertFalse(done.isEmpty, "policy \(policy)")
        }
    }

    /// Default: unfinished tasks and tasks something will be done to; --all: every task.
    func testDefaultHidesFinishedTasksNothingWillTouch() throws {
        try mixedTree()
        let (_, shown) = try rows(["--retention", "infinity", "--abandoned-after", "infinity"])
        XCTAssertNil(shown["bgb-00000001"], "delivered and kept forever: nothing to do")
        XCTAssertNil(shown["bgb-00000003"])
        XCTAssertNotNil(shown["bgb-00000005"], "running")
        XCTAssertNotNil(shown["bgb-00000006"], "corrupt: quarantine pending")
        let (_, everything) = try rows(["--all", "--retention", "infinity", "--abandoned-after", "infinity"])
        XCTAssertNil(everything["bgb-00000001"]?["next_action"] as? String)
        XCTAssertEqual(everything.count, 9)
    }

    func testJSONLinesHaveOneShapeAndAbsolutePaths() throws {
        try mixedTree()
        let relative = try TaskReaperBinary.run(["list", "--all", "--json", "--root", "."], workingDirectory: root.path)
        XCTAssertEqual(relative.status, 0, relative.stderr)
        let shapes = Set(relative.stdout.split(separator: "\n").map { JSONKeyOrder.topLevelKeys(String($0)) })
        XCTAssertEqual(shapes.count, 1, "every line has the same keys in the same order: \(shapes)")
        XCTAssertEqual(shapes.first?.prefix(3), ["schema", "ts", "root"])
        for line in relative.jsonLines {
            XCTAssertEqual(line["schema"] as? Int, 1)
            XCTAssertEqual(line["root"] as? String, root.path)
            XCTAssertTrue((line["path"] as? String ?? "").hasPrefix(root.path + "/"), "\(line)")
            let ts = try XCTUnwrap(line["ts"] as? String)
            XCTAssertNotNil(ts.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression), ts)
        }
    }

    func testTableIsAlignedAndColouredOnlyOnATerminalWithoutNoColor() throws {
        try mixedTree()
        let piped = try TaskReaperBinary.run(["list", "--all", "--root", root.path])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertFalse(piped.stdout.contains("\u{1B}["), "no colour on a pipe")
        let lines = piped.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 10, piped.stdout)
        let header = try XCTUnwrap(lines.first)
        XCTAssertTrue(header.hasPrefix("HARNESS"), header)
        let statusColumn = try XCTUnwrap(header.range(of: "STATUS")).lowerBound.utf16Offset(in: header)
        let nextColumn = try XCTUnwrap(header.range(of: "NEXT")).lowerBound.utf16Offset(in: header)
        for line in lines.dropFirst() {
            let status = line.dropFirst(statusColumn).prefix { $0 != " " }
            XCTAssertTrue(["completed", "failed", "running", "corrupt", "unsupported"].contains(String(status)), "\(line)")
            // Every NEXT cell starts in the header's column.
            XCTAssertEqual(Array(line)[nextColumn - 1], " ", line)
            XCTAssertNotEqual(Array(line)[nextColumn], " ", line)
        }
        XCTAssertTrue(lines.contains { $0.contains("bgb-00000002") && $0.hasSuffix("remove in 50m") }, piped.stdout)
        XCTAssertTrue(lines.contains { $0.contains("bgb-00000004") && $0.hasSuffix("finalize now") }, piped.stdout)

        // On a terminal (script(1) gives the command a pty): colour, unless NO_COLOR is set.
        let binary = TaskReaperBinary.url.path
        let command = "\(binary) list --all --root \(root.path)"
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        environment["TERM"] = "xterm"
        let tty = try Subprocess.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: TaskReaperBinary.isolated(environment))
        XCTAssertEqual(tty.status, 0, tty.stderrText)
        XCTAssertTrue(tty.stdoutText.contains("\u{1B}[31mgone\u{1B}[0m"), tty.stdoutText)
        environment["NO_COLOR"] = "1"
        let noColor = try Subprocess.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: TaskReaperBinary.isolated(environment))
        XCTAssertEqual(noColor.status, 0, noColor.stderrText)
        XCTAssertFalse(noColor.stdoutText.contains("\u{1B}["), noColor.stdoutText)
        XCTAssertTrue(noColor.stdoutText.contains("bgb-00000004"), noColor.stdoutText)
    }

    /// No lock: a root a sweep cannot take (held, as a running watch holds it) is listed.
    func testListsARootAnotherTaskreaperHolds() throws {
        try mixedTree()
        let holder = try HarnessProcess(arguments: ["/usr/bin/flock", "--exclusive", root.path, "/bin/sleep", "60"])
        defer { holder.stop() }
        try waitUntil("the root to be locked") {
            (try? TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--log-target", "stderr"]))?.status == 0
                && (try? TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr", "--retention", "infinity",
                                                "--abandoned-after", "infinity", "--finalize-grace", "infinity",
                                                "--spawn-grace", "infinity", "--stale-after", "infinity"]))?.status == 75
        }
        let (_, listed) = try rows(["--all"])
        XCTAssertEqual(listed.count, 9)
    }
}
