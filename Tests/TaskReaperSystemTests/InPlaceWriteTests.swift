import Foundation
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// `io/exit` written the harness's way: through the existing inode, only when empty.
final class InPlaceWriteTests: XCTestCase {
    var directory: TemporaryDirectory!
    var io: DirectoryHandle!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        io = try DirectoryHandle.open(root: directory.path)
    }

    override func tearDown() {
        io = nil
        directory = nil
    }

    private func path(_ name: String) -> String { directory.path + "/" + name }

    private func lstatus(_ name: String) throws -> stat {
        var st = stat()
        guard lstat(path(name), &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return st
    }

    private func makeFile(_ name: String, _ contents: String = "") {
        XCTAssertTrue(FileManager.default.createFile(atPath: path(name), contents: Data(contents.utf8),
                                                     attributes: [.posixPermissions: 0o600]))
    }

    func testAnEmptyMarkerIsWrittenInPlace() throws {
        makeFile("exit")
        // A handle held like the wrapper's fd 3: it must see our bytes (same inode).
        let held = open(path("exit"), O_RDONLY)
        defer { close(held) }
        let before = try lstatus("exit")
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .written)
        let after = try lstatus("exit")
        XCTAssertEqual(after.st_ino, before.st_ino, "the same inode: no rename, no new file")
        XCTAssertEqual(after.st_nlink, 1)
        XCTAssertEqual(BundleFixture.read(path("exit")), "killed")
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(pread(held, &buffer, 16, 0), 6)
        XCTAssertEqual(Array(buffer.prefix(6)), Array("killed".utf8))
    }

    func testAWrittenMarkerIsLeftAlone() throws {
        makeFile("exit", "0")
        let before = try lstatus("exit")
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .notEmpty)
        XCTAssertEqual(BundleFixture.read(path("exit")), "0")
        XCTAssertEqual(try lstatus("exit").st_mtim.tv_nsec, before.st_mtim.tv_nsec)
    }

    func testAMissingMarkerIsAbsent() throws {
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .absent)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("exit")), "never created")
    }

    func testAFIFOIsRefusedWithoutBlocking() throws {
        XCTAssertEqual(mkfifo(path("exit"), 0o600), 0)
        // Nobody reads it: an open without O_NONBLOCK (or any write) would hang this test.
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .notRegular(.other))
    }

    func testASymbolicLinkIsNotFollowed() throws {
        makeFile("target")
        XCTAssertEqual(symlink(path("target"), path("exit")), 0)
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .notRegular(.symlink))
        XCTAssertEqual(BundleFixture.read(path("target")), "", "the link's target is untouched")
        XCTAssertEqual(symlink(path("nowhere"), path("dangling")), 0)
        XCTAssertEqual(try io.writeIntoEmptyFile("dangling", bytes: Array("killed".utf8)), .notRegular(.symlink))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nowhere")))
    }

    func testADirectoryIsRefused() throws {
        XCTAssertEqual(mkdir(path("exit"), 0o700), 0)
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .notRegular(.directory))
    }

    func testAFileWithTwoLinksIsRefused() throws {
        makeFile("exit")
        XCTAssertEqual(link(path("exit"), path("elsewhere")), 0)
        XCTAssertEqual(try io.writeIntoEmptyFile("exit", bytes: Array("killed".utf8)), .multipleLinks)
        XCTAssertEqual(BundleFixture.read(path("exit")), "")
    }

    func testANameWithASlashIsAnError() throws {
        XCTAssertEqual(mkdir(path("sub"), 0o700), 0)
        makeFile("sub/exit")
        XCTAssertThrowsError(try io.writeIntoEmptyFile("sub/exit", bytes: [0x31])) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EINVAL)
        }
        XCTAssertThrowsError(try io.createExclusively("..", bytes: [0x31]))
        XCTAssertEqual(BundleFixture.read(path("sub/exit")), "")
    }

    // MARK: createExclusively

    func testAMissingMarkerIsCreated() throws {
        let umask = Glibc.umask(0o077)
        defer { Glibc.umask(umask) }
        XCTAssertEqual(try io.createExclusively("exit", bytes: Array("killed".utf8)), .created)
        XCTAssertEqual(BundleFixture.read(path("exit")), "killed")
        let st = try lstatus("exit")
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual(st.st_nlink, 1)
    }

    func testAnExistingNameIsNeverReplaced() throws {
        makeFile("exit")
        XCTAssertEqual(try io.createExclusively("exit", bytes: Array("killed".utf8)), .exists)
        XCTAssertEqual(BundleFixture.read(path("exit")), "")
        XCTAssertEqual(symlink(path("nowhere"), path("link")), 0)
        XCTAssertEqual(try io.createExclusively("link", bytes: Array("killed".utf8)), .exists, "a dangling link is not followed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nowhere")))
    }

    func testAsRootTheMarkerGetsTheTreeOwner() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give files away")
        XCTAssertEqual(chown(directory.path, 65534, 65534), 0)
        let owner = try io.status()
        XCTAssertEqual(try io.createExclusively("exit", bytes: Array("killed".utf8), ownedLike: owner), .created)
        let st = try lstatus("exit")
        XCTAssertEqual(st.st_uid, 65534)
        XCTAssertEqual(st.st_gid, 65534)
    }
}
