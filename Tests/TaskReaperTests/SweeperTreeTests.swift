import Foundation
import Synchronization
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Whole sweeps over real trees: removal, strays, quarantine, links, concurrent writers.
final class SweeperTreeTests: XCTestCase {
    var root: TemporaryDirectory!
    var outside: TemporaryDirectory!
    let hour = BundleFixture.hour

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        outside = try TemporaryDirectory("taskreaper-outside")
    }

    private func delivered(_ dir: String, _ id: String, ageMs: UInt64, extra: [(String, String)] = []) throws {
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, status: "completed", startedAt: BundleFixture.nowMs() - ageMs - 1000,
            completionDelivered: true, exitCode: 0, extra: extra), ageMs: ageMs)
    }

    func testDeliveredBundleIsRemovedWithEveryMemberThenItsSessionDirectory() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        for ext in ["stdout", "stderr", "pty", "exit", "sh", "ps1", "bat"] {
            try BundleFixture.write(dir, "bash-0123456789abcdef.\(ext)", "x", ageMs: 2 * hour)
        }
        try delivered(dir, "bash-0123456789abcdef", ageMs: 2 * hour)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeBundle), 1)
        XCTAssertEqual(run.count(.removeSessionDir), 1)
        XCTAssertFalse(BundleFixture.exists(dir), "the session directory the pass emptied is gone")
        XCTAssertTrue(BundleFixture.exists(root.path + "/pi/bash-tasks"), "the tree itself stays")
        XCTAssertEqual(run.log.actions(.removeBundle).first?["TASKREAPER_REASON"], "delivered")
    }

    func testRecentlyDeliveredAndUndeliveredBundlesStay() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try delivered(dir, "bgb-00000001", ageMs: 30 * 60_000)
        try BundleFixture.write(dir, "bgb-00000002.json", BundleFixture.schema4(
            taskID: "bgb-00000002", status: "failed", startedAt: 1, exitCode: 1), ageMs: 29 * 24 * hour)
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(run.result.counters.bundles, 2)
        // The earliest deadline: retention of the first one.
        XCTAssertNotNil(run.result.counters.nextDue)
    }

    func testAbandonedBundleIsRemovedAsAbandoned() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: nil)
        try BundleFixture.write(dir, "bgb-00000002.json", BundleFixture.schema4(
            taskID: "bgb-00000002", status: "failed", startedAt: 1, exitCode: 1), ageMs: 31 * 24 * hour)
        let run = try sweep(root.path)
        XCTAssertEqual(run.log.actions(.removeBundle).first?["TASKREAPER_REASON"], "abandoned")
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000002.json"))
    }

    func testEveryHarnessDirectoryAndTheLegacyTreeAreSwept() throws {
        for harness in ["opencode", "pi", "claude-code", nil] as [String?] {
            let dir = try BundleFixture.sessionDirectory(root: root.path, harness: harness)
            try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
        }
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeBundle), 4)
        let harnesses = Set(run.log.actions(.removeBundle).map { $0["TASKREAPER_HARNESS"]?.description ?? "legacy" })
        XCTAssertEqual(harnesses, ["opencode", "pi", "claude-code", "legacy"])
    }

    func testUnsupportedSchemaIsNeverTouched() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try delivered(dir, "bgb-00000001", ageMs: 2 * hour, extra: [])
        let text = BundleFixture.read(dir + "/bgb-00000001.json")!.replacingOccurrences(of: "\"schema_version\": 4", with: "\"schema_version\": 8")
        try BundleFixture.write(dir, "bgb-00000001.json", text, ageMs: 2 * hour)
        try BundleFixture.write(dir, "bgb-00000001.stdout", "keep", ageMs: 2 * hour)
        let before = BundleFixture.snapshot(root.path)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.skipUnsupportedSchema), 1)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before)
        XCTAssertEqual(run.result.exitCode, 0)
    }

    func testOrphanFilesEmptySessionsAndQuarantine() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000aa")
        try BundleFixture.write(dir, "bgb-00000003.stdout", "old", ageMs: 2 * hour)
        try BundleFixture.write(dir, "bgb-00000004.stdout", "young", ageMs: 10 * 60_000)
        try BundleFixture.write(dir, "bgb-00000005.json", "{\"schema_version\": 4,", ageMs: 25 * hour)
        try BundleFixture.write(dir, "bgb-00000005.stderr", "evidence", ageMs: 25 * hour)
        try BundleFixture.write(dir, "bgb-00000006.json", "garbage", ageMs: 60_000)
        try BundleFixture.write(dir, "notes.txt", "not ours", ageMs: 100 * hour)
        let empty = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000bb")
        try BundleFixture.setModified(empty, ageMs: 2 * hour)
        let fresh = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000cc")

        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeOrphanFile), 1)
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000003.stdout"))
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000004.stdout"))
        XCTAssertEqual(run.count(.quarantine), 1)
        XCTAssertEqual(run.count(.reportCorrupt), 1)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000006.json"), "young corrupt JSON is only reported")
        XCTAssertTrue(BundleFixture.exists(dir + "/notes.txt"), "unknown names are not ours")
        let quarantine = root.path + "/pi/bash-tasks-quarantine/00000000000000aa"
        let moved = try FileManager.default.contentsOfDirectory(atPath: quarantine).sorted()
        XCTAssertEqual(moved.count, 2)
        XCTAssertTrue(moved[0].hasPrefix("bgb-00000005.json.quarantined-"), "\(moved)")
        XCTAssertTrue(moved[1].hasPrefix("bgb-00000005.stderr.quarantined-"), "\(moved)")
        XCTAssertEqual(BundleFixture.read(quarantine + "/" + moved[1]), "evidence")
        XCTAssertFalse(BundleFixture.exists(empty))
        XCTAssertTrue(BundleFixture.exists(fresh), "an empty session younger than 1 h stays")
    }

    func testSymbolicLinksAreNeverFollowed() throws {
        // Outside the tree: a delivered bundle and a file a link points at.
        try delivered(outside.path, "bgb-000000aa", ageMs: 2 * hour)
        try BundleFixture.write(outside.path, "precious", "do not touch")
        let before = BundleFixture.snapshot(outside.path)
        let tree = root.path + "/opencode/bash-tasks"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        // A session directory that is a link to the outside.
        try FileManager.default.createSymbolicLink(atPath: tree + "/00000000000000ff", withDestinationPath: outside.path)
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        // A delivered bundle whose stdout is a link: the link goes, its target stays.
        try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
        try FileManager.default.createSymbolicLink(atPath: dir + "/bgb-00000001.stdout", withDestinationPath: outside.path + "/precious")
        // A JSON that is a link to a delivered JSON outside: never read through.
        try FileManager.default.createSymbolicLink(atPath: dir + "/bgb-00000002.json", withDestinationPath: outside.path + "/bgb-000000aa.json")
        // A JSON whose task_id tries to escape: paths come from the file name.
        try BundleFixture.write(dir, "bgb-00000003.json", BundleFixture.schema4(
            taskID: "../../../../\(outside.path)/bgb-000000aa", status: "completed", startedAt: 1,
            completionDelivered: true, exitCode: 0), ageMs: 2 * hour)
        // A harness directory that is a link.
        try FileManager.default.createSymbolicLink(atPath: root.path + "/linked", withDestinationPath: outside.path)

        let run = try sweep(root.path)
        XCTAssertEqual(BundleFixture.snapshot(outside.path), before, "nothing outside the tree changed")
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000001.stdout"))
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000003.json"))
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000002.json"), "a linked JSON is corrupt input, reported")
        XCTAssertEqual(run.count(.reportCorrupt), 1)
        // The linked session and the linked harness directory (issue 11.7: it went unsaid).
        XCTAssertEqual(Set(run.log.actions(.skipSymlink).compactMap { $0["TASKREAPER_PATH"]?.description }),
                       [tree + "/00000000000000ff", root.path + "/linked"])
        XCTAssertEqual(run.count(.removeBundle), 2)
        XCTAssertEqual(run.result.exitCode, 0)
    }

    func testDryRunLeavesTheTreeByteIdenticalAndReportsEverything() throws {
        let live = try HarnessProcess(arguments: ["/bin/sleep", "30"])
        defer { live.stop() }
        let generator = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/make-demo-tree.py").path
        let python = try Subprocess.run("/usr/bin/env", ["python3", generator, root.path, "--live-pid", String(live.pid)],
                                        mergeOutput: true)
        XCTAssertEqual(python.status, 0, python.stdoutText)
        let before = BundleFixture.snapshot(root.path)
        let dry = try sweep(root.path, dryRun: true)
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "dry run changed the tree")
        for kind: ActionKind in [.finalize, .writeKillMarker, .removeBundle, .quarantine, .removeStrayTemp,
                                 .removeOrphanFile, .removeSessionDir, .reportCorrupt, .skipUnsupportedSchema, .skipSymlink] {
            XCTAssertGreaterThan(dry.count(kind), 0, "dry run reports \(kind.rawValue)")
        }
        XCTAssertTrue(dry.log.actions(.finalize).allSatisfy { $0["TASKREAPER_DRY_RUN"] == "1" })
        // The real sweep then does what the dry run said, action for action.
        let real = try sweep(root.path)
        for kind in ActionKind.allCases where kind != .summary {
            XCTAssertEqual(real.count(kind), dry.count(kind), kind.rawValue)
        }
        // And a second pass finds nothing more to do.
        let again = try sweep(root.path)
        XCTAssertEqual(again.count(.finalize) + again.count(.removeBundle) + again.count(.quarantine), 0)
    }

    func testAConcurrentRewriteBetweenReadAndRenameIsNotOverwritten() throws {
        // The harness finalizes the task itself while we are deciding.
        let (dir, _) = try goneRunningTask()
        let harnessVersion = BundleFixture.schema4(taskID: "bgb-00000001", status: "completed",
                                                  startedAt: BundleFixture.nowMs() - 60_000, exitCode: 0,
                                                  extra: [("written_by", "\"harness\"")])
        let (run, rewritten) = try sweepWhileTheHarnessRewrites(dir, to: harnessVersion)
        XCTAssertTrue(rewritten, "the harness's write came between our read and our rename")
        XCTAssertEqual(BundleFixture.read(dir + "/bgb-00000001.json"), harnessVersion, "the newer state won")
        XCTAssertEqual(run.count(.finalize), 0, "redecided from the harness's completed state: nothing to do")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }
        XCTAssertEqual(leftovers, [], "our temp file was cleaned up")
    }

    func testAConcurrentRewriteIsDecidedAgainFromWhatTheHarnessWrote() throws {
        // Our first decision (running, gone, no marker: failed) is stale once the harness has
        // marked the task killing: the decision is made again, and the killing row applies.
        let (dir, pid) = try goneRunningTask()
        let harnessVersion = BundleFixture.schema4(taskID: "bgb-00000001", status: "killing",
                                                  startedAt: BundleFixture.nowMs() - 60_000, childPID: pid, pgid: pid,
                                                  extra: [("written_by", "\"harness\"")])
        let (run, rewritten) = try sweepWhileTheHarnessRewrites(dir, to: harnessVersion)
        XCTAssertTrue(rewritten, "the harness's write came between our read and our rename")
        let json = parse(dir + "/bgb-00000001.json")
        XCTAssertEqual(json["status"] as? String, "killed", "decided from the harness's killing, not our stale failed")
        XCTAssertEqual(json["status_reason"] as? String, "killed while owner was gone")
        XCTAssertEqual(json["written_by"] as? String, "harness", "written over the harness's version")
        XCTAssertEqual(BundleFixture.read(dir + "/bgb-00000001.exit"), "killed")
        XCTAssertEqual(run.count(.finalize), 1)
        XCTAssertEqual(run.count(.writeKillMarker), 1)
        XCTAssertEqual(run.log.actions(.finalize).first?["TASKREAPER_FROM"], "killing")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }
        XCTAssertEqual(leftovers, [], "our temp file was cleaned up")
    }

    /// A session with one running task whose process (`pid`) is gone (reaped), no marker.
    private func goneRunningTask() throws -> (dir: String, pid: Int32) {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let gone = try HarnessProcess.exited()
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "running", startedAt: BundleFixture.nowMs() - 60_000,
            childPID: gone.pid, pgid: gone.pid))
        return (dir, gone.pid)
    }

    /// A sweep during which the harness rewrites bgb-00000001.json (temp + rename: a new
    /// inode, new content) right after we have read it: at the first clock reading once the
    /// file was read (inotify IN_CLOSE_NOWRITE), which comes before our rename. True when
    /// the rewrite happened (otherwise the test proves nothing).
    private func sweepWhileTheHarnessRewrites(_ dir: String, to harnessVersion: String) throws -> (SweepRun, Bool) {
        let read = try ReadNotification(dir + "/bgb-00000001.json")
        let rewritten = Mutex(false)
        let run = try sweep(root.path, policy: immediate(), clock: {
            rewritten.withLock { done in
                guard !done, read.happened() else { return }
                _ = try? BundleFixture.write(dir, ".bgb-00000001.json.tmp.1.bgb-00000001", harnessVersion)
                rename(dir + "/.bgb-00000001.json.tmp.1.bgb-00000001", dir + "/bgb-00000001.json")
                done = true
            }
            return WallClock.now()
        })
        return (run, rewritten.withLock { $0 })
    }

    func testASecondSweepOfALockedRootIsSkipped() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
        let fd = open(root.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        let run = try sweep(root.path)
        XCTAssertEqual(run.result.exitCode, 75)
        XCTAssertEqual(run.count(.skipLockedRoot), 1)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000001.json"))
        // A dry run takes no lock, so it still reports.
        XCTAssertEqual(try sweep(root.path, dryRun: true).count(.removeBundle), 1)
        flock(fd, LOCK_UN)
        XCTAssertEqual(try sweep(root.path).count(.removeBundle), 1)
    }

    func testAFailedRemovalIsAnErrorAndTheRestIsStillDone() throws {
        // A member that cannot be unlinked, even by root: an immutable file.
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000aa")
        try delivered(dir, "bgb-00000001", ageMs: 2 * hour)
        let other = try BundleFixture.sessionDirectory(root: root.path, harness: "pi", session: "00000000000000bb")
        try delivered(other, "bgb-00000002", ageMs: 2 * hour)
        // Immutable file: even root's unlink fails with EPERM (ext4 supports chattr +i).
        try BundleFixture.write(dir, "bgb-00000001.stdout", "x", ageMs: 2 * hour)
        try makeImmutable(dir + "/bgb-00000001.stdout")
        defer { makeMutable(dir + "/bgb-00000001.stdout") }
        let run = try sweep(root.path)
        XCTAssertEqual(run.result.exitCode, 1)
        XCTAssertEqual(run.count(.error), 1)
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-00000001.json"), "the JSON stays: the next pass finishes")
        XCTAssertFalse(BundleFixture.exists(other + "/bgb-00000002.json"), "the other session was still swept")
        let error = run.log.actions(.error).first
        XCTAssertEqual(error?["TASKREAPER_PATH"]?.description, dir + "/bgb-00000001.stdout")
    }

    func testAnyMarkerThatIsNotARegularFileIsNoMarkerAndReported() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let gone = try HarnessProcess.exited()
        let ids = ["bgb-00000001", "bgb-00000002", "bgb-00000003", "bgb-00000004"]
        for id in ids {
            try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
                taskID: id, status: "running", startedAt: BundleFixture.nowMs() - 60_000, childPID: gone.pid, pgid: gone.pid))
        }
        // A socket (open fails with ENXIO: every pass used to fail the task), a FIFO, a
        // directory, and a link to a file saying 0 (never followed).
        let socket = try NotifySocket(path: dir + "/bgb-00000001.exit")
        XCTAssertEqual(mkfifo(dir + "/bgb-00000002.exit", 0o600), 0)
        XCTAssertEqual(mkdir(dir + "/bgb-00000003.exit", 0o700), 0)
        try BundleFixture.write(outside.path, "zero", "0")
        XCTAssertEqual(symlink(outside.path + "/zero", dir + "/bgb-00000004.exit"), 0)
        let run = try sweep(root.path, policy: immediate())
        withExtendedLifetime(socket) {}
        XCTAssertEqual(run.count(.error), 0, "\(run.log.actions(.error))")
        XCTAssertEqual(run.result.exitCode, 0)
        let reports = run.log.actions(.reportCorrupt)
        XCTAssertEqual(Set(reports.compactMap { $0["TASKREAPER_PATH"]?.description }), Set(ids.map { dir + "/\($0).exit" }))
        for id in ids {
            let json = parse(dir + "/\(id).json")
            XCTAssertEqual(json["status"] as? String, "failed", id)
            XCTAssertEqual(json["status_reason"] as? String, "process exited without exit marker", id)
        }
        XCTAssertEqual(BundleFixture.read(outside.path + "/zero"), "0")
    }

    func testAJSONGivingAFieldTwiceIsCorrupt() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        // The last "status" says completed and delivered: a lookup of the last key would remove
        // the bundle; the harness's serde refuses the file ("duplicate field").
        let json = BundleFixture.schema4(taskID: "bgb-00000005", status: "running", startedAt: 1, completionDelivered: true,
                                         extra: [("status", BundleFixture.quote("completed"))])
        try BundleFixture.write(dir, "bgb-00000005.json", json, ageMs: 2 * hour)
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeBundle), 0)
        XCTAssertEqual(run.log.actions(.reportCorrupt).first?["TASKREAPER_ERROR"], "field 'status' appears more than once")
        XCTAssertEqual(BundleFixture.read(dir + "/bgb-00000005.json"), json)
    }

    /// Issue 11.7: a FIFO, socket or directory named `<id>.json` is reported, and its
    /// bundle's members are kept (they used to be deleted as orphans an hour later).
    func testAJSONThatIsNotAFileIsReportedAndItsMembersKept() throws {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        XCTAssertEqual(mkfifo(dir + "/bgb-000000f1.json", 0o600), 0)
        try FileManager.default.createDirectory(atPath: dir + "/bgb-000000f2.json", withIntermediateDirectories: false)
        for id in ["bgb-000000f1", "bgb-000000f2"] {
            try BundleFixture.write(dir, id + ".stdout", "output", ageMs: 2 * hour)
        }
        let run = try sweep(root.path)
        XCTAssertEqual(run.count(.removeOrphanFile), 0)
        XCTAssertEqual(Set(run.log.actions(.reportCorrupt).compactMap { $0["TASKREAPER_PATH"]?.description }),
                       [dir + "/bgb-000000f1.json", dir + "/bgb-000000f2.json"])
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-000000f1.stdout"))
        XCTAssertTrue(BundleFixture.exists(dir + "/bgb-000000f2.stdout"))
    }
}

/// Whether a file has been read (opened without writing, then closed) since `init`.
private final class ReadNotification: Sendable {
    let fd: Int32

    init(_ path: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard inotify_add_watch(fd, path, UInt32(IN_CLOSE_NOWRITE)) >= 0 else {
            let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// True once an event has been queued (IN_IGNORED too: the file was replaced or removed).
    func happened() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) } > 0
    }
}
