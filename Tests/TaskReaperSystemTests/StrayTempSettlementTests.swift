import Foundation
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// What the stray-temp rule does with the temp of an exchange step whose process died
/// (StrayTempSettlement.swift), one row of its table per test: the disk as a SIGKILL at
/// that point leaves it, built by hand.
final class StrayTempSettlementTests: DirectoryTestCase {
    /// Creates one file per version (named by its content) and returns their digests.
    func versions(_ names: String...) throws -> [String: FileDigest] {
        var digests: [String: FileDigest] = [:]
        for name in names {
            _ = try BundleFixture.write(directory.path, name, name)
            digests[name] = FileDigest(try XCTUnwrap(try handle.status(FileName(name))))
        }
        return digests
    }

    /// Puts version `temp` at the step's temp name and `target` (if any) at t.json.
    func arrange(_ kind: ExchangeIntent.Kind, put: FileDigest, expect: FileDigest, temp: String, target: String?) throws -> FileName {
        let name = TempNames.seed(for: "t.json", tag: "t").intent(ExchangeIntent(kind, put: put, expect: expect))
        XCTAssertEqual(rename(directory.path + "/" + temp, directory.path + "/" + name.escaped), 0)
        if let target { XCTAssertEqual(rename(directory.path + "/" + target, directory.path + "/t.json"), 0) }
        return name
    }

    func state() throws -> (target: String?, others: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return (BundleFixture.read(directory.path + "/t.json"), names.filter { $0 != "t.json" && !["A", "B", "C", "D"].contains($0) })
    }

    func testCommitNeverExchangedOursIsRemoved() throws {
        let v = try versions("A", "B")
        let temp = try arrange(.commit, put: v["B"]!, expect: v["A"]!, temp: "B", target: "A")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertEqual(try state().target, "A")
        XCTAssertEqual(try state().others, [])
    }

    func testCommitExchangedWithNothingRacedKeepsOursAndRemovesTheOldContent() throws {
        let v = try versions("A", "B")
        let temp = try arrange(.commit, put: v["B"]!, expect: v["A"]!, temp: "A", target: "B")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertEqual(try state().target, "B", "our committed version stays")
        XCTAssertEqual(try state().others, [])
    }

    func testCommitExchangedOverAWritersNewerVersionPutsItBack() throws {
        let v = try versions("A", "B", "C")
        let temp = try arrange(.commit, put: v["B"]!, expect: v["A"]!, temp: "C", target: "B")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .putBack(target: "t.json"))
        XCTAssertEqual(try state().target, "C", "the writer's version is back")
        XCTAssertEqual(try state().others, [])
    }

    func testCommitExchangedThenOverwrittenByTheWriterKeepsTheWriters() throws {
        let v = try versions("A", "B", "C", "D")
        let temp = try arrange(.commit, put: v["B"]!, expect: v["A"]!, temp: "C", target: "D")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertEqual(try state().target, "D")
        XCTAssertEqual(try state().others, [])
    }

    func testRestoreNotYetExchangedIsFinished() throws {
        let v = try versions("B", "C")
        let temp = try arrange(.restore, put: v["C"]!, expect: v["B"]!, temp: "C", target: "B")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .putBack(target: "t.json"))
        XCTAssertEqual(try state().target, "C")
        XCTAssertEqual(try state().others, [])
    }

    func testRestoreNotYetExchangedButOverwrittenSinceIsDropped() throws {
        let v = try versions("B", "C", "D")
        let temp = try arrange(.restore, put: v["C"]!, expect: v["B"]!, temp: "C", target: "D")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertEqual(try state().target, "D")
    }

    func testRestoreExchangedAndDoneRemovesWhatCameBack() throws {
        let v = try versions("B", "C")
        let temp = try arrange(.restore, put: v["C"]!, expect: v["B"]!, temp: "B", target: "C")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertEqual(try state().target, "C")
    }

    func testRestoreExchangedOverAnEvenNewerVersionPutsThatBack() throws {
        // We put C back over ours (B); D had been renamed over B just before: D came back.
        let v = try versions("B", "C", "D")
        let temp = try arrange(.restore, put: v["C"]!, expect: v["B"]!, temp: "D", target: "C")
        XCTAssertEqual(try handle.settleStrayTemp(temp), .putBack(target: "t.json"))
        XCTAssertEqual(try state().target, "D")
        XCTAssertEqual(try state().others, [])
    }

    func testATargetRemovedSinceMakesTheTempGo() throws {
        let v = try versions("A", "B", "C")
        let temp = try arrange(.commit, put: v["B"]!, expect: v["A"]!, temp: "C", target: nil)
        XCTAssertEqual(try handle.settleStrayTemp(temp), .removed)
        XCTAssertNil(try state().target)
        XCTAssertEqual(try state().others, [])
    }

    func testAnyOtherTempIsSimplyRemoved() throws {
        _ = try BundleFixture.write(directory.path, ".t.json.tmp.1.t", "partial")
        XCTAssertEqual(try handle.settleStrayTemp(".t.json.tmp.1.t"), .removed)
        XCTAssertEqual(try handle.settleStrayTemp(".t.json.tmp.1.t"), .gone)
    }

    func testIntentNamesRoundTrip() throws {
        let v = try versions("A", "B")
        for kind in [ExchangeIntent.Kind.commit, .restore] {
            let intent = ExchangeIntent(kind, put: v["B"]!, expect: v["A"]!)
            XCTAssertEqual(intent.hex.count, 32)
            XCTAssertEqual(ExchangeIntent(hex: intent.hex), intent)
            let name = TempNames.seed(for: "bgb-1.json", tag: "bgb-1").intent(intent)
            XCTAssertEqual(TempNames.seedIntent(name)?.target, "bgb-1.json")
            XCTAssertEqual(TempNames.seedIntent(name)?.intent, intent)
            XCTAssertEqual(TempNames.harnessIntent(TempNames.harness(random: { "" }).intent(intent)), intent)
            XCTAssertEqual(EntryName.classify(name.escaped), .protocolTemp(writerPID: getpid()), "the stray-temp rule sees it")
        }
        XCTAssertNil(TempNames.seedIntent(".bgb-1.json.tmp.12.bgb-1"), "a fresh temp is no step")
        XCTAssertNil(TempNames.seedIntent(".bgb-1.json.tmp.12.x0123"))
    }
}
