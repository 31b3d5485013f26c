import Foundation
import Logging
@testable import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Records reach the real journald as structured fields, read back with
/// `journalctl -o json --all TASKREAPER_TEST_NONCE=<nonce>`: the nonce makes this run's
/// entries findable among everything else in the journal.
final class JournalLogHandlerTests: XCTestCase {
    private var nonce = ""

    override func setUpWithError() throws {
        try requireJournal()
        nonce = UUID().uuidString.lowercased()
    }

    func testRecordCarriesMessagePriorityIdentifierAndMetadataFields() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler() }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger[metadataKey: "TASKREAPER_HARNESS"] = "pi"
        logger[metadataKey: "TASKREAPER_DRY_RUN"] = "1"
        logger.notice("Finalized task bgb-0000abcd: killing -> killed", metadata: [
            "MESSAGE_ID": "2d5bc4079ab44e09b066ac3b9be3eca6",
            "TASKREAPER_ACTION": "finalize",
            "TASKREAPER_TASK_ID": "bgb-0000abcd",
            "TASKREAPER_DRY_RUN": "0",  // the call's metadata wins over the handler's
            "TASKREAPER_EXIT_CODE": .stringConvertible(137),
            "TASKREAPER_LIST": ["a", "b c"],
            "TASKREAPER_MAP": ["z": "1", "a": ["x"]],
        ])

        let entry = try readBack(count: 1)[0]
        XCTAssertEqual(entry["MESSAGE"] as? String, "Finalized task bgb-0000abcd: killing -> killed")
        XCTAssertEqual(entry["PRIORITY"] as? String, "5")
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"] as? String, "taskreaper")
        XCTAssertEqual(entry["MESSAGE_ID"] as? String, "2d5bc4079ab44e09b066ac3b9be3eca6")
        XCTAssertEqual(entry["TASKREAPER_ACTION"] as? String, "finalize")
        XCTAssertEqual(entry["TASKREAPER_TASK_ID"] as? String, "bgb-0000abcd")
        XCTAssertEqual(entry["TASKREAPER_HARNESS"] as? String, "pi")
        XCTAssertEqual(entry["TASKREAPER_DRY_RUN"] as? String, "0", "one value, the call's (an array would mean two fields)")
        XCTAssertEqual(entry["TASKREAPER_EXIT_CODE"] as? String, "137")
        XCTAssertEqual(Set(entry["TASKREAPER_LIST"] as? [String] ?? []), ["a", "b c"], "an array is the field once per element")
        XCTAssertEqual(entry["TASKREAPER_MAP"] as? String, "{a: [x], z: 1}")
        XCTAssertEqual(entry["_TRANSPORT"] as? String, "journal", "sent natively, not through syslog or stdout")
    }

    /// Issue 14: one entry names every task of a batch; `journalctl FIELD=value` finds it by any.
    func testAnArrayIsOneFieldPerElementAndMatchesEach() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler() }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger.info("Removed 3 delivered bundles", metadata: ["TASKREAPER_TASK_ID": ["bgb-1\(nonce.prefix(8))", "bgb-2", "bgb-3"]])
        let entry = try readBack(count: 1)[0]
        // journald keeps every value of a field, not their order.
        XCTAssertEqual(Set(entry["TASKREAPER_TASK_ID"] as? [String] ?? []), ["bgb-1\(nonce.prefix(8))", "bgb-2", "bgb-3"])
        let found = try Journal.entries(matching: ["TASKREAPER_TASK_ID=bgb-1\(nonce.prefix(8))"])
        XCTAssertEqual(found.count, 1)
    }

    func testEveryLevelMapsToItsSyslogPriority() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler(logLevel: .trace) }
        logger.logLevel = .trace
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        for level in Logger.Level.allCases {
            logger.log(level: level, "level \(level.rawValue)", metadata: ["TASKREAPER_TEST_LEVEL": "\(level.rawValue)"])
        }
        let entries = try readBack(count: Logger.Level.allCases.count)
        let priorities = Dictionary(entries.map { ($0["TASKREAPER_TEST_LEVEL"] as? String ?? "?", $0["PRIORITY"] as? String ?? "?") }) { $1 }
        XCTAssertEqual(priorities, ["trace": "7", "debug": "7", "info": "6", "notice": "5", "warning": "4", "error": "3", "critical": "2"])
    }

    func testLevelBelowTheHandlersIsNotSent() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler(logLevel: .info) }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger.debug("not sent")
        logger.info("sent")
        let entries = try readBack(count: 1)
        XCTAssertEqual(entries.map { $0["MESSAGE"] as? String }, ["sent"])
    }

    func testIdentifierIsConfigurable() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler(identifier: "taskreaper-test") }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger.info("hello")
        XCTAssertEqual(try readBack(count: 1)[0]["SYSLOG_IDENTIFIER"] as? String, "taskreaper-test")
    }

    func testValuesWithNewlinesAndControlBytesRoundTrip() throws {
        let value = "ses_journal\nwith newline\tand tab, \"quotes\", é"
        let message = "first line\nsecond line"
        var logger = Logger(label: "test") { _ in JournalLogHandler() }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger.info("\(message)", metadata: ["TASKREAPER_SESSION_ID": "\(value)", "TASKREAPER_EMPTY": ""])
        let entry = try readBack(count: 1)[0]
        XCTAssertEqual(text(entry["TASKREAPER_SESSION_ID"]), value)
        XCTAssertEqual(text(entry["MESSAGE"]), message)
        XCTAssertEqual(text(entry["TASKREAPER_EMPTY"]), "")
    }

    func testOddKeysAreSanitizedIntoValidFieldNames() throws {
        var logger = Logger(label: "test") { _ in JournalLogHandler() }
        logger[metadataKey: "TASKREAPER_TEST_NONCE"] = "\(nonce)"
        logger.info("odd keys", metadata: [
            "taskreaper.test-key": "lower",
            "_PID": "not trusted",
            "9lives": "digit",
            "---": "nothing left",
            "MESSAGE": "spoofed",
            "priority": "0",
            String(repeating: "K", count: 70): "long",
        ])
        let entry = try readBack(count: 1)[0]
        XCTAssertEqual(entry["TASKREAPER_TEST_KEY"] as? String, "lower")
        XCTAssertEqual(entry["PID"] as? String, "not trusted")
        XCTAssertNotEqual(entry["_PID"] as? String, "not trusted", "journald's own _PID stays")
        XCTAssertEqual(entry["LIVES"] as? String, "digit")
        XCTAssertEqual(entry["MESSAGE"] as? String, "odd keys", "a metadata MESSAGE does not make it a list")
        XCTAssertEqual(entry["PRIORITY"] as? String, "6")
        XCTAssertEqual(entry[String(repeating: "K", count: 64)] as? String, "long")
    }

    // MARK: - field names and values, without journald

    func testFieldNameRules() {
        XCTAssertEqual(JournalLogHandler.fieldName("TASKREAPER_ACTION"), "TASKREAPER_ACTION")
        XCTAssertEqual(JournalLogHandler.fieldName("taskreaper.test-key"), "TASKREAPER_TEST_KEY")
        XCTAssertEqual(JournalLogHandler.fieldName("__9_x1"), "X1", "leading _ and digits, interleaved")
        XCTAssertEqual(JournalLogHandler.fieldName("-a"), "A", "a mapped leading _ is stripped too")
        XCTAssertEqual(JournalLogHandler.fieldName("clé"), "CL__", "each byte of é becomes _")
        XCTAssertEqual(JournalLogHandler.fieldName(String(repeating: "a", count: 100)), String(repeating: "A", count: 64))
        XCTAssertEqual(JournalLogHandler.fieldName("_" + String(repeating: "a", count: 64) + "b"), String(repeating: "A", count: 64))
        XCTAssertNil(JournalLogHandler.fieldName(""))
        XCTAssertNil(JournalLogHandler.fieldName("___"))
        XCTAssertNil(JournalLogHandler.fieldName("123"))
        XCTAssertNil(JournalLogHandler.fieldName("ключ"))
    }

    func testRendering() {
        XCTAssertEqual(JournalLogHandler.render("plain"), "plain")
        XCTAssertEqual(JournalLogHandler.render(.stringConvertible(-5)), "-5")
        XCTAssertEqual(JournalLogHandler.render(["a", .stringConvertible(1), []]), "[a, 1, []]")
        XCTAssertEqual(JournalLogHandler.render(["b": "2", "a": ["c": "3"]]), "{a: {c: 3}, b: 2}")
    }

    // MARK: - helpers

    /// Exactly `count` entries carrying this test's nonce, polled for with a deadline
    /// (journald stores an entry when it receives it, but reading races the write).
    private func readBack(count: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        var entries: [[String: Any]] = []
        try waitUntil("\(count) journal entries with TASKREAPER_TEST_NONCE=\(nonce)") {
            entries = try Journal.entries(matching: ["TASKREAPER_TEST_NONCE=\(nonce)"])
            return entries.count >= count
        }
        XCTAssertEqual(entries.count, count, "entries with this nonce", file: file, line: line)
        return entries
    }

    /// journalctl -o json shows a value with control characters (or invalid UTF-8) as an
    /// array of byte values instead of a string.
    private func text(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        guard let bytes = value as? [Int] else { return nil }
        return String(decoding: bytes.map { UInt8($0) }, as: UTF8.self)
    }
}

