import TaskReaperCore
import XCTest

/// Issue 11.3: a group named by a task JSON is signalled only when provably the task's.
final class TaskGroupProofTests: XCTestCase {
    let started: Millis = 1_800_000_000_000
    let slack: Millis = 30 * .second
    let owner: UInt32 = 1000
    let ourGroup: Int32 = 777

    private func leader(start: Millis? = nil, uid: UInt32? = 1000, group: Int32 = 4242) -> GroupLeader {
        GroupLeader(startedAt: start ?? started + 20, uid: uid, processGroup: group)
    }

    struct Row {
        let name: String
        let pgid: Int32?
        let childPID: UInt32?
        let leader: GroupLeader?
        /// nil: proven; else a fragment of the refusal's reason.
        let refusal: String?
        /// The task's started_at when not `started`.
        var startedAt: Millis? = nil
        let line: UInt
    }

    func testTheRuleRowByRow() {
        let rows: [Row] = [
            Row(name: "the harness's task: pgid == child_pid, leader started with it, same owner",
                pgid: 4242, childPID: 4242, leader: leader(), refusal: nil, line: #line),
            Row(name: "leader start at the edge of the slack, before", pgid: 4242, childPID: 4242,
                leader: leader(start: started - slack), refusal: nil, line: #line),
            Row(name: "leader start at the edge of the slack, after", pgid: 4242, childPID: 4242,
                leader: leader(start: started + slack), refusal: nil, line: #line),
            Row(name: "no pgid", pgid: nil, childPID: 4242, leader: leader(), refusal: "no pgid", line: #line),
            Row(name: "child_pid null (the issue's attack)", pgid: 4242, childPID: nil, leader: leader(),
                refusal: "child_pid is null", line: #line),
            Row(name: "pgid differs from child_pid", pgid: 4242, childPID: 4243, leader: leader(),
                refusal: "is not child_pid 4243", line: #line),
            Row(name: "pgid 1 (init)", pgid: 1, childPID: 1, leader: leader(group: 1), refusal: "can never be", line: #line),
            Row(name: "pgid 0 (our own group for kill)", pgid: 0, childPID: 0, leader: nil, refusal: "can never be", line: #line),
            Row(name: "pgid -1 (everyone for kill)", pgid: -1, childPID: nil, leader: nil, refusal: "can never be", line: #line),
            Row(name: "negative pgid", pgid: Int32.min, childPID: nil, leader: nil, refusal: "can never be", line: #line),
            Row(name: "our own group", pgid: ourGroup, childPID: UInt32(ourGroup), leader: leader(group: ourGroup),
                refusal: "taskreaper's own", line: #line),
            Row(name: "child_pid beyond Int32 never equals a pgid", pgid: 4242, childPID: UInt32(4242) | (1 << 31),
                leader: leader(), refusal: "is not child_pid", line: #line),
            Row(name: "no leader process", pgid: 4242, childPID: 4242, leader: nil, refusal: "no process 4242 leads it", line: #line),
            Row(name: "leader moved to another group", pgid: 4242, childPID: 4242, leader: leader(group: 99),
                refusal: "no longer leads it", line: #line),
            Row(name: "leader start unknown", pgid: 4242, childPID: 4242,
                leader: GroupLeader(startedAt: nil, uid: owner, processGroup: 4242), refusal: "start time", line: #line),
            Row(name: "leader started long after the task (pid reused)", pgid: 4242, childPID: 4242,
                leader: leader(start: started + slack + 1), refusal: "more than 30s", line: #line),
            Row(name: "leader started long before the task", pgid: 4242, childPID: 4242,
                leader: leader(start: started - slack - 1), refusal: "more than 30s", line: #line),
            Row(name: "started_at at the end of time", pgid: 4242, childPID: 4242,
                leader: leader(start: .max), refusal: nil, startedAt: .max, line: #line),
            Row(name: "another user's process (root's, on a user's tree)", pgid: 4242, childPID: 4242, leader: leader(uid: 0),
                refusal: "leader uid 0 != file owner 1000", line: #line),
            Row(name: "leader uid unknown", pgid: 4242, childPID: 4242, leader: leader(uid: nil), refusal: "uid", line: #line),
        ]
        for row in rows {
            let verdict = TaskGroupProof.check(pgid: row.pgid, childPID: row.childPID, startedAt: row.startedAt ?? started, leader: row.leader,
                                               fileOwner: owner, ourGroup: ourGroup, slack: slack)
            switch (verdict, row.refusal) {
            case (.proven(let group), nil):
                XCTAssertEqual(group.pgid, row.pgid, row.name, line: row.line)
                XCTAssertEqual(group.leader, row.leader, row.name, line: row.line)
            case (.refused(let why), let expected?):
                XCTAssertTrue(why.contains(expected), "\(row.name): \(why)", line: row.line)
            default:
                XCTFail("\(row.name): \(verdict)", line: row.line)
            }
        }
    }

    func testTheSameLeaderIsTheVeryProcessTheProofSaw() throws {
        guard case .proven(let group) = TaskGroupProof.check(pgid: 4242, childPID: 4242, startedAt: started, leader: leader(),
                                                             fileOwner: owner, ourGroup: ourGroup, slack: slack) else {
            return XCTFail("not proven")
        }
        XCTAssertTrue(group.isSameLeader(leader()))
        XCTAssertFalse(group.isSameLeader(nil), "exited and reaped")
        XCTAssertFalse(group.isSameLeader(leader(start: started + 21)), "another process with that number")
        XCTAssertFalse(group.isSameLeader(leader(uid: 0)))
        XCTAssertFalse(group.isSameLeader(leader(group: 1)))
    }
}
