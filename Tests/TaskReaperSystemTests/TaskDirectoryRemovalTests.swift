import Foundation
@testable import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Removing a directory task the harness's way (formats §5): identity check, tombstone
/// rename, io/ depth first, control/ with metadata.json last, then the directories.
final class TaskDirectoryRemovalTests: XCTestCase {
    var root: TemporaryDirectory!
    var session: DirectoryHandle!
    let taskID = "bash-0123456789abcdef"
    /// Files `makeTask` creates: 5 control, 5 io, 2 in the sandbox temp, 2 links, metadata.ps1.
    let taskFiles = 15

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: sessionPath, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/outside/dir", withIntermediateDirectories: true)
        write(root.path + "/outside/target", "keep")
        write(root.path + "/outside/dir/file", "keep")
        session = try DirectoryHandle.open(root: sessionPath)
    }

    override func tearDown() {
        session = nil
        root = nil
    }

    private var sessionPath: String { root.path + "/session" }
    private func taskPath(_ relative: String = "") -> String { sessionPath + "/" + taskID + (relative.isEmpty ? "" : "/" + relative) }

    private func write(_ path: String, _ text: String) {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), path)
    }

    private func mkdirs(_ path: String) {
        XCTAssertNoThrow(try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true))
    }

    /// A task directory as the harness leaves it, plus hostile links pointing out of the tree.
    private func makeTask() {
        mkdirs(taskPath("control"))
        mkdirs(taskPath("io/.sandbox-tmp-1-2/sub"))
        for name in ["metadata.json", "command.sh", "wrapper.sh", "environment.bin", "manifest.blake3"] {
            write(taskPath("control/" + name), name)
        }
        for name in ["stdout", "stderr", "exit", "pipeline-status", "sandbox-unavailable"] { write(taskPath("io/" + name), "") }
        write(taskPath("io/.sandbox-tmp-1-2/a"), "a")
        write(taskPath("io/.sandbox-tmp-1-2/sub/b"), "b")
        XCTAssertEqual(symlink(root.path + "/outside/target", taskPath("io/escape")), 0)
        XCTAssertEqual(symlink(root.path + "/outside/dir", taskPath("io/.sandbox-tmp-1-2/dirlink")), 0)
        write(taskPath("metadata.ps1"), "windows")
    }

    private func identity(_ path: String) throws -> FileIdentity {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private func sessionNames() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: sessionPath).sorted() }

    private func assertOutsideIntact(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(BundleFixture.read(root.path + "/outside/target"), "keep", file: file, line: line)
        XCTAssertEqual(BundleFixture.read(root.path + "/outside/dir/file"), "keep", file: file, line: line)
    }

    // MARK: The whole removal

    func testAFullTaskDirectoryIsRemovedAndNothingOutsideIt() throws {
        makeTask()
        let result = try session.removeTaskDirectory(FileName(taskID), expected: try identity(taskPath()))
        guard case .removed(let tombstone, let files) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(HarnessTempName.matches(tombstone), tombstone.escaped)
        XCTAssertEqual(files, taskFiles)
        XCTAssertEqual(try sessionNames(), [])
        assertOutsideIntact()
    }

    func testAnotherUsersPrivateTreeIsRemovedByRoot() throws {
        try XCTSkipUnless(geteuid() == 0, "root over another user's 0700 tree")
        makeTask()
        // Every directory 0700 owned by nobody, every file 0600: only root's capabilities get in.
        let enumerator = FileManager.default.enumerator(atPath: taskPath())!
        for case let relative as String in enumerator {
            XCTAssertEqual(lchown(taskPath(relative), 65534, 65534), 0)
            var st = stat()
            XCTAssertEqual(lstat(taskPath(relative), &st), 0)
            if st.st_mode & S_IFMT == S_IFDIR { XCTAssertEqual(chmod(taskPath(relative), 0o700), 0) }
            if st.st_mode & S_IFMT == S_IFREG { XCTAssertEqual(chmod(taskPath(relative), 0o600), 0) }
        }
        XCTAssertEqual(chown(taskPath(), 65534, 65534), 0)
        XCTAssertEqual(chmod(taskPath(), 0o700), 0)
        guard case .removed(_, let files) = try session.removeTaskDirectory(FileName(taskID), expected: try identity(taskPath())) else {
            return XCTFail("not removed")
        }
        XCTAssertEqual(files, taskFiles)
        XCTAssertEqual(try sessionNames(), [])
        assertOutsideIntact()
    }

    func testAnIoThatIsALinkIsUnlinkedNotFollowed() throws {
        mkdirs(taskPath("control"))
        write(taskPath("control/metadata.json"), "{}")
        XCTAssertEqual(symlink(root.path + "/outside/dir", taskPath("io")), 0)
        guard case .removed(_, let files) = try session.removeTaskDirectory(FileName(taskID), expected: try identity(taskPath())) else {
            return XCTFail("not removed")
        }
        XCTAssertEqual(files, 2, "metadata.json and the link itself")
        XCTAssertEqual(try sessionNames(), [])
        assertOutsideIntact()
    }

    // MARK: Identity

    func testADifferentDirectoryIsLeftAlone() throws {
        makeTask()
        let observed = try identity(taskPath())
        // The task was replaced by another directory of the same name since it was observed.
        XCTAssertEqual(rename(taskPath(), sessionPath + "/moved"), 0)
        mkdirs(taskPath("io"))
        write(taskPath("io/stdout"), "new")
        XCTAssertEqual(try session.removeTaskDirectory(FileName(taskID), expected: observed), .identityChanged)
        XCTAssertEqual(BundleFixture.read(taskPath("io/stdout")), "new")
        XCTAssertEqual(try sessionNames(), ["bash-0123456789abcdef", "moved"], "no tombstone, nothing renamed")
    }

    func testALinkToTheObservedDirectoryIsNotFollowed() throws {
        makeTask()
        let observed = try identity(taskPath())
        XCTAssertEqual(rename(taskPath(), sessionPath + "/real"), 0)
        XCTAssertEqual(symlink(sessionPath + "/real", taskPath()), 0)
        XCTAssertEqual(try session.removeTaskDirectory(FileName(taskID), expected: observed), .identityChanged)
        XCTAssertEqual(BundleFixture.read(sessionPath + "/real/control/metadata.json"), "metadata.json")
        XCTAssertEqual(try sessionNames(), ["bash-0123456789abcdef", "real"])
    }

    func testAMissingTaskIsAbsent() throws {
        XCTAssertEqual(try session.removeTaskDirectory(FileName(taskID), expected: FileIdentity(device: 1, inode: 1)), .absent)
        XCTAssertEqual(try session.entomb(FileName(taskID), expected: FileIdentity(device: 1, inode: 1)), .absent)
    }

    func testNamesThatAreNotOneEntryAreErrors() throws {
        makeTask()
        let sessionIdentity = try identity(sessionPath)
        for name in [".", "..", "", "\(taskID)/io"] {
            XCTAssertThrowsError(try session.removeTaskDirectory(FileName(name), expected: sessionIdentity)) { error in
                XCTAssertEqual((error as? SystemError)?.errno, EINVAL, name)
            }
        }
        XCTAssertEqual(BundleFixture.read(taskPath("control/metadata.json")), "metadata.json")
    }

    // MARK: Crashes and stale tombstones

    func testATombstoneLeftRightAfterTheRenameIsFinished() throws {
        makeTask()
        // The crash: the rename happened, nothing else.
        guard case .entombed(let tombstone) = try session.entomb(FileName(taskID), expected: try identity(taskPath())) else {
            return XCTFail("not entombed")
        }
        XCTAssertEqual(try sessionNames(), [tombstone.escaped], "the task is gone from readers at once")
        XCTAssertEqual(BundleFixture.read(sessionPath + "/\(tombstone)/control/metadata.json"), "metadata.json")
        XCTAssertEqual(try session.finishTombstone(tombstone), .finished(filesRemoved: taskFiles))
        XCTAssertEqual(try sessionNames(), [])
        assertOutsideIntact()
        XCTAssertEqual(try session.finishTombstone(tombstone), .absent, "a second pass finds nothing to do")
    }

    func testAHalfEmptiedTombstoneIsFinished() throws {
        makeTask()
        guard case .entombed(let tombstone) = try session.entomb(FileName(taskID), expected: try identity(taskPath())) else {
            return XCTFail("not entombed")
        }
        // The crash came in step 4: io/ is gone, control/ holds only the record.
        let tomb = sessionPath + "/" + tombstone.escaped
        try FileManager.default.removeItem(atPath: tomb + "/io")
        for name in ["command.sh", "wrapper.sh", "environment.bin", "manifest.blake3"] {
            try FileManager.default.removeItem(atPath: tomb + "/control/" + name)
        }
        XCTAssertEqual(try session.finishTombstone(tombstone), .finished(filesRemoved: 2), "metadata.json and metadata.ps1")
        XCTAssertEqual(try sessionNames(), [])
    }

    func testAnEmptyTombstoneIsRemoved() throws {
        let tombstone = try HarnessTempName.make()
        mkdirs(sessionPath + "/" + tombstone.escaped)
        XCTAssertEqual(try session.finishTombstone(tombstone), .finished(filesRemoved: 0))
        XCTAssertEqual(try sessionNames(), [])
    }

    func testOnlyTombstonesAreFinished() throws {
        makeTask()
        XCTAssertThrowsError(try session.finishTombstone(FileName(taskID))) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EINVAL)
        }
        XCTAssertEqual(BundleFixture.read(taskPath("control/metadata.json")), "metadata.json")
        let temp = try HarnessTempName.make()
        write(sessionPath + "/" + temp.escaped, "a harness temp file")
        XCTAssertEqual(try session.finishTombstone(temp), .notADirectory)
        XCTAssertEqual(BundleFixture.read(sessionPath + "/" + temp.escaped), "a harness temp file")
    }

    // MARK: Bounds and order

    func testATreeDeeperThanTheLimitIsReportedAndTheRecordKept() throws {
        makeTask()
        // Below control/, under a name that sorts after metadata.json: the harness's order
        // still takes it first, so the failure leaves the record in place.
        var deep = taskPath("control/zz")
        for level in 0..<TreeRemoval.depthLimit { deep += "/\(level)" }
        mkdirs(deep)
        write(deep + "/file", "deep")
        let observed = try identity(taskPath())
        XCTAssertThrowsError(try session.removeTaskDirectory(FileName(taskID), expected: observed)) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ELOOP, "\(error)")
        }
        let names = try sessionNames()
        XCTAssertEqual(names.count, 1)
        XCTAssertTrue(HarnessTempName.matches(FileName(names[0])), "the tombstone stays for a later pass")
        XCTAssertEqual(BundleFixture.read(sessionPath + "/\(names[0])/control/metadata.json"), "metadata.json")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sessionPath + "/\(names[0])/io"), [],
                       "io/ was emptied first (its rmdir comes after control/)")
        assertOutsideIntact()
    }

    func testATreeAtTheLimitIsRemoved() throws {
        makeTask()
        // io/ is at depth 1: levels 2...16 are allowed.
        var deep = taskPath("io")
        for level in 2...TreeRemoval.depthLimit { deep += "/\(level)" }
        mkdirs(deep)
        write(deep + "/file", "deep")
        guard case .removed(_, let files) = try session.removeTaskDirectory(FileName(taskID), expected: try identity(taskPath())) else {
            return XCTFail("not removed")
        }
        XCTAssertEqual(files, taskFiles + 1)
        XCTAssertEqual(try sessionNames(), [])
    }

    func testAMountInsideTheTreeIsNotEntered() throws {
        makeTask()
        let mountPoint = taskPath("io/.sandbox-tmp-1-2/mnt")
        mkdirs(mountPoint)
        guard mount("none", mountPoint, "tmpfs", 0, nil) == 0 else { throw XCTSkip("cannot mount a tmpfs here: errno \(errno)") }
        var mounted = mountPoint  // where it is now: the rename moves it with the task
        defer { umount2(mounted, Int32(MNT_DETACH)) }
        write(mountPoint + "/theirs", "keep")
        XCTAssertThrowsError(try session.removeTaskDirectory(FileName(taskID), expected: try identity(taskPath()))) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EXDEV, "\(error)")
        }
        let tombstone = try XCTUnwrap(try sessionNames().first)
        mounted = sessionPath + "/\(tombstone)/io/.sandbox-tmp-1-2/mnt"
        XCTAssertEqual(BundleFixture.read(mounted + "/theirs"), "keep")
    }

    func testMetadataIsLastInControl() {
        XCTAssertEqual(DirectoryHandle.metadataLast(["wrapper.sh", "metadata.json", "command.sh", "zz"]),
                       ["command.sh", "wrapper.sh", "zz", "metadata.json"])
        XCTAssertEqual(DirectoryHandle.metadataLast(["b", "a"]), ["a", "b"])
    }
}
