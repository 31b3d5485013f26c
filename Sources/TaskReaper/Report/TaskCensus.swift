import Synchronization
import TaskReaperCore

/// How many tasks are in each status, for the `taskreaper_tasks{status}` metric, kept from
/// what the passes see, never by a pass of its own. A session counts what its last look left:
/// while a session is looked at (`begin` … `end`) its tasks are kept one by one (an observation
/// sets a task's status, a finalization moves it, a removal or quarantine drops it); at `end`
/// they collapse into counts, so a task the look did not find (the harness removed it) stops
/// counting, and a session costs its name and a few bytes between looks, not a dictionary of
/// its tasks (10 000 watched sessions / 100 000 tasks: 7 MiB as a dictionary per session).
/// A removed session drops its counts, a rescan starts over. Sixteen shards, by session: a
/// sweep's threads rarely wait on one another.
final class TaskCensus: Sendable {
    private static let shardCount = 16

    /// A tree, as reports name it (the strings are the locations' own: no copy per session).
    private struct TreePlace: Hashable {
        let root: String
        let harness: String?
    }

    private struct SessionPlace: Hashable {
        let tree: TreePlace
        let session: String
    }

    /// A session's tasks by status, between looks.
    private enum Counts {
        /// The usual session: every task in one status (no allocation).
        case one(StatusCode, UInt32)
        /// Tasks by status code.
        case mixed([UInt32])

        init?(_ tasks: [String: StatusCode]) {
            guard let first = tasks.first?.value else { return nil }
            if tasks.values.allSatisfy({ $0 == first }) {
                self = .one(first, UInt32(clamping: tasks.count))
                return
            }
            var byCode = [UInt32](repeating: 0, count: Int(tasks.values.max() ?? 0) + 1)
            for code in tasks.values { byCode[Int(code)] += 1 }
            self = .mixed(byCode)
        }

        func add(to counts: inout [Int]) {
            switch self {
            case .one(let code, let count): counts[Int(code)] += Int(count)
            case .mixed(let byCode): for (code, count) in byCode.enumerated() { counts[code] += Int(count) }
            }
        }
    }

    private struct State {
        var sessions: [TreePlace: [String: Counts]] = [:]
        /// Sessions being looked at: their tasks' statuses so far.
        var looking: [SessionPlace: [String: StatusCode]] = [:]
    }

    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    private let shards: [Shard] = (0..<TaskCensus.shardCount).map { _ in Shard() }
    private let statuses = StatusNames()

    private static func place(_ location: Location) -> SessionPlace? {
        guard let session = location.session else { return nil }
        return SessionPlace(tree: TreePlace(root: location.root, harness: location.harness), session: session)
    }

    private func shard(_ place: SessionPlace) -> Shard {
        var hasher = Hasher()
        hasher.combine(place.session)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.shardCount))]
    }

    /// A look at the session (`location`) starts: its tasks are counted anew.
    func begin(_ location: Location) {
        guard let place = Self.place(location) else { return }
        shard(place).state.withLock { $0.looking[place] = [:] }
    }

    /// The look ends: what it saw is the session's count until the next look.
    func end(_ location: Location) {
        guard let place = Self.place(location) else { return }
        shard(place).state.withLock { state in
            let tasks = state.looking.removeValue(forKey: place) ?? [:]
            if let counts = Counts(tasks) {
                state.sessions[place.tree, default: [:]][place.session] = counts
            } else if state.sessions[place.tree]?.removeValue(forKey: place.session) != nil, state.sessions[place.tree]?.isEmpty == true {
                state.sessions[place.tree] = nil
            }
        }
    }

    /// A task's status as the look at its session sees it now (`status` nil: the task is
    /// gone). Outside a look of its session (nothing reports a task there) it changes nothing.
    func set(_ location: Location, status: String?) {
        guard let place = Self.place(location), let task = location.taskID else { return }
        let code = status.map(statuses.code)
        shard(place).state.withLock { state in
            guard state.looking[place] != nil else { return }
            state.looking[place]?[task] = code
        }
    }

    func removeSession(_ location: Location) {
        guard let place = Self.place(location) else { return }
        shard(place).state.withLock { state in
            state.sessions[place.tree]?[place.session] = nil
            if state.sessions[place.tree]?.isEmpty == true { state.sessions[place.tree] = nil }
        }
    }

    /// A rescan starts over: every session's count goes (each is counted again as it is looked at).
    func clear() { for shard in shards { shard.state.withLock { $0.sessions.removeAll() } } }

    var counts: [String: Int] {
        let names = statuses.all
        var byCode = [Int](repeating: 0, count: Int(StatusCode.max) + 1)
        for shard in shards {
            shard.state.withLock { state in
                for sessions in state.sessions.values { for counts in sessions.values { counts.add(to: &byCode) } }
            }
        }
        var counts: [String: Int] = [:]
        for (code, count) in byCode.enumerated() where count > 0 { counts[statuses.name(code, in: names), default: 0] += count }
        return counts
    }
}

typealias StatusCode = UInt8

/// Status names as small codes: every status of the record and the census's own three are
/// known up front (looked up without a lock); any other name gets the next code, and past
/// 255 names (the census's statuses are a closed set) the last code stands for "other".
final class StatusNames: Sendable {
    private static let known = TaskStatus.allCases.map(\.rawValue) + ["corrupt", "initialising", "unsupported"]
    private static let other = StatusCode.max
    private let extra = Mutex<[String]>([])

    func code(_ name: String) -> StatusCode {
        if let index = Self.known.firstIndex(of: name) { return StatusCode(index) }
        return extra.withLock { extra in
            if let index = extra.firstIndex(of: name) { return StatusCode(Self.known.count + index) }
            guard Self.known.count + extra.count < Int(Self.other) else { return Self.other }
            extra.append(name)
            return StatusCode(Self.known.count + extra.count - 1)
        }
    }

    /// The name of every code (the codes in use are below `all.count`, or `other`).
    func name(_ code: Int, in all: [String]) -> String { code < all.count ? all[code] : "other" }

    var all: [String] { Self.known + extra.withLock { $0 } }
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
