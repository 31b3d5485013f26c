import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Issue 13.4 `Protect=` and 13.5 quarantine retention, as whole sweeps over real trees.
final class ProtectAndQuarantineTests: XCTestCase {
    var root: TemporaryDirectory!
    var outside: TemporaryDirectory!
    let hour = BundleFixture.hour
    let day = 24 * BundleFixture.hour

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        outside = try TemporaryDirectory("taskreaper-outside")
    }

    override func tearDown() {
        root?.remove()
        outside?.remove()
    }

    private func delivered(_ dir: String, _ id: String, ageMs: UInt64) throws {
        try BundleFixture.write(dir, "\(id).stdout", "out", ageMs: ageMs)
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: BundleFixture.nowMs() - ageMs - 1000,
            completionDelivered: true, exitCode: 0), ageMs: ageMs)
    }

    private func protecting(_ globs: String...) -> Policy {
        var policy = Policy()
        policy.protection = Protection(globs)
        return policy
    }

    private func mkdir(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    // MARK: Protect

    func testAProtectedSessionIsNeitherReadNorWrittenAndIsReportedOncePerPass() throws {
        let mine = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "3f2a000000000001")
        let other = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "4f2a000000000002")
        // Everything a pass would act on: a delivered bundle, a corrupt JSON past the quarantine
        // age, orphan files, a stray temp.
        try delivered(mine, "bgb-00000001", ageMs: 2 * hour)
        try BundleFixture.write(mine, "bgb-00000002.json", "{not json", ageMs: 2 * day)
        try BundleFixture.write(mine, "bgb-00000003.stdout", "orphan", ageMs: 2 * hour)
        try BundleFixture.write(mine, ".bgb-00000004.json.tmp.999999.bgb-00000004", "{}", ageMs: 2 * hour)
        try delivered(other, "bgb-00000005", ageMs: 2 * hour)
        let before = BundleFixture.snapshot(mine)
        let policy = protecting(root.path + "/opencode/bash-tasks/3f2a*")

        let dry = try sweep(root.path, policy: policy, dryRun: true)
        XCTAssertEqual(dry.count(.skipProtected), 1)
        XCTAssertEqual(dry.count(.removeBundle), 1, "the other session is decided as usual")
        XCTAssertEqual(dry.count(.quarantine) + dry.count(.removeOrphanFile) + dry.count(.removeStrayTemp) + dry.count(.error), 0)

        for pass in 1...2 {
            let run = try sweep(root.path, policy: policy)
            XCTAssertEqual(BundleFixture.snapshot(mine), before, "pass \(pass): the protected session is untouched")
            XCTAssertEqual(run.count(.skipProtected), 1, "one report per pass")
            XCTAssertEqual(run.result.counters.sessions, pass == 1 ? 1 : 0, "the protected session is not even counted")
            XCTAssertEqual(run.result.counters.bundles, pass == 1 ? 1 : 0)
            XCTAssertEqual(run.result.exitCode, 0, "protection is not a failure")
            let report = run.log.actions(.skipProtected).first
            XCTAssertEqual(report?["TASKREAPER_PATH"], .string(mine))
            XCTAssertEqual(report?["TASKREAPER_SESSION"], "3f2a000000000001")
            XCTAssertEqual(report?["TASKREAPER_GLOB"], .string(root.path + "/opencode/bash-tasks/3f2a*"))
        }
        XCTAssertFalse(BundleFixture.exists(other), "the unprotected session was emptied and removed")
    }

    func testAProtectedHarnessDirectoryKeepsItsTreeAndItsQuarantineWhole() throws {
        for harness in ["opencode", "pi"] {
            let dir = try BundleFixture.sessionDirectory(root: root.path, harness: harness, session: "40f0421733dbdc9c")
            try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
            let quarantine = root.path + "/\(harness)/bash-tasks-quarantine/40f0421733dbdc9c"
            try mkdir(quarantine)
            try BundleFixture.write(quarantine, "bgb-00000009.json.quarantined-1", "{", ageMs: 40 * day)
        }
        let before = BundleFixture.snapshot(root.path + "/pi")
        let run = try sweep(root.path, policy: protecting(root.path + "/p?"))
        XCTAssertEqual(BundleFixture.snapshot(root.path + "/pi"), before)
        XCTAssertEqual(run.log.actions(.skipProtected).map { $0["TASKREAPER_PATH"] },
                       [.string(root.path + "/pi/bash-tasks-quarantine"), .string(root.path + "/pi/bash-tasks")],
                       "the tree and its quarantine, each once (the quarantine pass comes first)")
        XCTAssertEqual(run.count(.removeBundle), 1)
        XCTAssertEqual(run.count(.removeQuarantined), 1, "opencode's")
        XCTAssertFalse(BundleFixture.exists(root.path + "/opencode/bash-tasks-quarantine/40f0421733dbdc9c/bgb-00000009.json.quarantined-1"))
    }

    func testAProtectedRootIsNotEvenOpenedOrLocked() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
        // Another taskreaper holds the root: an unprotected root would be skipped as locked (75).
        let fd = open(root.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        XCTAssertEqual(try sweep(root.path).count(.skipLockedRoot), 1)
        let parent = (root.path as NSString).deletingLastPathComponent
        let run = try sweep(root.path, policy: protecting(parent + "/taskreaper-*"))
        XCTAssertEqual(run.count(.skipLockedRoot), 0, "never opened, so never locked")
        XCTAssertEqual(run.count(.skipProtected), 1)
        XCTAssertEqual(run.result.exitCode, 0)
        flock(fd, LOCK_UN)
        XCTAssertEqual(try sweep(root.path, policy: protecting(parent + "/taskreaper-*")).count(.removeBundle), 0)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000001.json"))
    }

    // MARK: Quarantine retention

    /// One quarantine with every kind of entry, most of them 31 days old.
    private func quarantineTree() throws -> (session: String, legacy: String, task: String) {
        // No bash-tasks tree beside it: a quarantine outlives the tree it came from.
        let session = root.path + "/opencode/bash-tasks-quarantine/3f2a000000000001"
        try mkdir(session)
        try BundleFixture.write(session, "bgb-00000001.json.quarantined-1764000000000", "{", ageMs: 31 * day)
        try BundleFixture.write(session, "bgb-00000001.stdout.quarantined-1764000000000", "out", ageMs: 29 * day)
        try BundleFixture.write(session, "notes.txt", "an operator's", ageMs: 60 * day)
        try BundleFixture.write(root.path + "/opencode/bash-tasks-quarantine", "loose.quarantined-1", "x", ageMs: 60 * day)
        // A quarantined task directory, with links out of the tree inside it.
        let task = session + "/bash-0123456789abcdef.invalid-9f2c4a1b7e3d5c80"
        try mkdir(task + "/control")
        try mkdir(task + "/io/.sandbox-tmp-1/deeper")
        try BundleFixture.write(task + "/control", "metadata.json", "{", ageMs: 31 * day)
        try BundleFixture.write(task + "/io", "stdout", "out")
        try BundleFixture.write(task + "/io/.sandbox-tmp-1/deeper", "f", "x")
        try BundleFixture.write(outside.path, "precious", "keep me")
        XCTAssertEqual(symlink(outside.path, task + "/io/dir-link"), 0)
        XCTAssertEqual(symlink(outside.path + "/precious", task + "/io/file-link"), 0)
        for path in [task + "/io/.sandbox-tmp-1/deeper", task + "/io/.sandbox-tmp-1", task + "/io", task + "/control", task] {
            try BundleFixture.setModified(path, ageMs: 31 * day)
        }
        // A quarantined entry that is itself a link: the link goes, its target stays.
        XCTAssertEqual(symlink(outside.path, session + "/bgb-00000002.json.quarantined-1"), 0)
        try BundleFixture.setModified(session + "/bgb-00000002.json.quarantined-1", ageMs: 31 * day)
        // The legacy tree's quarantine, named by the harness.
        let legacy = root.path + "/bash-tasks-quarantine/40f0421733dbdc9c"
        try mkdir(legacy)
        try BundleFixture.write(legacy, "bash-0123456789abcdef.json.corrupt-0123456789abcdef", "{", ageMs: 31 * day)
        return (session, legacy, task)
    }

    func testQuarantinedEntriesGoAfterTheRetentionByTheirOwnMtimeAndNothingElseIsTouched() throws {
        let (session, legacy, task) = try quarantineTree()
        let before = BundleFixture.snapshot(root.path)
        let dry = try sweep(root.path, dryRun: true)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "a dry run only reports")
        XCTAssertEqual(dry.count(.removeQuarantined), 4)

        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeQuarantined), 4, "one report per entry")
        XCTAssertEqual(run.count(.error), 0)
        for gone in [session + "/bgb-00000001.json.quarantined-1764000000000", task, session + "/bgb-00000002.json.quarantined-1",
                     legacy + "/bash-0123456789abcdef.json.corrupt-0123456789abcdef"] {
            XCTAssertFalse(BundleFixture.exists(gone), gone)
        }
        for kept in [session + "/bgb-00000001.stdout.quarantined-1764000000000", session + "/notes.txt",
                     root.path + "/opencode/bash-tasks-quarantine/loose.quarantined-1", legacy] {
            XCTAssertTrue(BundleFixture.exists(kept), kept)
        }
        XCTAssertEqual(BundleFixture.read(outside.path + "/precious"), "keep me", "no link was followed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: legacy), [], "the emptied session quarantine stays, as the harness keeps it")
        XCTAssertFalse(BundleFixture.exists(root.path + "/opencode/bash-tasks"), "nothing is created")

        let reports = run.log.actions(.removeQuarantined)
        let directory = reports.first { $0["TASKREAPER_PATH"] == .string(task) }
        XCTAssertEqual(directory?["TASKREAPER_TASK_ID"], "bash-0123456789abcdef")
        XCTAssertEqual(directory?["TASKREAPER_SESSION"], "3f2a000000000001")
        XCTAssertEqual(directory?["TASKREAPER_HARNESS"], "opencode")
        XCTAssertEqual(directory?["TASKREAPER_REASON"], "quarantine expired")
        XCTAssertEqual(directory?["TASKREAPER_FILES"], "5", "metadata.json, stdout, the deep file and the two links")
        XCTAssertNil(reports.first { $0["TASKREAPER_PATH"] == .string(legacy + "/bash-0123456789abcdef.json.corrupt-0123456789abcdef") }?["TASKREAPER_HARNESS"])
        // The 29-day-old entry asks to be looked at again in a day.
        let due = try XCTUnwrap(run.result.counters.nextDue)
        XCTAssertEqual(Double(due), Double(BundleFixture.nowMs() + day), accuracy: Double(hour))
    }

    func testInfinityKeepsQuarantinedEntriesAndZeroRemovesThemAtOnce() throws {
        let (session, _, _) = try quarantineTree()
        var policy = Policy()
        policy.quarantineRetention = .never
        let before = BundleFixture.snapshot(root.path)
        let kept = try sweep(root.path, policy: policy)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(kept.count(.removeQuarantined), 0)
        XCTAssertNil(kept.result.counters.nextDue, "nothing scheduled")
        policy.quarantineRetention = .immediately
        let all = try sweep(root.path, policy: policy)
        XCTAssertEqual(all.count(.removeQuarantined), 5)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: session), ["notes.txt"])
    }

    func testAnInterruptedRemovalInAQuarantineIsFinishedAfterAMinute() throws {
        let session = root.path + "/pi/bash-tasks-quarantine/3f2a000000000001"
        let tombstone = session + "/.aft-tmp-0123456789abcdef0123456789abcdef"
        try mkdir(tombstone + "/io")
        try BundleFixture.write(tombstone + "/io", "stdout", "half removed")
        XCTAssertEqual(try sweep(root.path).count(.removeQuarantined), 0, "a removal may be in progress")
        try BundleFixture.setModified(tombstone, ageMs: 2 * 60_000)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeQuarantined), 1)
        XCTAssertEqual(run.log.actions(.removeQuarantined).first?["TASKREAPER_REASON"], "interrupted removal")
        XCTAssertFalse(BundleFixture.exists(tombstone))
    }

    func testAProtectedSessionKeepsItsQuarantine() throws {
        let (session, legacy, _) = try quarantineTree()
        let before = BundleFixture.snapshot(session)
        // The session is named by its tree's path, as it was before its entries were moved.
        let run = try sweep(root.path, policy: protecting(root.path + "/opencode/bash-tasks/3f2a000000000001"))
        XCTAssertEqual(BundleFixture.snapshot(session), before)
        XCTAssertEqual(run.log.actions(.skipProtected).map { $0["TASKREAPER_PATH"] }, [.string(session)])
        XCTAssertEqual(run.count(.removeQuarantined), 1, "the legacy quarantine is not protected")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: legacy), [])
    }

    func testWhatAPassQuarantinesStaysUntilALaterPassEvenWhenItIsOld() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode", session: "3f2a000000000001")
        try BundleFixture.write(dir, "bgb-00000001.json", "{not json", ageMs: 40 * day)
        let first = try sweep(root.path)
        XCTAssertEqual(first.count(.quarantine), 1)
        XCTAssertEqual(first.count(.removeQuarantined), 0)
        let quarantine = root.path + "/opencode/bash-tasks-quarantine/3f2a000000000001"
        let moved = try FileManager.default.contentsOfDirectory(atPath: quarantine)
        XCTAssertEqual(moved.count, 1)
        XCTAssertTrue(moved[0].hasPrefix("bgb-00000001.json.quarantined-"), "\(moved)")
        // A rename keeps the mtime: the harness's rule removes it at the next pass.
        XCTAssertEqual(try sweep(root.path).count(.removeQuarantined), 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: quarantine), [])
    }
}
