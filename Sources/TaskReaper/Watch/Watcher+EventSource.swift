import TaskReaperCore
import TaskReaperSystem

/// Which event source `watch` uses (`--events`), and the one move `auto` makes: from inotify
/// to fanotify when inotify runs out of watches (README "watch").
extension Watcher {
    static func eventSource(_ choice: EventSourceChoice, reporter: Reporter) throws(SystemError) -> any WatchEvents {
        switch choice {
        case .fanotify: return try FanotifyEvents(report: { reporter.note($0) })
        case .auto, .inotify: return try Inotify()
        }
    }

    /// After a pass in which inotify ran out of watches under `auto`: fanotify if it can be
    /// had (CAP_SYS_ADMIN, a kernel with FAN_REPORT_DFID_NAME, each root's file system
    /// markable), every watch moved there and everything looked at again; else the watch
    /// limit is reported as without `auto` (rescans cover what is unwatched).
    func switchEventsIfWanted() {
        guard let path = registry.eventSourceSwitch.take() else { return }
        let source: FanotifyEvents
        do throws(SystemError) {
            if let reason = FanotifyEvents.unavailableReason(roots: registry.roots.compactMap { $0.handle == nil ? nil : $0.path }) {
                throw SystemError("fanotify", reason, code: .notSupported)
            }
            source = try FanotifyEvents(report: { [reporter = context.reporter] in reporter.note($0) })
        } catch {
            context.reporter.note("inotify ran out of watches at \(path) and fanotify cannot be used instead: \(error.path)")
            registry.watchLimit(at: path)
            return
        }
        for fd in registry.inotify.descriptors { epoll.remove(fd) }
        registry.replaceEvents(with: source)
        for fd in source.descriptors {
            do { try epoll.add(fd, token: Self.inotifyToken) } catch {
                context.reporter.failed(error, at: Location(root: "", harness: nil), doing: "wait for fanotify events")
            }
        }
        rescan(reason: "inotify ran out of watches at \(path): moved to fanotify")
    }

    /// The event source's part of `ctl status` (README "Control socket").
    var eventSourceStatus: [(String, JSONValue)] {
        let fanotify = registry.inotify as? FanotifyEvents
        return [
            ("events", .string(registry.inotify.name)),
            // Under inotify every watched directory is one watch; under fanotify only the
            // watch points of roots and directories on file systems without a mark are.
            ("inotify_watches", .integer(fanotify?.inotifyWatchCount ?? registry.watchCount)),
            ("fanotify_marks", .integer(fanotify?.markCount ?? 0)),
            ("watched_directories", .integer(registry.watchCount)),
            ("fanotify_events_ignored", .integer(fanotify?.ignoredEvents ?? 0)),
        ]
    }
}
