/// Where `watch` gets its directory events from: inotify (a watch per directory, counted
/// against `max_user_watches`) or fanotify (one mark per file system, CAP_SYS_ADMIN). The
/// registry speaks inotify's terms either way: a watch descriptor per directory, and
/// `Inotify.Event`s carrying it, so that which source is in use changes nothing above here.
public protocol WatchEvents: AnyObject {
    /// "inotify" or "fanotify", for `ctl status` and the metrics.
    var name: String { get }
    /// What the watcher's epoll waits on (readable: call `readEvents`).
    var descriptors: [Int32] { get }
    /// A watch on a directory we hold open, for inotify's `mask` (IN_* bits). The same
    /// directory twice gets the same descriptor. ENOSPC: the inotify watch limit.
    func addWatch(_ directory: DirectoryHandle, mask: UInt32) throws(SystemError) -> Int32
    /// A watch on a path not ours to open (a missing root's nearest existing ancestor).
    func addWatch(path: String, mask: UInt32) throws(SystemError) -> Int32
    func removeWatch(_ wd: Int32)
    /// Everything queued now (non-blocking); an overflow is an event with `overflowed`.
    func readEvents() -> [Inotify.Event]
}

extension Inotify: WatchEvents {
    public var name: String { "inotify" }
    public var descriptors: [Int32] { [fd] }
}
