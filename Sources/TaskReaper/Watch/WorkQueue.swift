import HeapModule
import TaskReaperCore

/// What `watch` has to look at, and when: a dirty set (look now) plus one deadline per key
/// (look then), like client-go's delaying work queue. An event or a due deadline only puts
/// a key in the dirty set; the reconciler then observes afresh, so adding a key twice, or
/// late, costs a look, never a wrong decision.
///
/// Deadlines live in a min-heap with lazy deletion: replacing or forgetting a key's deadline
/// leaves its old heap entry behind, skipped when it surfaces (`deadlines` is the truth).
/// Finding the next wake-up is O(1) and a due key O(log n), whatever the number of sessions.
struct WorkQueue<Key: Hashable> {
    private var dirty: Set<Key> = []
    private var deadlines: [Key: Millis] = [:]
    private var heap = Heap<Entry>()

    private struct Entry: Comparable {
        let due: Millis
        let key: Key
        static func < (a: Entry, b: Entry) -> Bool { a.due < b.due }
        static func == (a: Entry, b: Entry) -> Bool { a.due == b.due && a.key == b.key }
    }

    /// Look at `key` as soon as the loop gets to it.
    mutating func add(_ key: Key) { dirty.insert(key) }

    /// Look at `key` at `due` (nil: no deadline). Replaces the key's earlier deadline: a
    /// reconcile's outcome says everything that is due for its key.
    mutating func schedule(_ key: Key, at due: Millis?) {
        guard let due else { deadlines[key] = nil; return }
        guard deadlines[key] != due else { return }
        deadlines[key] = due
        heap.insert(Entry(due: due, key: key))
        compactIfSparse()
    }

    /// The key is gone (its directory vanished): no look, no deadline.
    mutating func forget(_ key: Key) {
        dirty.remove(key)
        deadlines[key] = nil
    }

    mutating func forget(where matches: (Key) -> Bool) {
        dirty = dirty.filter { !matches($0) }
        deadlines = deadlines.filter { !matches($0.key) }
    }

    /// Moves every key whose deadline has come into the dirty set.
    mutating func promoteDue(now: Millis) {
        while let top = heap.min, top.due <= now {
            heap.removeMin()
            if deadlines[top.key] == top.due {
                deadlines[top.key] = nil
                dirty.insert(top.key)
            }
        }
    }

    /// The earliest pending deadline (stale heap entries are dropped on the way).
    mutating func nextDeadline() -> Millis? {
        while let top = heap.min {
            if deadlines[top.key] == top.due { return top.due }
            heap.removeMin()
        }
        return nil
    }

    /// Everything to look at now; the dirty set is empty afterwards.
    /// The set keeps its room for an event's few keys, not for a first pass's every session.
    mutating func takeDirty() -> [Key] {
        defer { dirty.removeAll(keepingCapacity: dirty.count <= 64) }
        return Array(dirty)
    }

    var hasDirty: Bool { !dirty.isEmpty }
    var deadlineCount: Int { deadlines.count }
    func deadline(of key: Key) -> Millis? { deadlines[key] }

    /// Keys rescheduled again and again (a session polled while its group lives) would grow
    /// the heap with dead entries: rebuild it when they outnumber the live ones.
    private mutating func compactIfSparse() {
        guard heap.count > 64, heap.count > 2 * deadlines.count else { return }
        heap = Heap(deadlines.map { Entry(due: $0.value, key: $0.key) })
    }
}
