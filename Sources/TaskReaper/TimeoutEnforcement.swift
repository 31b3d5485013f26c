import TaskReaperCore
import TaskReaperSystem

/// `--enforce-timeouts` for one task past its timeout (CONTRACT §5): its process group,
/// once proven to be the task's (issue 11.3, TaskGroupProof), gets SIGTERM, the grace, then
/// SIGKILL; every outcome is reported.
struct TimeoutEnforcement {
    let context: ReconcileContext
    let location: Location
    /// The task JSON: what every report names.
    let jsonPath: String
    let taskID: String

    /// --enforce-timeouts: TERM, grace, KILL, only to a group proven to be the task's
    /// (TaskGroupProof). False when the task must not be finalized: nothing could be
    /// signalled, or the group outlived what could be sent.
    func terminate(_ document: TaskDocument, fileOwner: UInt32) -> Bool {
        let group: ProvenGroup
        switch context.processes.proveGroup(of: document, fileOwner: fileOwner, policy: context.policy) {
        case .proven(let proven): group = proven
        case .refused(let why):
            let named = document.pgid.map { "process group \($0)" } ?? "the process group"
            refused("Refusing to signal \(named) of task \(taskID): not provably the task's (\(why)); left running, not finalized",
                    why: why, pgid: document.pgid, sessionID: document.sessionID)
            return false
        }
        let pgid = group.pgid
        var event = ActionReport(.terminateGroup, path: jsonPath, location: location,
                                 message: "")
        event.sessionID = document.sessionID
        event.details = [("pgid", .integer(pgid))]
        if context.dryRun {
            event.message = "Would terminate process group \(pgid) of task \(taskID): past its timeout"
            context.reporter.report(event)
            return true
        }
        let result = context.processes.terminate(group, grace: context.policy.terminationGrace)
        let outcome: String
        switch result {
        case .alreadyGone: outcome = "already gone"
        case .exitedAfterTERM: outcome = "exited after SIGTERM"
        case .killed: outcome = "killed with SIGKILL after \(DurationText.format(context.policy.terminationGrace))"
        case .leaderChanged(let termSent):
            let why = "its leader is no longer the process the proof was made on"
            refused((termSent ? "Sent SIGTERM to process group \(pgid) of task \(taskID), but it outlived the grace and "
                               + "SIGKILL was not sent: " : "Refusing to signal process group \(pgid) of task \(taskID): ")
                    + "\(why); left running, not finalized", why: why, pgid: pgid, sessionID: document.sessionID)
            return false
        case .failed(let error):
            context.reporter.failed(error, at: location, doing: "terminate process group \(pgid) of task \(taskID)")
            return false
        }
        event.message = "Terminated process group \(pgid) of task \(taskID) past its timeout: \(outcome)"
        event.details.append(("signal_result", .string(outcome)))
        context.reporter.report(event)
        return true
    }

    /// An `error` for a signal not sent (issue 11.3): the JSON path, the group, and why.
    private func refused(_ message: String, why: String, pgid: Int32?, sessionID: String) {
        var event = ActionReport(.error, path: jsonPath, location: location, message: message)
        event.sessionID = sessionID
        event.details = [("error", .string("not provably the task's process group: " + why))]
        if let pgid { event.details.append(("pgid", .integer(pgid))) }
        context.reporter.report(event)
    }
}
