import Foundation
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// What one `HeldDirectories.scan` costs with many processes holding many descriptors.
/// Not a test: skipped unless TASKREAPER_BENCH_HELD_DIRS=1 (scripts/bench/held-dirs.sh sets
/// it). Sizes: HELD_DIRS_PROCESSES (200), HELD_DIRS_FDS (20 per process, counting 0–2),
/// HELD_DIRS_ROUNDS (20). Every extra descriptor is a directory, so each one costs the scan
/// a readlink and a stat (the worst case: no socket or pipe the first byte filters out),
/// and the candidate is held by nobody, so the walk never stops early.
final class HeldDirectoriesBenchmark: XCTestCase {
    private func setting(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }

    private static func monotonic(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
    }

    private func measure(_ label: String, rounds: Int, candidate: FileIdentity) {
        var wall: [Double] = []
        var cpu: [Double] = []
        var last: HeldDirectories?
        for _ in 0..<rounds {
            let (w0, c0) = (Self.monotonic(CLOCK_MONOTONIC), Self.monotonic(CLOCK_PROCESS_CPUTIME_ID))
            last = HeldDirectories.scan([candidate])
            wall.append(Self.monotonic(CLOCK_MONOTONIC) - w0)
            cpu.append(Self.monotonic(CLOCK_PROCESS_CPUTIME_ID) - c0)
        }
        wall.sort()
        cpu.sort()
        guard let scan = last else { return }
        let line = String(format: "held-dirs: %@: %d processes, %d descriptors (%d statted), %d unreadable; "
                          + "wall ms min %.2f median %.2f max %.2f; cpu ms median %.2f (%d rounds)",
                          label, scan.processesScanned, scan.descriptorsScanned, scan.descriptorsStatted,
                          scan.unreadableProcesses, wall.first!, wall[wall.count / 2], wall.last!, cpu[cpu.count / 2], rounds)
        print(line)
        XCTAssertEqual(scan.held, [])
    }

    func testScanCost() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["TASKREAPER_BENCH_HELD_DIRS"] == "1",
                          "a benchmark: scripts/bench/held-dirs.sh")
        let processCount = setting("HELD_DIRS_PROCESSES", 200)
        let fdsPerProcess = max(setting("HELD_DIRS_FDS", 20), 4)
        let rounds = max(setting("HELD_DIRS_ROUNDS", 20), 1)
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/free", withIntermediateDirectories: false)
        let candidate = try DirectoryHandle.open(root: directory.path + "/free").identity()
        measure("baseline", rounds: rounds, candidate: candidate)

        // fds 3...(n-1) each on its own directory; 0 is /dev/null, 1 and 2 are ours.
        var redirections: [String] = []
        for fd in 3..<fdsPerProcess {
            let path = directory.path + "/held-\(fd)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            redirections.append("\(fd)< \(shellQuote(path))")
        }
        let script = "exec \(redirections.joined(separator: " ")); exec sleep 600"
        var holders: [HarnessProcess] = []
        defer { holders.forEach { $0.stop() } }
        for _ in 0..<processCount {
            holders.append(try HarnessProcess(arguments: ["/bin/bash", "-c", script]))
        }
        try waitUntil("\(processCount) holders to exec sleep", timeout: 60) {
            holders.allSatisfy { (try? String(contentsOfFile: "/proc/\($0.pid)/comm", encoding: .utf8)) == "sleep\n" }
        }
        // The scan's own count is the truth: holders also inherit whatever our process left
        // without O_CLOEXEC (the test runner's pipes).
        measure("+\(processCount) processes each holding \(fdsPerProcess - 3) directories + fds 0-2", rounds: rounds, candidate: candidate)
    }
}
