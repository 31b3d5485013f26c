import TaskReaperCore
import TaskReaperSystem

/// The watcher's side of the control socket (`taskreaper ctl`, README "ctl"): the listener
/// (socket-activated or its own), its clients in the loop's epoll, and the answers to each
/// request, read from the watcher's state.
extension Watcher {
    func openControlSocket() {
        if let fd = UnixSocket.activated() {
            control = ControlServer(listener: fd, path: nil)
        } else if let path = options.controlSocketPath {
            do { control = ControlServer(listener: try UnixSocket.listen(at: path), path: path) } catch {
                context.reporter.failed(error, at: Location(root: registry.rootPaths.first ?? "", harness: nil),
                                        doing: "open the control socket (watch goes on without it)")
            }
        }
        if let control {
            do { try epoll.add(control.listener, token: Self.controlToken) } catch { self.control = nil }
        }
    }

    func acceptClients() {
        guard let control else { return }
        for fd in control.acceptPending(now: context.clock()) {
            if (try? epoll.add(fd, token: Self.clientTokenBase + UInt64(fd))) == nil { control.drop(fd) }
        }
    }

    func status() -> String {
        let c = context.reporter.counters
        let waiting = registry.waitingRoots
        if registry.openRootCount == 0 {
            return "0 roots; waiting for: " + waiting.joined(separator: ", ")
        }
        return "\(registry.sessionCount) sessions in \(registry.treeCount) trees, \(processes.count) processes watched; "
            + "\(c[.finalize]) finalized, \(c[.removeBundle]) removed, \(c[.error]) errors"
            + (waiting.isEmpty ? "" : "; waiting for \(waiting.count) more root\(waiting.count == 1 ? "" : "s")")
    }
}

extension Watcher: ControlRequests {
    func controlStatus() -> JSONObject {
        var object = JSONObject()
        object["roots"] = .array(registry.rootPaths.map { .string($0) })
        object["roots_watched"] = .integer(registry.openRootCount)
        object["waiting_for"] = .array(registry.waitingRoots.map { .string($0) })
        object["trees"] = .integer(registry.treeCount)
        object["sessions"] = .integer(registry.sessionCount)
        for (key, value) in eventSourceStatus { object[key] = value }
        object["processes_watched"] = .integer(processes.count)
        object["pending_deadlines"] = .integer(queue.deadlineCount)
        object["next_deadline"] = queue.nextDeadline().map { .integer($0) } ?? .null
        object["watch_limit_reached"] = .bool(registry.watchLimitReached)
        object["fd_limit_reached"] = .bool(processes.limitReached)
        object["dry_run"] = .bool(context.dryRun)
        object["uptime_ms"] = .integer(age(of: timers.startedAt, at: context.clock()))
        object["counts"] = .object(context.reporter.counters.countsObject)
        return object
    }

    func controlSweep() -> JSONObject {
        let before = context.reporter.counters
        let started = context.clock()
        rescan(reason: "ctl sweep")
        let delta = context.reporter.counters.since(before)
        var object = JSONObject()
        object["sessions"] = .integer(delta.sessions)
        object["bundles"] = .integer(delta.bundles)
        object["counts"] = .object(delta.countsObject)
        object["duration_ms"] = .integer(age(of: started, at: context.clock()))
        return object
    }

    func controlRescan() { rescan(reason: "ctl rescan") }

    func controlMetrics() -> JSONObject {
        JSONObject([("metrics", .string(MetricsText.render(mode: .watch, reporter: context.reporter, status: controlStatus(),
                                                            startedAt: timers.startedAt, version: options.version)))])
    }
}
