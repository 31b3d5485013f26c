import TaskReaperCore
import XCTest

/// CONTRACT §5 "A task's processes are gone when all of these hold", with scripted probes.
/// (ProcessTableTests prove the same with real processes.)
final class LivenessRulesTests: XCTestCase {
    let boot: Millis = 1_700_000_000_000
    let started: Millis = 1_700_000_500_000
    let policy = Policy()

    private func assess(pid: UInt32? = 100, pgid: Int32? = 100, startedAt: Millis? = nil,
                        pidProbe: PidProbe, groupProbe: GroupProbe, groupAsked: UnsafeMutablePointer<Bool>? = nil) -> Liveness {
        LivenessRules.assess(startedAt: startedAt ?? started, childPID: pid, pgid: pgid, bootTime: boot, policy: policy,
                             pid: { _ in pidProbe }, group: { _ in groupAsked?.pointee = true; return groupProbe })
    }

    func testLivePidIsAliveWithoutScanningTheGroup() {
        var asked = false
        XCTAssertEqual(assess(pidProbe: .present(startedAt: started + 10, zombie: false), groupProbe: .absent, groupAsked: &asked), .alive)
        XCTAssertFalse(asked, "the /proc group scan is only needed when the pid does not prove life")
    }

    func testAbsentPidAndGroupIsGone() {
        XCTAssertEqual(assess(pidProbe: .absent, groupProbe: .absent), .gone)
    }

    func testAbsentLeaderButLiveGroupMemberIsAlive() {
        XCTAssertEqual(assess(pidProbe: .absent, groupProbe: .live), .alive)
    }

    func testZombieLeaderAndZombieGroupIsGone() {
        XCTAssertEqual(assess(pidProbe: .present(startedAt: started, zombie: true), groupProbe: .onlyZombies), .gone)
    }

    func testReusedPidThatIsAlsoThePgidMeansGone() {
        // pid reused by a process started 31 s after the task: pgid == pid, so the group is gone too.
        XCTAssertEqual(assess(pidProbe: .present(startedAt: started + 31 * .second, zombie: false), groupProbe: .live), .gone)
    }

    func testReusedPidWithADifferentPgidStillAsksTheGroup() {
        XCTAssertEqual(assess(pid: 100, pgid: 200, pidProbe: .present(startedAt: started + 31 * .second, zombie: false), groupProbe: .live), .alive)
        XCTAssertEqual(assess(pid: 100, pgid: 200, pidProbe: .present(startedAt: started + 31 * .second, zombie: false), groupProbe: .absent), .gone)
    }

    func testStartWithinTheSlackIsTheSameProcess() {
        XCTAssertEqual(assess(pidProbe: .present(startedAt: started + 30 * .second, zombie: false), groupProbe: .absent), .alive)
    }

    func testTaskFromBeforeBootIsGoneWhateverTheProbesSay() {
        XCTAssertEqual(assess(startedAt: boot - 1, pidProbe: .present(startedAt: nil, zombie: false), groupProbe: .live), .gone)
    }

    func testNothingToProbeIsAlive() {
        XCTAssertEqual(assess(pid: nil, pgid: nil, pidProbe: .absent, groupProbe: .absent), .alive)
    }

    func testEPERMPresentIsAlive() {
        // EPERM is reported as present without a start time (another user's /proc may be hidden).
        XCTAssertEqual(assess(pidProbe: .present(startedAt: nil, zombie: false), groupProbe: .absent), .alive)
    }

    func testWriterOfATempFile() {
        XCTAssertTrue(LivenessRules.writerIsGone(.absent, fileExistedBy: started))
        XCTAssertTrue(LivenessRules.writerIsGone(.present(startedAt: started, zombie: true), fileExistedBy: started))
        XCTAssertTrue(LivenessRules.writerIsGone(.present(startedAt: started + 2 * .second, zombie: false), fileExistedBy: started))
        XCTAssertFalse(LivenessRules.writerIsGone(.present(startedAt: started - .minute, zombie: false), fileExistedBy: started))
    }
}
