import Synchronization
import TaskReaperCore

/// How many tasks are in each status, for the `taskreaper_tasks{status}` metric: every task's
/// last observed status, by its place (root, harness, session, id). Kept from what the passes
/// see (an observation sets it, a removal or quarantine drops it, a finalization moves it, a
/// removed session drops its tasks, a rescan starts over), never by a pass of its own. Sixteen
/// shards: a sweep's threads rarely wait on one another.
final class TaskCensus: Sendable {
    private static let shardCount = 16
    private final class Shard: Sendable {
        let tasks = Mutex<[String: String]>([:])
        func withLock<T>(_ body: (inout [String: String]) -> T) -> T { tasks.withLock { body(&$0) } }
    }

    private let shards: [Shard] = (0..<TaskCensus.shardCount).map { _ in Shard() }

    private static func key(_ location: Location) -> String? {
        guard let session = location.session, let task = location.taskID else { return nil }
        return location.root + "\u{0}" + (location.harness ?? "") + "\u{0}" + session + "\u{0}" + task
    }

    private func shard(_ key: String) -> Int {
        var hasher = Hasher()
        hasher.combine(key)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.shardCount))
    }

    /// `status` nil: the task is gone.
    func set(_ location: Location, status: String?) {
        guard let key = Self.key(location) else { return }
        shards[shard(key)].withLock { $0[key] = status }
    }

    func removeSession(_ location: Location) {
        guard let session = location.session else { return }
        let prefix = location.root + "\u{0}" + (location.harness ?? "") + "\u{0}" + session + "\u{0}"
        for shard in shards { shard.withLock { tasks in tasks = tasks.filter { !$0.key.hasPrefix(prefix) } } }
    }

    func clear() { for shard in shards { shard.withLock { $0.removeAll() } } }

    var counts: [String: Int] {
        var counts: [String: Int] = [:]
        for shard in shards { shard.withLock { for status in $0.values { counts[status, default: 0] += 1 } } }
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
