#if canImport(Glibc)
import Glibc
#endif

/// A lock whose waiters sleep at once (glibc's plain pthread mutex) instead of spinning, for
/// sections held for tens of microseconds up to a busy timeout (SQLite statements). Swift's
/// Mutex spins first: with the sweep's 8 threads on 2 cores queued behind an aft.db write,
/// that spinning was CPU taken from the thread doing the work.
public final class SleepingLock<Value>: @unchecked Sendable {  // the value is only reached under the mutex
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