/// Without journald: the stderr backend's line format, and how `--log-target` picks a
/// backend. (Named Journal* so that `--filter TaskReaperSystemTests.Journal` runs it.)
final class JournalFallbackTests: XCTestCase {
    // MARK: - StderrLogHandler

    func testStderrLineHasLevelMessageAndSortedTaskReaperFields() throws {
        let output = try capture(level: .info) { logger in
            logger[metadataKey: "TASKREAPER_HARNESS"] = "pi"
            logger.notice("Finalized task bgb-0000abcd", metadata: [
                "MESSAGE_ID": "2d5bc4079ab44e09b066ac3b9be3eca6",
                "OTHER": "not shown",
                "TASKREAPER_TASK_ID": "bgb-0000abcd",
                "TASKREAPER_ACTION": "finalize",
                "TASKREAPER_REASON": "killed while owner was gone",
                "TASKREAPER_QUOTE": "say \"hi\"",
                "TASKREAPER_EMPTY": "",
                "TASKREAPER_CODE": .stringConvertible(0),
            ])
        }
        XCTAssertEqual(output, "taskreaper: notice: Finalized task bgb-0000abcd"
            + " TASKREAPER_ACTION=finalize TASKREAPER_CODE=0 TASKREAPER_EMPTY=\"\" TASKREAPER_HARNESS=pi"
            + " TASKREAPER_QUOTE=\"say \\\"hi\\\"\" TASKREAPER_REASON=\"killed while owner was gone\""
            + " TASKREAPER_TASK_ID=bgb-0000abcd\n")
    }

