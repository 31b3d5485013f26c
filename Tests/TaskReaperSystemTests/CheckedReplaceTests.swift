import Foundation
import Synchronization
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Issue 11.2: a replace never loses a version that a writer renamed over the target, at
/// whichever exchange the writer's rename lands (the `ReplaceSteps` seam puts it there), and
/// leaves no temp behind.
final class CheckedReplaceTests: DirectoryTestCase {
    // MARK: Helpers

    /// Writes `target` in `directory` as a writer does (temp + rename).
    static func writerRenames(_ content: String, in directory: String, over target: String = "t.json") throws {
        _ = try BundleFixture.write(directory, ".writer-temp", content)
        guard rename(directory + "/.writer-temp", directory + "/" + target) == 0 else { throw POSIXError(.EIO) }
    }

    /// Writes t.json as a writer does and returns what a reader saw.
    @discardableResult
    func writerRenames(_ content: String) throws -> DirectoryHandle.ReadFile {
        try Self.writerRenames(content, in: directory.path)
        return try readFile()
    }

    /// A writer's rename in this test's directory, to run inside the seam.
    func writer(_ content: String) -> @Sendable () throws -> Void {
        let path = directory.path
        return { try Self.writerRenames(content, in: path) }
    }

    func readFile(_ name: String = "t.json") throws -> DirectoryHandle.ReadFile {
        guard case .contents(let bytes, let status) = try handle.read(FileName(name), limit: 1 << 20) else {
            throw POSIXError(.ENOENT)
        }
        return .init(status: status, bytes: bytes)
    }

    func remover() -> @Sendable () throws -> Void {
        let path = directory.path + "/t.json"
        return { guard unlink(path) == 0 else { throw POSIXError(.ENOENT) } }
    }

