import Foundation
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
    /// systemd.time(7) "PARSING TIME SPANS": units added up, spaces optional, fractions,
    /// seconds without a unit, `infinity` for off; our unit is the millisecond (rounded up).
    func testParse() throws {
        let table: [(String, Threshold)] = [
            ("0", .after(0)), ("0s", .after(0)), ("00", .after(0)), ("250ms", .after(250)), ("5s", .after(5_000)),
            ("30m", .after(30 * .minute)), ("5min", .after(5 * .minute)), ("5 min", .after(5 * .minute)),
            ("5minutes", .after(5 * .minute)), ("24h", .after(24 * .hour)), ("48hr", .after(48 * .hour)),
            ("2 h", .after(2 * .hour)), ("1h 30min", .after(90 * .minute)), ("1h30m", .after(90 * .minute)),
            ("1.5h", .after(90 * .minute)), (".5s", .after(500)), ("2d12h", .after(60 * .hour)), ("30d", .after(30 * .day)),
            ("1w", .after(7 * .day)), ("2weeks", .after(14 * .day)), ("1M", .after(2_629_800_000)),
            ("1month", .after(2_629_800_000)), ("1y", .after(31_557_600_000)), ("1y 12month", .after(63_115_200_000)),
            ("300ms20s 5day", .after(432_020_300)), ("100ms", .after(100)), ("10", .after(10 * .second)),
            ("1d12", .after(1 * .day + 12 * .second)), ("500us", .after(1)), ("1500usec", .after(2)), ("1µs", .after(1)),
            ("1μs", .after(1)), ("0.0001ms", .after(0)), (" 5s ", .after(5 * .second)), ("+5s", .after(5 * .second)),
            ("infinity", .never), (" infinity ", .never), ("36500d", .after(DurationText.maximum)),
        ]
        for (text, expected) in table {
            XCTAssertEqual(try DurationText.parse(text), expected, text)
        }
        for invalid in ["", " ", "s", "5S", "5Min", "5mo", "1.", "3.sec", "1e3s", "1.5.5s", "5s,", "5s infinity", "infinite",
                        "1nsec", "5secs", "0s0x", "++1s", "h5"] {
            XCTAssertThrowsError(try DurationText.parse(invalid), invalid) { error in
                XCTAssertEqual((error as? DurationText.Invalid)?.problem, .malformed, invalid)
            }
        }
        for negative in ["-1s", "1h -5min", " -0", "- 1s"] {
            XCTAssertThrowsError(try DurationText.parse(negative), negative) { error in
                XCTAssertEqual((error as? DurationText.Invalid)?.problem, .negative, negative)
                XCTAssertTrue("\(error)".contains("cannot be negative") && "\(error)".contains("infinity"), "\(error)")
            }
        }
    }

    func testFiniteSettingsRefuseInfinityAndTheirBound() {
        XCTAssertEqual(try DurationText.parseFinite("10min", maximum: 10 * .minute), 10 * .minute)
        XCTAssertThrowsError(try DurationText.parseFinite("infinity")) { error in
            XCTAssertEqual((error as? DurationText.Invalid)?.problem, .infinityNotAllowed)
        }
        XCTAssertThrowsError(try DurationText.parseFinite("601s", maximum: 10 * .minute)) { error in
            XCTAssertEqual((error as? DurationText.Invalid)?.problem, .outOfRange(maximum: 10 * .minute))
            XCTAssertTrue("\(error)".contains("at most 10min"), "\(error)")
        }
    }

    func testUnitlessZero() {
        for zero in ["0", "00", " 0 ", "0.0"] { XCTAssertTrue(DurationText.isUnitlessZero(zero), zero) }
        for other in ["0s", "0ms", "1", "10", "infinity", ""] { XCTAssertFalse(DurationText.isUnitlessZero(other), other) }
    }

    /// The same meaning as systemd: every accepted text gives systemd-analyze's value (in
    /// whole milliseconds, rounded up) and every refused one is refused by systemd too.
    func testAgreesWithSystemdAnalyze() throws {
        let tool = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("no systemd-analyze") }
        let texts = ["5min", "1h 30min", "1h30m", "1.5h", "2d12h", "1w", "3 weeks", "1M", "2months", "1y", "1y 12month",
                     "300ms20s 5day", "100ms", "10", "1d12", "500us", "1500usec", "55s500ms", "48hr", "2 h", ".5s",
                     "12.34 .56", "1hours2minutes", "+5s", "0", "0s", "36500d", "1.0000005s",
                     "1.", "3.sec", "1.5.5s", "5S", "5mo", "5secs", "1e3s", "-1s", "1h -5min", "5s infinity", ""]
        for text in texts {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["timespan", "--", text]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = Pipe()
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let systemd: Millis? = String(decoding: data, as: UTF8.self).split(separator: "\n")
                .first { $0.contains("μs:") }
                .flatMap { UInt64($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
                .map { ($0 + 999) / 1_000 }
            let ours = try? DurationText.parse(text)
            XCTAssertEqual(ours, systemd.map(Threshold.after), "'\(text)': systemd says \(systemd.map(String.init) ?? "invalid")")
        }
    }

    func testFormat() throws {
        XCTAssertEqual(DurationText.format(24 * .hour), "24h")
        XCTAssertEqual(DurationText.format(72 * .hour), "3d")
        XCTAssertEqual(DurationText.format(90 * .minute), "90min")
        XCTAssertEqual(DurationText.format(1500), "1500ms")
        XCTAssertEqual(DurationText.format(Threshold.never), "infinity")
        for value: Millis in [0, 1, 1500, 5 * .second, 90 * .minute, 24 * .hour, 49 * .hour, 30 * .day, DurationText.maximum] {
            XCTAssertEqual(try DurationText.parse(DurationText.format(value)), .after(value), "\(value)")
        }
    }
}

final class ThresholdTests: XCTestCase {
    func testZeroIsAtOnceAndNeverIsOff() {
        XCTAssertTrue(Threshold.immediately.isReached(byAge: 0))
        XCTAssertEqual(Threshold.immediately.deadline(from: 42), 42)
        XCTAssertFalse(Threshold.never.isReached(byAge: .max))
        XCTAssertNil(Threshold.never.deadline(from: 42))
        XCTAssertEqual(Threshold.after(10).deadline(from: .max - 1), .max, "saturates")
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

    /// The in-place split of ASCII names answers as the split into Characters did, at every
    /// part count and with Int32's own parsing of the pid ("+5" is 5).
    func testPartCountsAndPidTexts() {
        XCTAssertEqual(EntryName.classify("a.exit.tmp.+5"), .protocolTemp(writerPID: 5))
        XCTAssertEqual(EntryName.classify("a.exit.tmp.2147483647"), .protocolTemp(writerPID: 2_147_483_647))
        for other in ["a.exit.tmp.2147483648", "a.exit.tmp.-5", "a.exit.tmp.", "a.exit.tmp.5.x", "a.b.c.d.e", "a..json",
                      "a.json.", "a.JSON", "a.", ".", "", "a", "a.exit.tmp", "a.exit.tmq.5", "a.exis.tmp.5", "a b.exit.tmp.5",
                      "é.json", "a.jsoné", "a.json\u{301}", "bgb-1\u{301}.json"] {
            XCTAssertEqual(EntryName.classify(other), .unknown, other)
        }
    }
}
