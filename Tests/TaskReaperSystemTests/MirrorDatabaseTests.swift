import Foundation
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// The aft.db connection itself: what SQLite is asked to do and not do.
final class MirrorDatabaseTests: XCTestCase {
    var root: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    private func open(readOnly: Bool = false) throws(MirrorDatabase.Failure) -> MirrorDatabase? {
        let directory = try! DirectoryHandle.open(root: root.path)
        return try MirrorDatabase.open(in: directory, readOnly: readOnly, busyTimeoutMs: 100)
    }

    /// TaskMirror looks for the file first; SQLite's own flags refuse too, for the moment in between.
    func testAMissingFileIsNeverCreated() {
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue("\(error)".contains("unable to open"), "\(error)")
        }
        XCTAssertThrowsError(try open(readOnly: true))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), [])
    }

    func testALinkIsRefusedBySQLiteItself() throws {
        let elsewhere = try TemporaryDirectory()
        _ = try HarnessDatabase.create(root: elsewhere.path)
        XCTAssertEqual(symlink(elsewhere.path + "/aft.db", root.path + "/aft.db"), 0)
        XCTAssertThrowsError(try open()) { error in
            XCTAssertEqual(error as? MirrorDatabase.Failure, .symlink)
        }
    }

    func testAReadOnlyConnectionCannotWrite() throws {
        let db = try HarnessDatabase.create(root: root.path)
        try db.insert(harness: "pi", sessionID: "s", taskID: "t", status: "running")
        let mirror = try XCTUnwrap(try open(readOnly: true))
        let key = MirrorDatabase.Key(harness: "pi", sessionID: "s", taskID: "t")
        XCTAssertEqual(try mirror.status(of: key), "running")
        XCTAssertThrowsError(try mirror.delete(key))
        XCTAssertEqual(try db.count(), 1)
    }

    func testWithoutTheTableThereIsNothingToOpen() throws {
        _ = try HarnessDatabase.create(root: root.path, schema: "CREATE TABLE unrelated (x)")
        XCTAssertNil(try open())
    }
}
