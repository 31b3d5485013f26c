import Foundation
import TaskReaperTestSupport
import XCTest

/// CONTRACT §7.6: a sweep SIGKILLed at any point while removing task directories leaves a
/// tree that the next passes finish, with nothing half-removed that still looks like a task.
final class TaskDirectoryCrashTests: XCTestCase {
    func testASweepKilledMidRemovalConvergesOnTheNextPasses() throws {
        var tombstones = 0
        defer { print("tombstones left by the kills: \(tombstones)") }
        for round in 0..<4 {
            let root = try TemporaryDirectory()
            defer { root.remove() }
            let session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
            for n in 0..<150 {
                let dir = try TaskDirectoryFixture.write(in: session, taskID: TaskDirectoryFixture.id(n), record: TaskDirectoryFixture.record(
                    taskID: TaskDirectoryFixture.id(n), status: "completed", startedAt: 1, delivered: true, exitCode: 0),
                    ageMs: 2 * BundleFixture.hour)
                try FileManager.default.createDirectory(atPath: dir + "/io/.sandbox-tmp-1-\(n)", withIntermediateDirectories: false)
                try Data(String(repeating: "x", count: 100).utf8).write(to: URL(fileURLWithPath: dir + "/io/.sandbox-tmp-1-\(n)/f"))
            }
            // Killed after a different number of removals each round.
            let sweep = try HarnessProcess(arguments: [TaskReaperBinary.url.path, "sweep", "--root", root.path, "--log-target", "stderr"],
                                           output: root.path + ".log")
            defer { try? FileManager.default.removeItem(atPath: root.path + ".log") }
            let target = 5 + round * 30
            try waitUntil("\(target) task directories gone") {
                let left = (try? FileManager.default.contentsOfDirectory(atPath: session))?.filter { $0.hasPrefix("bash-") }.count ?? 0
                return left <= 150 - target || !BundleFixture.exists(session)
            }
            sweep.kill9()
            _ = sweep.reap()
            // Whatever is left under a task's name is a whole task: its record still parses.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: session)) ?? [] where name.hasPrefix("bash-") {
                let record = BundleFixture.read(session + "/" + name + "/control/metadata.json")
                XCTAssertNotNil(record.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }, "round \(round): \(name) is whole")
            }
            // A removal cut short is a tombstone: finished once a minute old (aged here).
            for name in (try? FileManager.default.contentsOfDirectory(atPath: session)) ?? [] where name.hasPrefix(".aft-tmp-") {
                try BundleFixture.setModified(session + "/" + name, ageMs: 2 * 60_000)
                tombstones += 1
            }
            let next = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr"])
            XCTAssertEqual(next.status, 0, next.stderr)
            XCTAssertFalse(BundleFixture.exists(session), "round \(round): converged: \((try? FileManager.default.contentsOfDirectory(atPath: session)) ?? [])")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path + "/opencode/bash-tasks"), [])
        }
    }
}
