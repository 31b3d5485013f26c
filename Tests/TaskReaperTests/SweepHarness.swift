import Foundation
import Logging
import Synchronization
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport

/// Runs the sweeper in-process over a temp root, collecting every report.
final class CollectingLogHandler: LogHandler, @unchecked Sendable {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    let records = Mutex<[(Logger.Level, String, Logger.Metadata)]>([])

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLock { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
    }

    func actions(_ kind: ActionKind) -> [Logger.Metadata] {
        records.withLock { $0.filter { $0.2["TASKREAPER_ACTION"] == .string(kind.rawValue) }.map(\.2) }
    }
}

struct SweepRun {
    let result: Sweeper.Result
    let log: CollectingLogHandler

    func count(_ kind: ActionKind) -> Int { result.counters[kind] }
}

func sweep(_ root: String, policy: Policy = Policy(), dryRun: Bool = false,
           clock: @escaping @Sendable () -> Millis = WallClock.now) throws -> SweepRun {
    let handler = CollectingLogHandler()
    let logger = Logger(label: "test") { _ in handler }
    let context = ReconcileContext(policy: policy, processes: try ProcessTable(),
                                   reporter: Reporter(logger: logger, dryRun: dryRun), clock: clock)
    return SweepRun(result: Sweeper(roots: [root], context: context).run(), log: handler)
}

/// A policy whose finalize grace does not make tests wait.
func immediate() -> Policy {
    var policy = Policy()
    policy.finalizeGrace = .immediately
    return policy
}

func parse(_ path: String) -> [String: Any] {
    guard let text = BundleFixture.read(path),
          let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
    return object
}
