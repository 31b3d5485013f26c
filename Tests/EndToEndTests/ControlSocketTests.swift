import Foundation
import TaskReaperTestSupport
import XCTest

/// `taskreaper ctl` against a `watch` started by systemd-socket-activate, exactly as
/// systemd passes a listening socket (LISTEN_FDS).
final class ControlSocketTests: XCTestCase {
    var root: TemporaryDirectory!
    /// The socket and the daemon's log: beside the root, never in it.
    var scratch: TemporaryDirectory!
    var socketPath: String!
    var daemon: HarnessProcess?

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
        scratch = try TemporaryDirectory("taskreaper-ctl")
        chmod(scratch.path, 0o711)  // another user may reach the socket: the daemon is what refuses
        socketPath = scratch.path + "/ctl.sock"
        daemon = try HarnessProcess(arguments: ["/usr/bin/systemd-socket-activate", "-l", socketPath,
                                                TaskReaperBinary.url.path, "watch", "--root", root.path, "--log-target", "stderr"],
                                    environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin"]), output: scratch.path + "/daemon.log")
        poll("the activation socket") { BundleFixture.exists(socketPath) }
    }

    override func tearDown() {
        daemon?.stop()
        scratch.remove()
    }

    private func ctl(_ request: String) throws -> (status: Int32, answer: [String: Any]) {
        let run = try TaskReaperBinary.run(["ctl", "--socket", socketPath, request])
        let answer = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        return (run.status, answer)
    }

    /// A client connected to the daemon's socket (the caller closes it).
    private func connectClient() -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(connected, 0)
        return fd
    }

    /// A raw client: sends `bytes`, returns what came back before the daemon closed.
    private func raw(_ bytes: [UInt8]) throws -> String {
        let fd = connectClient()
        defer { close(fd) }
        return exchange(fd, bytes)
    }

    /// Sends `bytes` on a connected client, returns the first answer (empty on EOF or after 10 s).
    private func exchange(_ fd: Int32, _ bytes: [UInt8]) -> String {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var answer = [UInt8](repeating: 0, count: 4096)
        let n = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        return n > 0 ? String(decoding: answer[..<n], as: UTF8.self) : ""
    }

    func testStatusAndSweepThroughTheActivatedSocket() throws {
        let status = try ctl("status")
        XCTAssertEqual(status.status, 0)
        XCTAssertEqual(status.answer["ok"] as? Bool, true)
        XCTAssertEqual(status.answer["roots"] as? [String], [root.path])
        XCTAssertNotNil(status.answer["inotify_watches"] as? Int)
        XCTAssertNotNil(status.answer["pending_deadlines"] as? Int)

        // A delivered bundle appears; a sweep over the socket removes it and says so.
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "pi")
        try BundleFixture.write(dir, "bgb-00000001.json", BundleFixture.schema4(
            taskID: "bgb-00000001", status: "completed", startedAt: 1, completionDelivered: true, exitCode: 0),
            ageMs: 2 * BundleFixture.hour)
        let sweep = try ctl("sweep")
        XCTAssertEqual(sweep.status, 0)
        XCTAssertFalse(BundleFixture.exists(dir + "/bgb-00000001.json"))
        // The event may have removed it already; the sweep then reports nothing left to do.
        let removed = (sweep.answer["counts"] as? [String: Any])?["remove_bundle"] as? Int
        XCTAssertNotNil(removed)
        XCTAssertEqual(try ctl("rescan").status, 0)
    }

    func testGarbageOversizedAndStalledClientsNeverDisturbTheDaemon() throws {
        XCTAssertEqual(try ctl("status").status, 0)  // the daemon is up (activated on first use)
        // A client that connects and says nothing: the daemon must keep serving others.
        let stalled = connectClient()
        defer { close(stalled) }
        XCTAssertEqual(try ctl("status").status, 0)
        // Answered while the stalled client was still waiting: the daemon has not closed it
        // (which a daemon blocked on it would have done first, at its client timeout)...
        var byte: UInt8 = 0
        let peeked = recv(stalled, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        let peekErrno = errno
        XCTAssertEqual(peeked, -1, "the stalled client was not closed before another was served")
        XCTAssertEqual(peekErrno, EAGAIN)
        // ...and it is served in its turn once it speaks.
        XCTAssertTrue(exchange(stalled, Array("status\n".utf8)).contains("\"ok\":true"), "the stalled client is still served")

        XCTAssertTrue(try raw(Array(repeating: UInt8(ascii: "x"), count: 5000)).contains("request longer than 1024 bytes"))
        XCTAssertTrue(try raw(Array("bogus\n".utf8)).contains("unknown request 'bogus'"))
        XCTAssertTrue(try raw([0xff, 0x00, 0xfe, 0x0a]).contains("\"ok\":false"))
        let unknown = try TaskReaperBinary.run(["ctl", "--socket", socketPath, "reboot"])
        XCTAssertEqual(unknown.status, 2, "not a request ctl knows: usage error")
        XCTAssertEqual(try ctl("status").answer["ok"] as? Bool, true, "still serving")
    }

    func testOnlyTheSameUserOrRootMayAsk() throws {
        XCTAssertEqual(try ctl("status").status, 0)
        // The activated socket is world-connectable; SO_PEERCRED is what refuses.
        chmod(socketPath, 0o777)
        let other = try HarnessProcess(arguments: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                                   TaskReaperBinary.url.path, "ctl", "--socket", socketPath, "status"],
                                       environment: TaskReaperBinary.isolated(["PATH=/usr/bin:/bin"]), output: scratch.path + "/other.out")
        XCTAssertEqual(other.waitForExitStatus(timeout: 10), 1)
        XCTAssertTrue((BundleFixture.read(scratch.path + "/other.out") ?? "").contains("permission denied"))
    }

    func testNoDaemonExits69() throws {
        let run = try TaskReaperBinary.run(["ctl", "--socket", root.path + "/absent.sock", "status"])
        XCTAssertEqual(run.status, 69)
        XCTAssertTrue(run.stderr.contains("absent.sock"))
    }
}
