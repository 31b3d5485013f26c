import Synchronization
import TaskReaperCore

/// How many tasks are in each status, for the `taskreaper_tasks{status}` metric: every task's
/// last observed status, by its place (root, harness, session, id). Kept from what the passes
/// see (an observation sets it, a removal or quarantine drops it, a finalization moves it, a
/// removed session drops its tasks, a rescan starts over), never by a pass of its own. Sixteen
/// shards: a sweep's threads rarely wait on one another.
final class TaskCensus: Sendable {
    private static let shardCount = 16
    /// Tasks by session, then by id: a session's tasks go in one step when it goes, and a
    /// task costs its id and status (both short, held inline by String), not a path-long key
    /// (100 000 watched tasks: a few MiB, not tens).
    private final class Shard: Sendable {
        let sessions = Mutex<[String: [String: String]]>([:])
        func withLock<T>(_ body: (inout [String: [String: String]]) -> T) -> T { sessions.withLock { body(&$0) } }
    }

    private let shards: [Shard] = (0..<TaskCensus.shardCount).map { _ in Shard() }

    private static func sessionKey(_ location: Location) -> String? {
        guard let session = location.session else { return nil }
        return location.root + "\u{0}" + (location.harness ?? "") + "\u{0}" + session
    }

    private func shard(_ key: String) -> Shard {
        var hasher = Hasher()
        hasher.combine(key)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.shardCount))]
    }

    /// `status` nil: the task is gone.
    func set(_ location: Location, status: String?) {
        guard let key = Self.sessionKey(location), let task = location.taskID else { return }
        shard(key).withLock { sessions in
            if let status {
                sessions[key, default: [:]][task] = status
            } else {
                sessions[key]?[task] = nil
                if sessions[key]?.isEmpty == true { sessions[key] = nil }
            }
        }
    }

    func removeSession(_ location: Location) {
        guard let key = Self.sessionKey(location) else { return }
        shard(key).withLock { $0[key] = nil }
    }

    func clear() { for shard in shards { shard.withLock { $0.removeAll() } } }

    var counts: [String: Int] {
        var counts: [String: Int] = [:]
        for shard in shards {
            shard.withLock { sessions in
                for tasks in sessions.values { for status in tasks.values { counts[status, default: 0] += 1 } }
            }
        }
        return counts
    }
}

extension BundleObservation {
    /// The status `taskreaper_tasks{status}` counts this task under; nil: nothing there.
    var censusStatus: String? {
        switch self {
        case .absent: return nil
        case .corrupt: return "corrupt"
        case .incomplete: return "initialising"
        case .unsupported: return "unsupported"
        case .task(let task): return task.observation.document.status.rawValue
        }
    }
}
