import Foundation
import Synchronization
import TaskReaperTestSupport
import XCTest

/// The harness's aft.db (CONTRACT §6) kept in step by the real binary: a real SQLite file
/// with the harness's schema in WAL mode, real processes, a real writer holding the lock.
final class MirrorTests: TreeTestCase {
    let sessionID = "ses_mirror"

    // MARK: Fixtures

    /// A running task whose wrapper ran `exit code` and is gone (reaped): finalizable from its marker.
    private func exitedTask(_ id: String, code: Int, in directory: String? = nil) throws {
        let directory = directory ?? session!
        let process = try HarnessProcess(command: "(exit \(code))", directory: directory, taskID: id)
        processes.append(process)
        try BundleFixture.write(directory, "\(id).json", BundleFixture.schema4(
            taskID: id, sessionID: sessionID, status: "running", startedAt: process.startedAt,
            childPID: process.pid, pgid: process.pid))
        poll("marker of \(id)") { BundleFixture.exists("\(directory)/\(id).exit") }
        XCTAssertNotNil(process.waitForExitStatus(timeout: 10))
    }

    /// A delivered bundle two hours old: removable.
    private func deliveredBundle(_ id: String, in directory: String? = nil, sessionID: String? = nil) throws {
        let directory = directory ?? session!
        try BundleFixture.write(directory, "\(id).stdout", "out", ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(directory, "\(id).sh", "echo out", ageMs: 2 * BundleFixture.hour)
        try BundleFixture.write(directory, "\(id).json", BundleFixture.schema4(
            taskID: id, sessionID: sessionID ?? self.sessionID, status: "completed", startedAt: 1,
            completionDelivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
    }

    private func sweep(_ extra: [String] = []) throws -> TaskReaperBinary.Run {
        try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr", "--finalize-grace", "0"] + extra)
    }

    private func object(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }

    // MARK: Finalize and remove

    func testFinalizingATaskUpdatesItsRowAndNothingElse() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try exitedTask("bgb-00000001", code: 3)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000001", status: "running", metadata: "{\"old\":1}")
        try db.insert(harness: "pi", sessionID: sessionID, taskID: "bgb-00000001", status: "running", metadata: "{\"other\":1}")
        let bystander = try db.row(harness: "pi", sessionID: sessionID, taskID: "bgb-00000001")

        let run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try XCTUnwrap(BundleFixture.read(session + "/bgb-00000001.json"))
        let row = try XCTUnwrap(db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000001"))
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.exitCode, 3)
        XCTAssertNil(row.pid, "pid = NULL")
        let finishedAt = try XCTUnwrap(object(json)?["finished_at"] as? Int64)
        XCTAssertEqual(row.completedAt, finishedAt)
        XCTAssertEqual(row.completionDelivered, 0, "notify_on_completion: the harness still has to deliver it")
        // metadata: the new JSON, compact as serde_json::to_string writes it.
        XCTAssertFalse(row.metadata.contains("\n") || row.metadata.contains(": "), row.metadata)
        XCTAssertEqual(object(row.metadata), object(json))
        XCTAssertTrue(row.metadata.hasPrefix("{\"schema_version\":4,\"task_id\":\"bgb-00000001\","), row.metadata)
        XCTAssertEqual(try db.row(harness: "pi", sessionID: sessionID, taskID: "bgb-00000001"), bystander,
                       "the other harness's row with the same ids is not ours")
        let finalize = try XCTUnwrap(run.actions("finalize").first)
        XCTAssertEqual(finalize["db_row"] as? String, "updated")
        XCTAssertTrue((finalize["message"] as? String ?? "").hasSuffix("; updated its row in \(root.path)/aft.db"), "\(finalize)")
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    func testRemovingABundleDeletesItsRowOnly() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try deliveredBundle("bgb-00000002")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000002", status: "completed", delivered: true)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000099", status: "running")

        let run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(BundleFixture.exists(session + "/bgb-00000002.json"))
        XCTAssertFalse(BundleFixture.exists(session + "/bgb-00000002.sh"))
        XCTAssertNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000002"))
        XCTAssertNotNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000099"),
                        "a row without a bundle may be a task the harness is creating: never ours to delete")
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "deleted")
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    func testAMissingRowOrTableIsFine() throws {
        try deliveredBundle("bgb-00000003")
        try exitedTask("bgb-00000004", code: 0)
        let db = try HarnessDatabase.create(root: root.path, schema: "CREATE TABLE other (x)")
        var run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.actions("error").count, 0, run.stdout)
        XCTAssertEqual(run.actions("finalize").first?["db_row"] as? String, "no_table")
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "no_table")

        try db.execute(HarnessDatabase.schema)
        try deliveredBundle("bgb-00000005")
        run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "no_row")
        XCTAssertEqual(try db.count(), 0, "nothing inserted")
    }

    func testATerminalJSONWhoseRowStillRunsIsRepaired() throws {
        let db = try HarnessDatabase.create(root: root.path)
        // Finalized by someone who did not know about aft.db (or whose row update was deferred).
        try BundleFixture.write(session, "bgb-00000006.json", BundleFixture.schema4(
            taskID: "bgb-00000006", sessionID: sessionID, status: "killed", startedAt: 1_700_000_000_000, exitCode: 137))
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000006", status: "running")
        let run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        let row = try XCTUnwrap(db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000006"))
        XCTAssertEqual(row.status, "killed")
        XCTAssertEqual(row.exitCode, 137)
        XCTAssertEqual(row.completedAt, 1_700_000_001_000)
        XCTAssertNil(row.pid)
        XCTAssertEqual(run.actions("sync_row").count, 1, run.stdout)
        // In step now: a second pass changes nothing.
        let again = try sweep()
        XCTAssertEqual(again.actions("sync_row").count, 0, again.stdout)
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000006"), row)
    }

    func testAJSONTheLiveHarnessJustFinalizedIsLeftForItToWriteTheRow() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try BundleFixture.write(session, "bgb-00000008.json", BundleFixture.schema4(
            taskID: "bgb-00000008", sessionID: sessionID, status: "completed", startedAt: 1_700_000_000_000, exitCode: 0))
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000008", status: "running")
        // The harness writes the JSON, then the row: within the finalize grace, the row is its to write.
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr"])
        XCTAssertEqual(run.actions("sync_row").count, 0, run.stdout)
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000008")?.status, "running")
        // Once the JSON is older than the grace, a row still behind is ours to fix.
        try BundleFixture.setModified(session + "/bgb-00000008.json", ageMs: 6_000)
        let later = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr"])
        XCTAssertEqual(later.actions("sync_row").count, 1, later.stdout)
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000008")?.status, "completed")
    }

    func testARowTheHarnessAlreadyFinalizedWins() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try exitedTask("bgb-00000007", code: 0)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000007", status: "completed",
                      pid: nil, exitCode: 0, completedAt: 5, metadata: "{\"harness\":true}")
        let before = try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000007")
        let run = try sweep()
        XCTAssertEqual(run.actions("finalize").first?["db_row"] as? String, "already_terminal")
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000007"), before)
    }

    func testTheLegacyTreeMatchesOnSessionAndTaskAndNeverGuesses() throws {
        let db = try HarnessDatabase.create(root: root.path)
        let legacy = try BundleFixture.sessionDirectory(root: root.path, harness: nil, session: "fedcba9876543210")
        try deliveredBundle("bgb-00000010", in: legacy)
        try deliveredBundle("bgb-00000011", in: legacy)
        try db.insert(harness: "pi", sessionID: sessionID, taskID: "bgb-00000010", status: "completed", delivered: true)
        try db.insert(harness: "pi", sessionID: sessionID, taskID: "bgb-00000011", status: "completed", delivered: true)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000011", status: "completed", delivered: true)
        let run = try sweep()
        XCTAssertNil(try db.row(harness: "pi", sessionID: sessionID, taskID: "bgb-00000010"), "one match: deleted")
        XCTAssertNotNil(try db.row(harness: "pi", sessionID: sessionID, taskID: "bgb-00000011"), "two matches: neither is touched")
        XCTAssertNotNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000011"))
        let error = try XCTUnwrap(run.actions("error").first, run.stdout)
        XCTAssertTrue((error["message"] as? String ?? "").contains("2 rows of different harnesses"), "\(error)")
        XCTAssertEqual(run.status, 1)
    }

    // MARK: A busy harness

    func testAWriterHoldingTheLockBrieflyMakesTheSweepWaitNotFail() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try deliveredBundle("bgb-00000020")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000020", status: "completed", delivered: true)
        try db.lock()
        // Set just before the writer lets go: a sweep that waited for the lock ends after it.
        let releasing = Mutex(false)
        let released = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            releasing.withLock { $0 = true }
            try? db.unlock()
            released.signal()
        }
        let run = try sweep()
        let endedAfterTheRelease = releasing.withLock { $0 }
        released.wait()
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(endedAfterTheRelease, "it waited for the lock")
        XCTAssertEqual(run.actions("db_busy").count, 0)
        XCTAssertNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000020"))
        XCTAssertFalse(BundleFixture.exists(session + "/bgb-00000020.json"))
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    func testAWriterHoldingTheLockPastTheTimeoutDefersRowsAndRemovalsToTheNextPass() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try exitedTask("bgb-00000021", code: 0)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000021", status: "running")
        for index in 22...25 {
            let id = "bgb-000000\(index)"
            try deliveredBundle(id)
            try db.insert(harness: "opencode", sessionID: sessionID, taskID: id, status: "completed", delivered: true)
        }
        try db.lock()
        let run = try sweep(["--db-busy-timeout", "300ms"])
        XCTAssertEqual(run.status, 75, "work left for the next run: EX_TEMPFAIL\n" + run.stderr)
        // One busy spell for the pass, not one per row (TaskMirrorTests: no second wait).
        XCTAssertEqual(run.actions("db_busy").count, 1, run.stdout)
        XCTAssertEqual(parse(session + "/bgb-00000021.json")["status"] as? String, "completed", "the JSON is finalized anyway")
        XCTAssertEqual(run.actions("finalize").first?["db_row"] as? String, "deferred")
        XCTAssertEqual(run.actions("remove_bundle").count, 0, "no bundle removed while its row cannot go")
        for index in 22...25 { XCTAssertTrue(BundleFixture.exists(session + "/bgb-000000\(index).json")) }
        try db.unlock()
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000021")?.status, "running")

        let next = try sweep()
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(next.actions("sync_row").count, 1, next.stdout)
        XCTAssertEqual(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000021")?.status, "completed")
        XCTAssertEqual(next.actions("remove_bundle").count, 4)
        XCTAssertEqual(try db.count(), 1)
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    // MARK: Bad databases

    func testAGarbageAftDbIsReportedOnceAndTheFilesAreHandledAnyway() throws {
        let garbage = String(repeating: "this is not a database\n", count: 200)
        try BundleFixture.write(root.path, "aft.db", garbage)
        for index in 30...32 { try deliveredBundle("bgb-000000\(index)") }
        let run = try sweep()
        XCTAssertEqual(run.status, 1, "an operator should look: " + run.stderr)
        let errors = run.actions("error")
        XCTAssertEqual(errors.count, 1, "one error per pass, not one per bundle: \(errors)")
        XCTAssertEqual(errors.first?["path"] as? String, root.path + "/aft.db")
        XCTAssertTrue((errors.first?["message"] as? String ?? "").contains("not an SQLite database"), "\(errors)")
        XCTAssertEqual(run.actions("remove_bundle").count, 3, "the filesystem side proceeds")
        XCTAssertEqual(BundleFixture.read(root.path + "/aft.db"), garbage, "never written")
        XCTAssertFalse(BundleFixture.exists(root.path + "/aft.db-wal"))
    }

    func testATableWithoutTheExpectedColumnsIsReportedOnce() throws {
        _ = try HarnessDatabase.create(root: root.path, schema: "CREATE TABLE bash_tasks (harness, session_id, task_id, status)")
        for index in 33...34 { try deliveredBundle("bgb-000000\(index)") }
        let run = try sweep()
        let errors = run.actions("error")
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertTrue((errors.first?["message"] as? String ?? "").contains("lacks columns exit_code, pid, completed_at, completion_delivered, metadata"), "\(errors)")
        XCTAssertEqual(run.actions("remove_bundle").count, 2)
    }

    func testALinkNamedAftDbIsNeverFollowed() throws {
        let elsewhere = try TemporaryDirectory()
        let target = try HarnessDatabase.create(root: elsewhere.path)
        try target.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000035", status: "completed", delivered: true)
        XCTAssertEqual(symlink(elsewhere.path + "/aft.db", root.path + "/aft.db"), 0)
        try deliveredBundle("bgb-00000035")
        let run = try sweep()
        XCTAssertEqual(run.actions("error").count, 1, run.stdout)
        XCTAssertTrue((run.actions("error").first?["message"] as? String ?? "").contains("symbolic link"))
        XCTAssertNotNil(try target.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000035"))
    }

    func testNoDatabaseIsEverCreated() throws {
        try deliveredBundle("bgb-00000036")
        try exitedTask("bgb-00000037", code: 0)
        for arguments in [["--dry-run"], []] {
            let run = try sweep(arguments)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertNil(run.actions("remove_bundle").first?["db_row"], "no aft.db, nothing to say")
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            XCTAssertFalse(BundleFixture.exists(root.path + "/aft.db" + suffix), suffix)
        }
    }

    // MARK: Dry run

    func testDryRunReportsTheRowChangesItWouldMakeAndMakesNone() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try exitedTask("bgb-00000040", code: 2)
        try deliveredBundle("bgb-00000041")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000040", status: "running")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000041", status: "completed", delivered: true)
        let rows = try ["bgb-00000040", "bgb-00000041"].map { try db.row(harness: "opencode", sessionID: sessionID, taskID: $0) }
        let run = try sweep(["--dry-run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let finalize = try XCTUnwrap(run.actions("finalize").first)
        XCTAssertEqual(finalize["db_row"] as? String, "would_update")
        XCTAssertTrue((finalize["message"] as? String ?? "").hasSuffix("; would update its row in \(root.path)/aft.db"), "\(finalize)")
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "would_delete")
        XCTAssertEqual(try ["bgb-00000040", "bgb-00000041"].map { try db.row(harness: "opencode", sessionID: sessionID, taskID: $0) }, rows)
    }

    /// CONTRACT §7.8: task directories' rows follow as flat bundles' do; fate_unknown is
    /// terminal; the row's metadata keeps the record's own schema.
    func testTaskDirectoryRowsAreUpdatedAndDeleted() throws {
        let db = try HarnessDatabase.create(root: root.path)
        let gone = TaskDirectoryFixture.id(1), delivered = TaskDirectoryFixture.id(2)
        let goneDir = try TaskDirectoryFixture.write(in: session, taskID: gone, record: nil)
        let process = try HarnessProcess.exited()
        try TaskDirectoryFixture.setRecord(goneDir, TaskDirectoryFixture.record(schema: 6, taskID: gone, sessionID: sessionID,
                                                                                status: "running", startedAt: process.startedAt, childPID: process.pid))
        try TaskDirectoryFixture.write(in: session, taskID: delivered, record: TaskDirectoryFixture.record(
            taskID: delivered, sessionID: sessionID, status: "completed", startedAt: 1, delivered: true, exitCode: 0), ageMs: 2 * BundleFixture.hour)
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: gone, status: "running")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: delivered, status: "completed", delivered: true)
        let run = try sweep()
        XCTAssertEqual(run.status, 0, run.stderr)
        let row = try XCTUnwrap(try db.row(harness: "opencode", sessionID: sessionID, taskID: gone))
        XCTAssertEqual(row.status, "fate_unknown")
        XCTAssertNil(row.pid)
        XCTAssertEqual((object(row.metadata)?["schema_version"] as? Int), 6)
        XCTAssertEqual(run.actions("finalize").first?["db_row"] as? String, "updated")
        XCTAssertNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: delivered))
        XCTAssertFalse(BundleFixture.exists(session + "/" + delivered))
        // Terminal now: a second pass finds the row in step and changes nothing.
        let again = try sweep()
        XCTAssertEqual(again.actions("sync_row").count, 0)
        XCTAssertEqual(try db.integrityCheck(), "ok")
    }

    /// Issue 11.6: a dry run over a WAL aft.db whose harness has closed it (no -wal, no -shm)
    /// created both and left them. It must create nothing, and still read the rows.
    func testDryRunOverAClosedWALDatabaseCreatesNoSideFiles() throws {
        var db: HarnessDatabase? = try HarnessDatabase.create(root: root.path)
        try deliveredBundle("bgb-00000042")
        try db?.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000042", status: "completed", delivered: true)
        db = nil  // the harness exits: SQLite checkpoints and removes its side files
        XCTAssertFalse(BundleFixture.exists(root.path + "/aft.db-wal"))
        let before = BundleFixture.snapshot(root.path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: root.path + "/aft.db"))
        let run = try sweep(["--dry-run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "would_delete", "the row was read")
        XCTAssertEqual(BundleFixture.snapshot(root.path), before, "no aft.db-wal or aft.db-shm")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root.path + "/aft.db")), bytes)
    }

    /// With the harness running (both side files present) a dry run reads through them and
    /// leaves them as they were.
    func testDryRunBesideALiveHarnessLeavesItsSideFilesAlone() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try deliveredBundle("bgb-00000043")
        try db.insert(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000043", status: "completed", delivered: true)
        XCTAssertTrue(BundleFixture.exists(root.path + "/aft.db-wal"))
        let wal = try Data(contentsOf: URL(fileURLWithPath: root.path + "/aft.db-wal"))
        let run = try sweep(["--dry-run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.actions("remove_bundle").first?["db_row"] as? String, "would_delete", "the row, still in the WAL, was read")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root.path + "/aft.db-wal")), wal)
        XCTAssertNotNil(try db.row(harness: "opencode", sessionID: sessionID, taskID: "bgb-00000043"))
    }
}

private func parse(_ path: String) -> [String: Any] {
    guard let text = BundleFixture.read(path),
          let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
    return object
}
