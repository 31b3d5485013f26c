#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs `body(i)` for every i in 0..<count on `workers` threads pulling from one shared
/// index. Removal is dominated by unlink(2) latency, not CPU: overlapping sessions on more
/// threads than cores is what makes a sweep beat a serial `find -delete` (see
/// bench-results). Returns when every item is done.
public func forEachConcurrently(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let threads = max(1, min(workers, count))
    if threads == 1 {
        for index in 0..<count { body(index) }
        return
    }
    let next = Atomic<Int>(0)
    let job = WorkerJob {
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < count else { return }
            body(index)
        }
    }
    var ids: [pthread_t] = []
    for _ in 1..<threads {
        var id = pthread_t()
        let context = Unmanaged.passRetained(job).toOpaque()
        let started = pthread_create(&id, nil, { raw in
            Unmanaged<WorkerJob>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        if started == 0 {
            ids.append(id)
        } else {
            Unmanaged<WorkerJob>.fromOpaque(context).release()  // fewer threads; the rest still runs
        }
    }
    job.run()  // the calling thread works too
    for id in ids { pthread_join(id, nil) }
}

private final class WorkerJob: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
