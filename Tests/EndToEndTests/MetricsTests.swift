import Foundation
import TaskReaperTestSupport
import XCTest

/// Prometheus metrics (issue 13.7): a file after every sweep or watch pass (written
/// atomically) and `ctl metrics`, each checked with a real Prometheus text parser.
final class MetricsTests: XCTestCase {
    var root: TemporaryDirectory!
    var scratch: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        scratch = try TemporaryDirectory("taskreaper-metrics")
    }

    private func delivered(_ id: String, in session: String = "0123456789abcdef", ageMs: UInt64 = 2 * BundleFixture.hour) throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: session)
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: ageMs)
    }

    /// Every family has HELP and TYPE, counters end in _total, names are Prometheus names.
    private func checkConventions(_ text: String, _ families: [PrometheusText.Family], line: UInt = #line) {
        XCTAssertFalse(families.isEmpty, line: line)
        for family in families {
            XCTAssertTrue(text.contains("# HELP \(family.type == "counter" ? family.name + "_total" : family.name) "), family.name, line: line)
            XCTAssertTrue(["counter", "gauge"].contains(family.type), family.name, line: line)
            XCTAssertNotNil(family.name.range(of: "^taskreaper_[a-z_]+$", options: .regularExpression), family.name, line: line)
        }
    }

    func testASweepWritesItsMetricsFileAtomically() throws {
        for n in 1...3 { try delivered("bgb-0000000\(n)") }
        try delivered("bgb-00000009", ageMs: 60_000)  // young: stays, completed
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try BundleFixture.write(dir, "bgb-0000000a.json", "{", ageMs: 60_000)  // corrupt
        let path = scratch.path + "/taskreaper.prom"
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        let before = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "-q", "--metrics-file", path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let text = try XCTUnwrap(BundleFixture.read(path))
        let families = try PrometheusText.parse(text)
        checkConventions(text, families)
        XCTAssertEqual(families.value("taskreaper_sweep_actions", ["action": "remove_bundle"]), 3)
        XCTAssertEqual(families.value("taskreaper_sweep_actions", ["action": "report_corrupt"]), 1)
        XCTAssertEqual(families.value("taskreaper_sweep_errors"), 0)
        XCTAssertEqual(families.value("taskreaper_tasks", ["status": "completed"]), 1, "the three removed are gone")
        XCTAssertEqual(families.value("taskreaper_tasks", ["status": "corrupt"]), 1)
        XCTAssertEqual(families.value("taskreaper_tasks", ["status": "running"]), 0)
        XCTAssertEqual(families.value("taskreaper_build_info", ["mode": "sweep", "version": "0.1.0"]), 1)
        let success = try XCTUnwrap(families.value("taskreaper_last_success_timestamp_seconds"))
        XCTAssertLessThan(abs(success - Date().timeIntervalSince1970), 60)
        // Replaced by a rename (a new inode), no temp left behind.
        let after = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["taskreaper.prom"])

        // The configuration's [Metrics] File= does the same; a directory that does not exist is an error (exit 1).
        let etc = try TemporaryDirectory("taskreaper-etc")
        try "[Metrics]\nFile=\(scratch.path)/nope/x.prom\n".write(toFile: etc.path + "/taskreaper.conf", atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["TASKREAPER_CONFIG_DIRS"] = etc.path
        let failing = try TaskReaperBinary.run(["sweep", "--root", root.path, "-q"], environment: environment)
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stderr.contains("cannot write the metrics file \(scratch.path)/nope/x.prom"), failing.stderr)
    }

    func testWatchServesCtlMetricsAndRewritesItsFileAfterEveryPass() throws {
        let task = try HarnessProcess(command: "sleep 60", directory: try BundleFixture.sessionDirectory(root: root.path, harness: "opencode"),
                                      taskID: "bgb-00000001")
        defer { task.stop() }
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: task.startedAt, childPID: task.pid, pgid: task.pid))
        try delivered("bgb-00000002", in: "00000000000000aa")
        let path = scratch.path + "/watch.prom"
        let socket = scratch.path + "/ctl.sock"
        let watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--control-socket", socket, "--metrics-file", path, "--rescan-interval", "infinity"],
                                         environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin"]), output: scratch.path + "/watch.log")
        defer { watcher.stop() }
        func fileFamilies() -> [PrometheusText.Family] {
            guard let text = BundleFixture.read(path) else { return [] }
            return (try? PrometheusText.parse(text)) ?? []
        }
        poll("the first pass's metrics file") {
            let families = fileFamilies()
            return families.value("taskreaper_tasks", ["status": "running"]) == 1
                && families.value("taskreaper_actions_total", ["action": "remove_bundle"]) == 1
        }
        let text = try XCTUnwrap(BundleFixture.read(path))
        let families = try PrometheusText.parse(text)
        checkConventions(text, families)
        XCTAssertEqual(families.value("taskreaper_pidfds"), 1, "the live task's process is watched")
        XCTAssertEqual(families.value("taskreaper_tasks", ["status": "completed"]), 0, "removed")

        // The task dies: finalized through its pidfd, and the next pass's file says so.
        kill(-task.pid, SIGKILL)
        poll("the finalization in the metrics file", timeout: 20) {
            let families = fileFamilies()
            return families.value("taskreaper_tasks", ["status": "failed"]) == 1
                && families.value("taskreaper_tasks", ["status": "running"]) == 0
                && families.value("taskreaper_actions_total", ["action": "finalize"]) == 1
        }

        // ctl metrics: the same exposition, from the socket.
        let ctl = try TaskReaperBinary.run(["ctl", "--socket", socket, "metrics"])
        XCTAssertEqual(ctl.status, 0, ctl.stderr)
        let served = try PrometheusText.parse(ctl.stdout)
        checkConventions(ctl.stdout, served)
        XCTAssertEqual(served.value("taskreaper_actions_total", ["action": "finalize"]), 1)
        XCTAssertEqual(served.value("taskreaper_errors_total"), 0)
        XCTAssertEqual(served.value("taskreaper_build_info", ["mode": "watch", "version": "0.1.0"]), 1)
        XCTAssertGreaterThanOrEqual(served.value("taskreaper_inotify_watches") ?? 0, 3)
        XCTAssertGreaterThan(served.value("taskreaper_passes_total") ?? 0, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp.") }, [])
        watcher.signal(SIGTERM)
        XCTAssertEqual(watcher.waitForExitStatus(timeout: 10), 0)
    }

    /// A task the harness removes itself is no longer counted once its session is looked at
    /// again (the count was each task's last observed status, kept until a rescan).
    func testATaskRemovedByTheHarnessStopsCounting() throws {
        try delivered("bgb-00000001", ageMs: 60_000)  // young: stays, completed
        try delivered("bgb-00000002", ageMs: 60_000)
        let path = scratch.path + "/watch.prom"
        let watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--metrics-file", path, "--rescan-interval", "infinity"],
                                         environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin"]), output: scratch.path + "/watch.log")
        defer { watcher.stop() }
        func completed() -> Double? {
            guard let text = BundleFixture.read(path) else { return nil }
            return (try? PrometheusText.parse(text))?.value("taskreaper_tasks", ["status": "completed"])
        }
        poll("the first pass counts both") { completed() == 2 }
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "0123456789abcdef")
        XCTAssertEqual(unlink(dir + "/bgb-00000002.json"), 0)
        poll("the session's next look counts one", timeout: 20) { completed() == 1 }
        watcher.signal(SIGTERM)
        XCTAssertEqual(watcher.waitForExitStatus(timeout: 10), 0)
    }
}