    func testStderrRecordIsOneLineWhateverItHolds() throws {
        let output = try capture(level: .info) { logger in
            logger.warning("two\nlines", metadata: ["TASKREAPER_PATH": "/tmp/a b\nc\\d=e\u{1}"])
        }
        XCTAssertEqual(output, "taskreaper: warning: two\\nlines TASKREAPER_PATH=\"/tmp/a b\\nc\\\\d=e\\x01\"\n")
    }

    func testStderrHandlerLevelFilters() throws {
        let output = try capture(level: .warning) { logger in
            logger.info("quiet")
            logger.notice("quiet too")
            logger.warning("shown")
            logger.error("shown too")
        }
        XCTAssertEqual(output, "taskreaper: warning: shown\ntaskreaper: error: shown too\n")
    }

    func testStderrLinesFromManyThreadsNeverInterleave() throws {
        let threads = 8, perThread = 50
        let output = try capture(level: .info) { logger in
            let shared = logger
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for i in 0..<perThread {
                    shared.info("thread \(thread) line \(i)", metadata: ["TASKREAPER_PAD": "\(String(repeating: "x", count: 40))"])
                }
            }
        }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, threads * perThread)
        let pattern = try NSRegularExpression(pattern: "^taskreaper: info: thread [0-9]+ line [0-9]+ TASKREAPER_PAD=x{40}$")
        for line in lines {
            let text = String(line)
            XCTAssertNotNil(pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), text)
        }
    }

    // MARK: - LogTarget

    func testAutoIsJournalOnlyWhenTheSocketExists() throws {
        let dir = try TemporaryDirectory()
        let socketPath = dir.path + "/socket"
        let filePath = dir.path + "/file"
        try bindUnixSocket(socketPath)
        XCTAssertTrue(FileManager.default.createFile(atPath: filePath, contents: Data()))

        XCTAssertEqual(LogTarget.auto.resolved(journalSocketPath: socketPath), .journal)
        XCTAssertEqual(LogTarget.auto.resolved(journalSocketPath: filePath), .stderr, "a plain file is not a journal")
        XCTAssertEqual(LogTarget.auto.resolved(journalSocketPath: dir.path + "/missing"), .stderr)
        XCTAssertEqual(LogTarget.journal.resolved(journalSocketPath: dir.path + "/missing"), .journal, "explicit journal stays")
        XCTAssertEqual(LogTarget.stderr.resolved(journalSocketPath: socketPath), .stderr)
        XCTAssertEqual(LogTarget.journalSocketPath, "/run/systemd/journal/socket")
    }

    func testHandlerPerTarget() throws {
        let dir = try TemporaryDirectory()
        let socketPath = dir.path + "/socket"
        try bindUnixSocket(socketPath)
        let missing = dir.path + "/missing"

        let cronQuiet = try XCTUnwrap(LogTarget.auto.makeHandler(journalSocketPath: missing) as? StderrLogHandler)
        XCTAssertEqual(cronQuiet.logLevel, .warning, "auto without journal: only warnings and errors")
        XCTAssertEqual(cronQuiet.fd, STDERR_FILENO)
        let verbose = try XCTUnwrap(LogTarget.stderr.makeHandler(journalSocketPath: socketPath) as? StderrLogHandler)
        XCTAssertEqual(verbose.logLevel, .info, "explicit stderr: every action")
        for target in [LogTarget.journal, .auto] {
            let journal = try XCTUnwrap(target.makeHandler(journalSocketPath: socketPath) as? MultiplexLogHandler, "\(target)")
            XCTAssertEqual(journal.logLevel, .info)
        }
        XCTAssertTrue(LogTarget.journal.makeHandler(journalSocketPath: missing) is MultiplexLogHandler)

        // Loggers are built without LoggingSystem.bootstrap: several, each with its own backend.
        XCTAssertEqual(LogTarget.auto.makeLogger(label: "a", journalSocketPath: missing).logLevel, .warning)
        XCTAssertEqual(LogTarget.stderr.makeLogger(label: "b").logLevel, .info)
    }

    // MARK: - helpers

    /// Everything the body logs through a StderrLogHandler writing to a pipe.
    private func capture(level: Logger.Level, _ body: (inout Logger) -> Void) throws -> String {
        let pipe = Pipe()
        let handler = StderrLogHandler(logLevel: level, fd: pipe.fileHandleForWriting.fileDescriptor)
        var logger = Logger(label: "test") { _ in handler }
        // Drained concurrently: a pipe holds 64 KiB, and a full one would block the writers.
        let drain = PipeDrain(pipe.fileHandleForReading)
        body(&logger)
        try pipe.fileHandleForWriting.close()
        return String(decoding: drain.wait(), as: UTF8.self)
    }

    private func bindUnixSocket(_ path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }  // the socket file stays after close, which is all the tests need
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
            raw[min(path.utf8.count, raw.count - 1)] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}

/// journald runs in CI (scripts/start-journald.sh starts it): there a missing socket fails
/// the test; elsewhere it skips it, saying how to get a journald.
private func requireJournal() throws {
    guard !Journal.isAvailable else { return }
    if Journal.isRequired { throw JournalMissing() }
    throw XCTSkip("no journald socket at \(Journal.socketPath); run scripts/start-journald.sh (as root)")
}

private struct JournalMissing: Error, CustomStringConvertible {
    var description: String { "journald is not running (no \(Journal.socketPath)): CI must run scripts/start-journald.sh before the tests" }
}
