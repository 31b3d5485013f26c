import Foundation
import TaskReaperTestSupport
import XCTest

/// Short runs of the fault drivers in `scripts/fault/` (issue 11) against the built binary;
/// the long runs are the same commands with bigger numbers, their counts in bench-results/.
/// Drivers that mount file systems, lower sysctls or use fanotify need root and skip without.
final class FaultSuiteTests: XCTestCase {
    private func expectSuccess(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let output = try FaultScript.run(script, arguments)
        XCTAssertEqual(output.status, 0, "\(script) \(arguments.joined(separator: " ")):\n\(output.stdoutText.suffix(4000))",
                       file: file, line: line)
    }

    func testSIGKILLDuringSweepAndWatchWithAndWithoutADatabaseConverges() throws {
        try expectSuccess("crash-kill.py", ["--iterations", "4", "--bundles", "60", "--kills", "2"])
    }

    func testAnAtomicRenameWriterLosesNoUpdate() throws {
        try expectSuccess("concurrent-writer.py", ["--seconds", "3", "--tasks", "20", "--sessions", "4"])
    }

    func testFullAndReadOnlyFileSystemsUnderSweep() throws {
        try expectSuccess("fs-faults.py", ["all", "--phases", "sweep", "--tasks", "10"])
    }

    func testWatchRecoversByItselfWhenAReadOnlyFileSystemIsRemountedReadWrite() throws {
        // Waits one failure-retry interval (30 s): no event says the file system came back.
        try expectSuccess("fs-faults.py", ["readonly", "--phases", "watch", "--tasks", "10"])
    }

    func testAnInotifyQueueOverflowLeadsToARescanThatMissesNothing() throws {
        try expectSuccess("inotify-overflow.py", ["--rounds", "2", "--tasks", "100"])
    }

    func testHostileControlSocketClientsGetErrorsAndLockNobodyOut() throws {
        try expectSuccess("ctl-abuse.py", ["--rounds", "3"])
    }

    func testRandomHostileInputsNeitherCrashNorEscape() throws {
        try expectSuccess("fuzz.py", ["--iterations", "15", "--bundles", "20", "--seed", "11"])
    }
}
