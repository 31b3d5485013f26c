import Foundation
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// CONTRACT §7.7 with real processes: a directory a live process holds as its cwd or as an
/// open descriptor is held; one nobody (but us) holds is not.
final class HeldDirectoriesTests: XCTestCase {
    var directory: TemporaryDirectory!
    var processes: [HarnessProcess] = []

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        for name in ["cwd", "fd", "free", "ours"] {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: false)
        }
    }

    override func tearDown() {
        processes.forEach { $0.stop() }
        processes = []
        directory = nil
    }

    private func path(_ name: String) -> String { directory.path + "/" + name }

    private func identity(_ name: String) throws -> FileIdentity { try DirectoryHandle.open(root: path(name)).identity() }

    private func link(_ pid: pid_t, _ name: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/\(name)")
    }

    /// A process whose `sleep` is running with what the shell set up before `exec`.
    private func spawnHolder(_ setup: String) throws -> HarnessProcess {
        let process = try HarnessProcess(arguments: ["/bin/sh", "-c", "\(setup); exec sleep 60"])
        processes.append(process)
        try waitUntil("the holder to exec sleep") {
            (try? String(contentsOfFile: "/proc/\(process.pid)/comm", encoding: .utf8)) == "sleep\n"
        }
        return process
    }

    func testAWorkingDirectoryIsHeld() throws {
        let process = try spawnHolder("cd \(shellQuote(path("cwd")))")
        XCTAssertEqual(link(process.pid, "cwd"), path("cwd"))
        let scan = HeldDirectories.scan([try identity("cwd"), try identity("free")])
        XCTAssertEqual(scan.held, [try identity("cwd")])
        XCTAssertEqual(scan.answer(for: try identity("cwd")), .held)
        XCTAssertNotEqual(scan.answer(for: try identity("free")), .held)
    }

    func testAnOpenDirectoryDescriptorIsHeld() throws {
        let process = try spawnHolder("exec 3< \(shellQuote(path("fd")))")
        XCTAssertEqual(link(process.pid, "fd/3"), path("fd"))
        let scan = HeldDirectories.scan([try identity("fd"), try identity("free")])
        XCTAssertEqual(scan.held, [try identity("fd")])
        XCTAssertGreaterThan(scan.descriptorsScanned, 0)
        XCTAssertLessThanOrEqual(scan.descriptorsStatted, scan.descriptorsScanned, "sockets, pipes... are never statted")
    }

    func testADirectoryNobodyHoldsIsNotHeld() throws {
        let scan = HeldDirectories.scan([try identity("free")])
        XCTAssertEqual(scan.held, [])
        XCTAssertGreaterThan(scan.processesScanned, 0)
        // A definite no needs every process read. Even root may be denied some (a container's
        // init with capabilities we lack): then, and only then, the answer is unknown.
        XCTAssertEqual(scan.answer(for: try identity("free")), scan.isComplete ? .notHeld : .unknown)
        XCTAssertEqual(scan.unreadableSample.count, min(scan.unreadableProcesses, 16))
        for pid in scan.unreadableSample {
            XCTAssertTrue(deniesUs(pid), "pid \(pid) reported unreadable but is readable")
        }
    }

    /// Whether /proc refuses us one of the links the scan follows for `pid`.
    private func deniesUs(_ pid: pid_t) -> Bool {
        var st = stat()
        for link in ["cwd", "root"] where stat("/proc/\(pid)/\(link)", &st) != 0 && errno == EACCES { return true }
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return true }
        return fds.contains { stat("/proc/\(pid)/fd/\($0)", &st) != 0 && errno == EACCES }
    }

    func testOurOwnHandleIsNotCounted() throws {
        let ours = try DirectoryHandle.open(root: path("ours"))
        XCTAssertEqual(chdir(path("ours")), 0, "held as our cwd too")
        defer { _ = chdir("/") }
        let scan = HeldDirectories.scan([try ours.identity()])
        XCTAssertEqual(scan.held, [])
        XCTAssertNotEqual(scan.answer(for: try ours.identity()), .held)
    }

    func testNoCandidateReadsNothing() {
        let scan = HeldDirectories.scan([])
        XCTAssertEqual(scan.processesScanned, 0)
        XCTAssertEqual(scan.descriptorsScanned, 0)
        XCTAssertTrue(scan.isComplete)
    }

    func testAnUnreadableProcessMakesTheAnswerUnknown() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to drop to another user and back")
        _ = try spawnHolder("exec 3< \(shellQuote(path("fd")))")
        let held = try identity("fd"), free = try identity("free")
        // A user who may read neither root's processes nor the holder's descriptors. seteuid
        // keeps the saved uid 0, so root comes back right after.
        XCTAssertEqual(seteuid(65533), 0)
        let scan = HeldDirectories.scan([held, free])
        XCTAssertEqual(seteuid(0), 0)
        XCTAssertFalse(scan.held.contains(held), "the holder could not be read")
        XCTAssertGreaterThan(scan.unreadableProcesses, 0)
        XCTAssertFalse(scan.isComplete)
        XCTAssertEqual(scan.answer(for: held), .unknown)
        XCTAssertEqual(scan.answer(for: free), .unknown)
    }

    func testAMissingProcIsNotAnswered() throws {
        let scan = HeldDirectories.scan([try identity("free")], proc: path("no-proc"))
        XCTAssertTrue(scan.procUnreadable)
        XCTAssertEqual(scan.answer(for: try identity("free")), .unknown)
    }
}
