import Foundation
import TaskReaperTestSupport
import XCTest

/// The helper every test runs programs with: a child that fills one pipe while we would be
/// reading the other must not block (a pipe holds 64 KiB).
final class SubprocessTests: XCTestCase {
    func testBothPipesAreDrainedWhateverTheChildWritesFirst() throws {
        // 1 MiB to stderr before a word to stdout, then 1 MiB to stdout before a word to stderr.
        let output = try Subprocess.run("/bin/sh", ["-c", "head -c 1048576 /dev/zero >&2; echo out; head -c 1048576 /dev/zero; echo err >&2"])
        XCTAssertEqual(output.status, 0)
        XCTAssertEqual(output.stdout.count, 4 + 1_048_576)
        XCTAssertEqual(output.stderr.count, 1_048_576 + 4)
        XCTAssertEqual(output.stdout.prefix(4), Data("out\n".utf8))
        XCTAssertEqual(output.stderr.suffix(4), Data("err\n".utf8))
    }

    func testMergedOutputKeepsTheOrderWritten() throws {
        let output = try Subprocess.run("/bin/sh", ["-c", "echo one; echo two >&2; echo three; exit 3"], mergeOutput: true)
        XCTAssertEqual(output.status, 3)
        XCTAssertEqual(output.stdoutText, "one\ntwo\nthree\n")
        XCTAssertEqual(output.stderr, Data())
    }
}
