import Foundation
@testable import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Issue 11.7: one client holding 40 silent connections locked every other client out of
/// the control socket. Now a process gets at most 4 at once, and a newcomer finding every
/// place taken replaces the client that has waited longest without a request.
final class ControlClientLimitsTests: XCTestCase {
    var directory: TemporaryDirectory!
    var server: ControlServer!
    var path: String { directory.path + "/ctl.sock" }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        server = ControlServer(listener: try UnixSocket.listen(at: directory.path + "/ctl.sock"), path: nil)
    }

    override func tearDown() {
        server = nil
        directory.remove()
    }

    /// What the server sent on a client connection within `timeout` (up to its EOF).
    private func received(_ fd: Int32, timeout: Int32 = 200) -> String {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeout) == 1 else { return "" }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
    }

    func testOneProcessGetsAtMostFourConnectionsAtOnce() throws {
        let clients = try (0..<6).map { _ in try UnixSocket.connect(to: path) }
        defer { clients.forEach { close($0) } }
        XCTAssertEqual(server.acceptPending(now: 1).count, 4)
        for fd in clients.prefix(4) { XCTAssertEqual(received(fd, timeout: 50), "", "accepted, waiting for its request") }
        for fd in clients.suffix(2) {
            XCTAssertTrue(received(fd).contains("too many connections from process \(getpid())"))
        }
        XCTAssertEqual(server.clientCount, 4)
    }

    func testANewcomerTakesThePlaceOfTheClientWaitingLongest() throws {
        // Eight other processes take all 32 places, four each, one process at a time.
        var holders: [Process] = []
        defer { holders.forEach { $0.terminate(); $0.waitUntilExit() } }
        for k in 0..<(ControlServer.maxClients / ControlServer.maxPerClient) {
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            holder.arguments = ["-c", """
                import socket, time
                s = [socket.socket(socket.AF_UNIX) for _ in range(4)]
                [c.connect("\(path)") for c in s]
                time.sleep(60)
                """]
            try holder.run()
            holders.append(holder)
            var accepted = 0
            _ = holds(within: 10) {
                accepted += server.acceptPending(now: Millis(k + 1)).count
                return accepted >= ControlServer.maxPerClient
            }
            XCTAssertEqual(accepted, ControlServer.maxPerClient)
        }
        XCTAssertEqual(server.clientCount, ControlServer.maxClients)
        let newcomer = try UnixSocket.connect(to: path)
        defer { close(newcomer) }
        XCTAssertEqual(server.acceptPending(now: 100).count, 1, "let in although every place was taken")
        XCTAssertEqual(server.clientCount, ControlServer.maxClients)
        XCTAssertEqual(received(newcomer, timeout: 50), "", "the newcomer was let in")
    }
}
