import Foundation
import TaskReaperTestSupport
import XCTest

/// Duration flags as an operator types them (issue 13.3): systemd's time spans, `0` at once
/// and `infinity` off for every rule, and usage errors that name the flag and the forms.
final class DurationFlagTests: XCTestCase {
    var root: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    private func bundle(_ id: String, delivered: Bool, ageMs: UInt64) throws -> String {
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        try BundleFixture.write(dir, "\(id).json", BundleFixture.schema4(
            taskID: id, sessionID: "ses_e2e", status: "completed", startedAt: 1, completionDelivered: delivered, exitCode: 0),
            ageMs: ageMs)
        return dir + "/\(id).json"
    }

    func testSystemdSpansAreAccepted() throws {
        let young = try bundle("bgb-00000001", delivered: true, ageMs: 80 * 60_000)   // 80 min
        let old = try bundle("bgb-00000002", delivered: true, ageMs: 100 * 60_000)    // 100 min
        let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--json", "--log-target", "stderr",
                                            "--retention", "1h 30min", "--spawn-grace", "5min", "--stale-after", "1w",
                                            "--abandoned-after", "2d12h", "--finalize-grace", "100ms", "--db-busy-timeout", "1.5s"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(BundleFixture.exists(young), "80 min < 1h 30min")
        XCTAssertFalse(BundleFixture.exists(old), "100 min > 1h 30min")
    }

    func testZeroIsAtOnceAndInfinityIsOffForRetention() throws {
        let delivered = try bundle("bgb-00000001", delivered: true, ageMs: 0)
        let kept = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr", "--retention", "infinity"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertTrue(BundleFixture.exists(delivered))
        let removed = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr", "--retention", "0"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertFalse(BundleFixture.exists(delivered))
    }

    /// `--abandoned-after 0` and `--stale-after 0` used to switch their rule off. A unit
    /// file written then must not start removing every undelivered bundle after an upgrade.
    func testABareZeroThatUsedToMeanOffIsRefusedWithTheNewSpellings() throws {
        let undelivered = try bundle("bgb-00000001", delivered: false, ageMs: 0)
        for flag in ["--abandoned-after", "--stale-after"] {
            for command in ["sweep", "watch", "list"] {
                let run = try TaskReaperBinary.run([command, "--root", root.path, flag, "0"])
                XCTAssertEqual(run.status, 2, "\(command) \(flag) 0: \(run.stderr)")
                XCTAssertTrue(run.stderr.contains("'\(flag) <DUR>'") && run.stderr.contains("infinity") && run.stderr.contains("0s"),
                              run.stderr)
            }
        }
        XCTAssertTrue(BundleFixture.exists(undelivered))
        let off = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr", "--abandoned-after", "infinity"])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(BundleFixture.exists(undelivered))
        let atOnce = try TaskReaperBinary.run(["sweep", "--root", root.path, "--log-target", "stderr", "--abandoned-after", "0s"])
        XCTAssertEqual(atOnce.status, 0, atOnce.stderr)
        XCTAssertFalse(BundleFixture.exists(undelivered))
    }

    func testNegativeMalformedAndOutOfRangeValuesNameTheFlagAndTheForms() throws {
        let cases: [(flag: String, value: String, says: String)] = [
            ("--retention", "-1s", "cannot be negative"),
            ("--spawn-grace", "-5min", "cannot be negative"),
            ("--finalize-grace", "5 mins", "invalid duration"),
            ("--stale-after", "1e3s", "invalid duration"),
            ("--retention", "101y", "out of range"),
            ("--db-busy-timeout", "11min", "at most 10min"),
            ("--db-busy-timeout", "infinity", "cannot be infinity"),
        ]
        for (flag, value, says) in cases {
            let run = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", flag, value])
            XCTAssertEqual(run.status, 2, "\(flag) \(value): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("'\(flag) <DUR>'") && run.stderr.contains(says), "\(flag) \(value): \(run.stderr)")
            if says != "out of range", !says.hasPrefix("at most"), !says.hasPrefix("cannot be infinity") {
                XCTAssertTrue(run.stderr.contains("systemd.time(7)") && run.stderr.contains("infinity"), run.stderr)
            }
        }
        // `=` spelling too, and watch's own interval.
        let equals = try TaskReaperBinary.run(["sweep", "--root", root.path, "--dry-run", "--retention=-1s"])
        XCTAssertEqual(equals.status, 2)
        XCTAssertTrue(equals.stderr.contains("cannot be negative"), equals.stderr)
        for value in ["0", "500ms"] {
            let watch = try TaskReaperBinary.run(["watch", "--root", root.path, "--control-socket", "none", "--rescan-interval", value])
            XCTAssertEqual(watch.status, 2, watch.stderr)
            XCTAssertTrue(watch.stderr.contains("'--rescan-interval <DUR>'") && watch.stderr.contains("infinity"), watch.stderr)
        }
    }
}