    func content(_ name: String = "t.json") -> String? { BundleFixture.read(directory.path + "/" + name) }

    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "t.json" }.sorted()
    }

    /// Which exchanges were made, by number.
    final class Calls: @unchecked Sendable {
        private let lock = NSLock()
        private var numbers: [Int] = []
        func append(_ n: Int) { lock.withLock { numbers.append(n) } }
        var list: [Int] { lock.withLock { numbers } }
    }

    /// The kernel's exchange, with `before[n]` run just before exchange number n.
    func steps(before: [Int: @Sendable () throws -> Void] = [:], calls: Calls? = nil) -> ReplaceSteps {
        ReplaceSteps { directory, temp, target, number in
            calls?.append(number)
            if let action = before[number] { try! action() }
            return ReplaceSteps.kernel.exchange(directory, temp, target, number)
        }
    }

    func replace(with ours: String = "ours", read: DirectoryHandle.ReadFile, steps: ReplaceSteps = .kernel) throws -> DirectoryHandle.ReplaceResult {
        try handle.replace("t.json", with: Array(ours.utf8), ifStill: read, temps: .seed(for: "t.json", tag: "t"), steps: steps)
    }

    // MARK: No writer

    func testUnchangedTargetIsReplacedWithItsModeAndNoTempLeft() throws {
        let read = try writerRenames("A")
        XCTAssertEqual(chmod(directory.path + "/t.json", 0o640), 0)
        let read640 = try readFile()
        _ = read
        let calls = Calls()
        XCTAssertEqual(try replace(read: read640, steps: steps(calls: calls)), .replaced)
        XCTAssertEqual(content(), "ours")
        XCTAssertEqual(try handle.status("t.json")?.mode, 0o640)
        XCTAssertEqual(calls.list, [1], "one exchange")
        XCTAssertEqual(try leftovers(), [])
    }

    func testAsRootTheOwnerOfTheFileReplacedIsKept() throws {
        guard geteuid() == 0 else { throw XCTSkip("chown needs root") }
        try writerRenames("A")
        XCTAssertEqual(chown(directory.path + "/t.json", 1234, 5678), 0)
        XCTAssertEqual(try replace(read: try readFile()), .replaced)
        let status = try XCTUnwrap(try handle.status("t.json"))
        XCTAssertEqual([status.owner, status.group], [1234, 5678], "a system-wide run leaves no root-owned JSON in a user's tree")
    }

    func testATargetThatIsNoLongerTheFileReadIsNotTouched() throws {
        let read = try writerRenames("A")
        try writerRenames("C")
        let calls = Calls()
        XCTAssertEqual(try replace(read: read, steps: steps(calls: calls)), .changed)
        XCTAssertEqual(content(), "C")
        XCTAssertEqual(calls.list, [], "seen before anything was written")
        XCTAssertEqual(try leftovers(), [])
    }

    // MARK: A writer in the window (each of these lost the writer's version with check-then-rename)

    func testAWriterRenameJustBeforeTheExchangeIsPutBack() throws {
        let read = try writerRenames("A")
        let result = try replace(read: read, steps: steps(before: [1: writer("C")]))
        XCTAssertEqual(result, .changed)
        XCTAssertEqual(content(), "C", "the writer's version is at the target")
        XCTAssertEqual(try leftovers(), [], "ours and A are gone, nothing else")
    }

    func testAWriterRenamingAgainWhileWePutBackKeepsItsNewest() throws {
        let read = try writerRenames("A")
        // C lands before our exchange; D while we put C back (over ours); E while we put D back.
        let result = try replace(read: read, steps: steps(before: [
            1: writer("C"),
            2: writer("D"),
            3: writer("E"),
        ]))
        XCTAssertEqual(result, .changed)
        XCTAssertEqual(content(), "E")
        XCTAssertEqual(try leftovers(), [])
    }

    func testATargetRemovedWhileWePutBackStaysRemoved() throws {
        let read = try writerRenames("A")
        let result = try replace(read: read, steps: steps(before: [
            1: writer("C"),
            2: remover(),
        ]))
        XCTAssertEqual(result, .changed)
        XCTAssertNil(content(), "removal came after C: it is the newest state")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testATargetRemovedBeforeTheExchangeIsNotRecreated() throws {
        let read = try writerRenames("A")
        let result = try replace(read: read, steps: steps(before: [1: remover()]))
        XCTAssertEqual(result, .changed)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testAnInPlaceEditBeforeTheExchangeIsPutBack() throws {
        let read = try writerRenames("A")
        let path = directory.path + "/t.json"
        let result = try replace(read: read, steps: steps(before: [1: {
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try file.write(contentsOf: Data("Z".utf8))
            try file.close()
        }]))
        XCTAssertEqual(result, .changed)
        XCTAssertEqual(content(), "Z")
        XCTAssertEqual(try leftovers(), [])
    }

    func testAWriterThatNeverStopsLeavesItsNewestAtTheTempForTheStrayRule() throws {
        let read = try writerRenames("A")
        let counter = Mutex(0)
        let path = directory.path
        let endless = ReplaceSteps { directory, temp, target, number in
            let n = counter.withLock { $0 += 1; return $0 }
            try! Self.writerRenames("W\(n)", in: path)
            return ReplaceSteps.kernel.exchange(directory, temp, target, number)
        }
        XCTAssertThrowsError(try replace(read: read, steps: endless)) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EAGAIN)
        }
        let temps = try leftovers()
        XCTAssertEqual(temps.count, 1)
        let last = counter.withLock { $0 }
        XCTAssertEqual(content(temps[0]), "W\(last)", "the newest version is kept at the temp")
        // The stray-temp rule, on a later pass, puts it back.
        XCTAssertEqual(try handle.settleStrayTemp(FileName(temps[0])), .putBack(target: "t.json"))
        XCTAssertEqual(content(), "W\(last)")
        XCTAssertEqual(try leftovers(), [])
    }

    // MARK: Without RENAME_EXCHANGE

    func testWithoutRenameExchangeTheCheckThenRenameIsUsed() throws {
        let unsupported = ReplaceSteps { _, _, _, _ in EINVAL }
        let read = try writerRenames("A")
        XCTAssertEqual(try replace(read: read, steps: unsupported), .replaced)
        XCTAssertEqual(content(), "ours")
        XCTAssertEqual(try leftovers(), [])

        let again = try readFile()
        let path = directory.path
        let changed = ReplaceSteps { _, _, _, _ in try! Self.writerRenames("C", in: path); return EINVAL }
        XCTAssertEqual(try replace(with: "ours 2", read: again, steps: changed), .changed, "the check still sees a rewrite before it")
        XCTAssertEqual(content(), "C")
        XCTAssertEqual(try leftovers(), [])
    }
}

