import Foundation
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// FileStatus through DirectoryHandle: the times a writer can set (mtime) and the ones it
/// cannot (birth, ctime), and file times no millisecond clock can hold.
final class FileStatusTests: XCTestCase {
    func testAnOldMtimeDoesNotMakeAFileOlderThanItsCreation() throws {
        let directory = try TemporaryDirectory()
        let before = WallClock.now()
        let path = try BundleFixture.write(directory.path, "f", "x", ageMs: 2 * BundleFixture.hour)
        let after = WallClock.now()
        let handle = try DirectoryHandle.open(root: directory.path)
        let status = try XCTUnwrap(try handle.status("f"))
        XCTAssertLessThan(status.modified, before - BundleFixture.hour, "the mtime is what the writer set")
        // Birth and ctime are the kernel's (its clock is coarser than ours by a tick).
        XCTAssertGreaterThanOrEqual(status.existedBy, before - .second)
        XCTAssertLessThanOrEqual(status.existedBy, after + .second)
        XCTAssertGreaterThanOrEqual(status.changed, before - .second, "setting the mtime moved the ctime to now")
        if let born = status.born { XCTAssertEqual(status.existedBy, born) } else { XCTAssertEqual(status.existedBy, status.changed) }
        // The status of an opened file says the same.
        guard case .contents(_, let read) = try handle.read("f", limit: 16) else { return XCTFail("not read") }
        XCTAssertEqual(read, status)
        _ = path
    }

    func testFileTimesBeyondTheMillisecondRangeClamp() throws {
        let directory = try TemporaryDirectory.onTmpfs()
        let handle = try DirectoryHandle.open(root: directory.path)
        try BundleFixture.setModified(try BundleFixture.write(directory.path, "future", "x"), unixSeconds: Int.max)
        try BundleFixture.setModified(try BundleFixture.write(directory.path, "past", "x"), unixSeconds: -(1 << 62))
        try BundleFixture.setModified(try BundleFixture.write(directory.path, "edge", "x"), unixSeconds: 18_446_744_073_709_552)
        XCTAssertEqual(try handle.status("future")?.modified, .max)
        XCTAssertEqual(try handle.status("edge")?.modified, .max)
        XCTAssertEqual(try handle.status("past")?.modified, 0)
        guard case .contents(_, let read) = try handle.read("future", limit: 16) else { return XCTFail("not read") }
        XCTAssertEqual(read.modified, .max)
    }
}
