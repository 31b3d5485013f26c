import TaskReaperCore
import XCTest

final class ExitMarkerTests: XCTestCase {
    /// CONTRACT §4: trimmed decimal i32 or `killed`; anything else is no marker yet.
    func testParse() {
        XCTAssertEqual(ExitMarker.parse(Array("0".utf8)), .code(0))
        XCTAssertEqual(ExitMarker.parse(Array(" 137\n".utf8)), .code(137))
        XCTAssertEqual(ExitMarker.parse(Array("-2".utf8)), .code(-2))
        XCTAssertEqual(ExitMarker.parse(Array("killed\n".utf8)), .killed)
        for invalid in ["", "  \n", "2147483648", "1.0", "Killed", "0x1", "12 3"] {
            XCTAssertNil(ExitMarker.parse(Array(invalid.utf8)), invalid)
        }
    }

    func testMarkerTable() {
        for schema: UInt32 in 2...7 {
            XCTAssertTrue(ExitMarker.code(0).outcome(schemaVersion: schema) == (.completed, 0))
            XCTAssertTrue(ExitMarker.code(9).outcome(schemaVersion: schema) == (.failed, 9))
        }
        XCTAssertTrue(ExitMarker.killed.outcome(schemaVersion: 4) == (.killed, nil))
        XCTAssertTrue(ExitMarker.killed.outcome(schemaVersion: 6) == (.killed, nil))
        XCTAssertTrue(ExitMarker.killed.outcome(schemaVersion: 7) == (.killed, 137), "terminal_exit_code_for_status")
    }
}

final class DurationTextTests: XCTestCase {
    func testParse() throws {
        XCTAssertEqual(try DurationText.parse("0"), 0)
        XCTAssertEqual(try DurationText.parse("250ms"), 250)
        XCTAssertEqual(try DurationText.parse("5s"), 5_000)
        XCTAssertEqual(try DurationText.parse("30m"), 1_800_000)
        XCTAssertEqual(try DurationText.parse("24h"), 86_400_000)
        XCTAssertEqual(try DurationText.parse("30d"), 2_592_000_000)
        for invalid in ["", "5", "1.5h", "-1s", "5 s", "1h30m", "s", "99999999999999999999d", "0s0"] {
            XCTAssertThrowsError(try DurationText.parse(invalid), invalid)
        }
    }

    func testFormat() {
        XCTAssertEqual(DurationText.format(24 * .hour), "24h")
        XCTAssertEqual(DurationText.format(72 * .hour), "3d")
        XCTAssertEqual(DurationText.format(90 * .minute), "90m")
        XCTAssertEqual(DurationText.format(1500), "1500ms")
    }
}

final class EntryNameTests: XCTestCase {
    /// CONTRACT §2: bundle members, protocol temps, and everything else by name only.
    func testClassify() {
        XCTAssertEqual(EntryName.classify("bgb-1a2b3c4d.json"), .member(taskID: "bgb-1a2b3c4d", kind: .json))
        XCTAssertEqual(EntryName.classify("bash-0123456789abcdef.ps1"), .member(taskID: "bash-0123456789abcdef", kind: .ps1))
        XCTAssertEqual(EntryName.classify("x_y.bat"), .member(taskID: "x_y", kind: .bat))
        XCTAssertEqual(EntryName.classify(".bgb-1.json.tmp.4242.bgb-1"), .protocolTemp(writerPID: 4242))
        XCTAssertEqual(EntryName.classify(".bgb-1.exit.tmp.77.kill"), .protocolTemp(writerPID: 77))
        XCTAssertEqual(EntryName.classify("bgb-1.exit.tmp.99"), .protocolTemp(writerPID: 99))
        for other in ["bgb-1.txt", "bgb 1.json", "../x.json", ".json", "bgb-1.json.bak", ".bgb-1.json.tmp.x.bgb-1",
                      "bgb-1.exit.tmp.0", "README", ".hidden"] {
            XCTAssertEqual(EntryName.classify(other), .unknown, other)
        }
    }
}
