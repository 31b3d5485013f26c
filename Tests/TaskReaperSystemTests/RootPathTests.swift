import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Where `watch` waits for a root that does not exist yet.
final class RootPathTests: XCTestCase {
    func testTheWatchPointIsTheDeepestExistingDirectoryAtMostTheParent() throws {
        let dir = try TemporaryDirectory()
        XCTAssertEqual(RootPath.watchPoint(for: dir.path + "/a/b/root"), dir.path, "nothing below exists yet")
        try FileManager.default.createDirectory(atPath: dir.path + "/a/b", withIntermediateDirectories: true)
        XCTAssertEqual(RootPath.watchPoint(for: dir.path + "/a/b/root"), dir.path + "/a/b", "the parent")
        try FileManager.default.createDirectory(atPath: dir.path + "/a/b/root", withIntermediateDirectories: false)
        XCTAssertEqual(RootPath.watchPoint(for: dir.path + "/a/b/root"), dir.path + "/a/b", "never the root itself")
        XCTAssertEqual(RootPath.watchPoint(for: dir.path + "//a/b/root/"), dir.path + "/a/b", "spelling does not matter")
        XCTAssertEqual(RootPath.watchPoint(for: "/nonexistent-\(getpid())/x"), "/")
        XCTAssertNil(RootPath.watchPoint(for: "/"))
    }

    func testOnlyAMissingPathOrADirectoryCanBeWaitedFor() throws {
        let dir = try TemporaryDirectory()
        FileManager.default.createFile(atPath: dir.path + "/file", contents: nil)
        XCTAssertNil(RootPath.unusableReason(dir.path))
        XCTAssertNil(RootPath.unusableReason(dir.path + "/missing/deeper"))
        XCTAssertEqual(RootPath.unusableReason(dir.path + "/file"), "not a directory")
        XCTAssertEqual(RootPath.unusableReason(dir.path + "/file/below"), String(cString: strerror(ENOTDIR)))
    }
}
