import Foundation
import TaskReaperTestSupport
import XCTest

/// Configuration files (issue 13.4): /etc-style directories made overridable for tests with
/// TASKREAPER_CONFIG_DIRS, flags over files, `taskreaper config`, errors naming file and line,
/// and `watch` re-reading them on SIGHUP (keeping the old ones when the new are bad).
final class ConfigFileTests: XCTestCase {
    var root: TemporaryDirectory!
    var etc: TemporaryDirectory!
    var user: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        etc = try TemporaryDirectory("taskreaper-etc")
        user = try TemporaryDirectory("taskreaper-user")
    }

    private var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["TASKREAPER_CONFIG_DIRS"] = etc.path + ":" + user.path
        return env
    }

    private func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private func delivered(_ id: String, ageMs: UInt64, session: String = "0123456789abcdef") throws -> String {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: session)
        return try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0), ageMs: ageMs)
    }

    func testFilesDropInsAndFlagsWithTheirOrigins() throws {
        try write(etc.path + "/taskreaper.conf", "[Storage]\nRoot=\(root.path)\n\n[Policy]\nRetention=3h\nSpawnGrace=10min\n")
        try write(etc.path + "/taskreaper.conf.d/20-later.conf", "[Policy]\nRetention=2h\n")
        try write(etc.path + "/taskreaper.conf.d/10-earlier.conf", "[Policy]\nRetention=4h\nStaleAfter=infinity\n")
        try write(etc.path + "/taskreaper.conf.d/ignored.txt", "garbage")
        try write(user.path + "/taskreaper.conf", "[Policy]\nAbandonedAfter=60d\n")
        let shown = try TaskReaperBinary.run(["config", "--spawn-grace", "1min"], environment: environment)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let lines = shown.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: #" {2,}"#, with: "  ", options: .regularExpression) }
        for expected in ["Root=\(root.path)  # \(etc.path)/taskreaper.conf:2",
                         "Retention=2h  # \(etc.path)/taskreaper.conf.d/20-later.conf:2",
                         "StaleAfter=infinity  # \(etc.path)/taskreaper.conf.d/10-earlier.conf:3",
                         "AbandonedAfter=60d  # \(user.path)/taskreaper.conf:2",
                         "SpawnGrace=1min  # --spawn-grace",
                         "FinalizeGrace=5s  # default"] {
            XCTAssertTrue(lines.contains(expected), "missing '\(expected)' in\n\(shown.stdout)")
        }
        let files = ["\(etc.path)/taskreaper.conf", "\(etc.path)/taskreaper.conf.d/10-earlier.conf",
                     "\(etc.path)/taskreaper.conf.d/20-later.conf", "\(user.path)/taskreaper.conf"]
        XCTAssertEqual(shown.stdout.split(separator: "\n").filter { $0.hasPrefix("#   ") }.map { String($0.dropFirst(4)) }, files)
        let cat = try TaskReaperBinary.run(["config", "--cat"], environment: environment)
        XCTAssertEqual(cat.stdout.split(separator: "\n").filter { $0.hasPrefix("# /") }.map { String($0.dropFirst(2)) }, files)

        // The sweep uses them: the root and Retention=2h from the files, then the flag over them.
        let young = try delivered("bgb-00000001", ageMs: 90 * 60_000)
        let old = try delivered("bgb-00000002", ageMs: 150 * 60_000)
        let sweep = try TaskReaperBinary.run(["sweep", "--log-target", "stderr"], environment: environment)
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        XCTAssertTrue(BundleFixture.exists(young))
        XCTAssertFalse(BundleFixture.exists(old))
        // list decides with the same configuration: the young one is due in under an hour.
        let listed = try TaskReaperBinary.run(["list", "--json"], environment: environment)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(listed.jsonLines.map { $0["task_id"] as? String }, ["bgb-00000001"], listed.stdout)
        XCTAssertLessThanOrEqual(listed.jsonLines.first?["next_in_ms"] as? Int ?? .max, 30 * 60_000)
        let flagged = try TaskReaperBinary.run(["sweep", "--log-target", "stderr", "--retention", "1h"], environment: environment)
        XCTAssertEqual(flagged.status, 0, flagged.stderr)
        XCTAssertFalse(BundleFixture.exists(young))
    }

    func testAMalformedFileIsAConfigurationErrorNamingFileAndLine() throws {
        try write(user.path + "/taskreaper.conf.d/50-bad.conf", "[Policy]\n# fine\nRetention = one hour\n")
        for command in [["sweep", "--root", root.path], ["list", "--root", root.path], ["config"]] {
            let run = try TaskReaperBinary.run(command, environment: environment)
            XCTAssertEqual(run.status, 2, "\(command): \(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("taskreaper: configuration: \(user.path)/taskreaper.conf.d/50-bad.conf:3: [Policy] Retention=one hour: invalid duration"),
                          run.stderr)
        }
        // watch too, before it starts (run so that a regression cannot hang the test).
        let scratch = try TemporaryDirectory("taskreaper-watch")
        let watch = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--control-socket", "none"],
                                       environment: ["PATH=/usr/bin:/bin", "TASKREAPER_CONFIG_DIRS=\(etc.path):\(user.path)"],
                                       output: scratch.path + "/out", errorOutput: scratch.path + "/err")
        defer { watch.stop() }
        XCTAssertEqual(watch.waitForExitStatus(timeout: 10), 2)
        XCTAssertTrue((BundleFixture.read(scratch.path + "/err") ?? "").contains("50-bad.conf:3: [Policy] Retention=one hour"))
        // ctl needs no configuration.
        XCTAssertNotEqual(try TaskReaperBinary.run(["ctl", "--socket", root.path + "/none.sock", "status"], environment: environment).status, 2)
    }

    /// SIGHUP: a good file replaces the policy; a bad one is reported and the old one stays.
    func testWatchReReadsItsConfigurationOnSIGHUPAndKeepsTheOldOneWhenTheNewIsBad() throws {
        try write(etc.path + "/taskreaper.conf", "[Policy]\nRetention=infinity\n")
        let first = try delivered("bgb-00000001", ageMs: 2 * BundleFixture.hour)
        let scratch = try TemporaryDirectory("taskreaper-watch")
        let socket = try NotifySocket(path: scratch.path + "/notify")
        let log = scratch.path + "/watch.log"
        let watcher = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr",
                                                    "--control-socket", "none", "--rescan-interval", "infinity"],
                                         environment: ["PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(socket.path)",
                                                       "TASKREAPER_CONFIG_DIRS=\(etc.path)"], output: log)
        defer { watcher.stop() }
        var text: String { BundleFixture.read(log) ?? "" }
        var messages: [String] = []
        poll("READY=1") {
            messages += socket.receive()
            return messages.contains { $0.contains("READY=1") }
        }
        XCTAssertTrue(BundleFixture.exists(first), "Retention=infinity keeps it: \(text)")

        try write(etc.path + "/taskreaper.conf", "[Policy]\nRetention=1h\n")
        watcher.signal(SIGHUP)
        poll("the reload and the removal it allows") { !BundleFixture.exists(first) }
        XCTAssertTrue(text.contains("Reloaded the configuration (1 file): Retention infinity -> 1h"), text)

        try write(etc.path + "/taskreaper.conf", "[Policy]\nRetention=1h\nStaleAfter=soon\n")
        watcher.signal(SIGHUP)
        poll("the refusal") { text.contains("Configuration not reloaded") }
        XCTAssertTrue(text.contains("\(etc.path)/taskreaper.conf:3: [Policy] StaleAfter=soon"), text)
        // Still running, still with Retention=1h: a new old delivered bundle goes.
        let second = try delivered("bgb-00000002", ageMs: 2 * BundleFixture.hour, session: "00000000000000aa")
        poll("the second removal under the kept configuration") { !BundleFixture.exists(second) }
        watcher.signal(SIGTERM)
        XCTAssertEqual(watcher.waitForExitStatus(timeout: 10), 0, text)
    }
}
