@testable import TaskReaper
import TaskReaperCore
import XCTest

/// The control protocol, without a socket: the server parses, the daemon answers.
final class ControlProtocolTests: XCTestCase {
    final class Requests: ControlRequests {
        var asked: [String] = []
        func controlStatus() -> JSONObject { asked.append("status"); return JSONObject([("sessions", .integer(3))]) }
        func controlSweep() -> JSONObject { asked.append("sweep"); return JSONObject([("bundles", .integer(7))]) }
        func controlRescan() { asked.append("rescan") }
        func controlMetrics() -> JSONObject { asked.append("metrics"); return JSONObject([("metrics", .string("m 1\n"))]) }
    }

    func testEachRequestReachesTheDaemonAndAnswersOk() {
        let server = ControlServer(listener: -1, path: nil)
        let requests = Requests()
        XCTAssertEqual(server.answer(" status\t", requests), JSONObject([("ok", .bool(true)), ("sessions", .integer(3))]))
        XCTAssertEqual(server.answer("sweep", requests), JSONObject([("ok", .bool(true)), ("bundles", .integer(7))]))
        XCTAssertEqual(server.answer("rescan\r", requests), JSONObject([("ok", .bool(true))]))
        XCTAssertEqual(server.answer("metrics", requests), JSONObject([("ok", .bool(true)), ("metrics", .string("m 1\n"))]))
        XCTAssertEqual(requests.asked, ["status", "sweep", "rescan", "metrics"])
    }

    func testAnUnknownRequestIsAnErrorAndAsksNothing() {
        let server = ControlServer(listener: -1, path: nil)
        let requests = Requests()
        let answer = server.answer("reboot now " + String(repeating: "x", count: 200), requests)
        XCTAssertEqual(answer["ok"], .bool(false))
        XCTAssertTrue(answer["error"]?.stringValue?.hasPrefix("unknown request 'reboot now xxx") ?? false)
        XCTAssertLessThanOrEqual(answer["error"]?.stringValue?.count ?? 0, 120, "the echo is cut")
        XCTAssertEqual(requests.asked, [])
    }
}
