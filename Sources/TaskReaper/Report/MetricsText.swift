import TaskReaperCore

/// Prometheus text exposition format (version 0.0.4) for fleets (README "Metrics"): what a
/// `watch` has done since it started (`ctl metrics`, or a file after every pass), or what one
/// sweep did (a file for node_exporter's textfile collector). Every series is always present
/// (zeros included), so a dashboard never sees one appear or vanish.
public enum MetricsText {
    public enum Mode: String, Sendable { case sweep, watch }

    /// The watch's own gauges, from its `ctl status` facts (nil for a sweep).
    public static func render(mode: Mode, reporter: Reporter, status: JSONObject?, startedAt: Millis, version: String) -> String {
        var out = Writer()
        let counters = reporter.counters
        let pass = reporter.lastPass
        out.metric("taskreaper_build_info", .gauge, "The running taskreaper: version and mode (sweep or watch).",
                   [(["version": version, "mode": mode.rawValue], "1")])
        out.metric("taskreaper_dry_run", .gauge, "1 when nothing is changed (--dry-run).", [([:], reporter.dryRun ? "1" : "0")])
        let kinds = ActionKind.allCases.filter { $0 != .summary }
        switch mode {
        case .watch:
            out.metric("taskreaper_actions_total", .counter, "Reports since the agent started, by action (README \"Actions\").",
                       kinds.map { (["action": $0.rawValue], String(counters[$0])) })
            out.metric("taskreaper_errors_total", .counter, "Operations that failed since the agent started.",
                       [([:], String(counters.failures))])
            out.metric("taskreaper_passes_total", .counter, "Rounds of work since the agent started (the first pass, events, deadlines, rescans).",
                       [([:], String(pass.count))])
        case .sweep:
            out.metric("taskreaper_sweep_actions", .gauge, "Reports of the last sweep, by action (README \"Actions\").",
                       kinds.map { (["action": $0.rawValue], String(counters[$0])) })
            out.metric("taskreaper_sweep_errors", .gauge, "Operations that failed in the last sweep.", [([:], String(counters.failures))])
            out.metric("taskreaper_sweep_sessions", .gauge, "Session directories the last sweep looked at.", [([:], String(counters.sessions))])
            out.metric("taskreaper_sweep_bundles", .gauge, "Tasks the last sweep looked at.", [([:], String(counters.bundles))])
        }
        let tasks = reporter.tasksByStatus
        let statuses = TaskStatus.allCases.map(\.rawValue) + ["corrupt", "initialising", "unsupported"]
        out.metric("taskreaper_tasks", .gauge, "Tasks by status as last observed (corrupt, initialising, unsupported: no usable record).",
                   (statuses + tasks.keys.filter { !statuses.contains($0) }.sorted()).map { (["status": $0], String(tasks[$0, default: 0])) })
        out.metric("taskreaper_last_pass_duration_seconds", .gauge, "How long the last pass took.",
                   [([:], seconds(pass.lastDurationMs))])
        out.metric("taskreaper_last_pass_timestamp_seconds", .gauge, "When the last pass ended (Unix time; 0: none yet).",
                   [([:], seconds(pass.lastEndedAt ?? 0))])
        out.metric("taskreaper_last_success_timestamp_seconds", .gauge, "When the last pass without a new error ended (Unix time; 0: none yet).",
                   [([:], seconds(pass.lastSuccessAt ?? 0))])
        out.metric("taskreaper_start_time_seconds", .gauge, "When this process started (Unix time).", [([:], seconds(startedAt))])
        if let status {
            func gauge(_ name: String, _ key: String, _ help: String) {
                let value: String
                switch status[key] {
                case .bool(let flag)?: value = flag ? "1" : "0"
                case .number(let text)?: value = text
                default: value = "0"
                }
                out.metric(name, .gauge, help, [([:], value)])
            }
            gauge("taskreaper_roots_watched", "roots_watched", "Storage roots open and watched.")
            gauge("taskreaper_trees", "trees", "bash-tasks trees watched.")
            gauge("taskreaper_sessions", "sessions", "Session directories watched.")
            gauge("taskreaper_inotify_watches", "inotify_watches", "inotify watches held.")
            if case .string(let source)? = status["events"] {
                out.metric("taskreaper_event_source", .gauge, "Where directory events come from (--events): inotify or fanotify.",
                           [(["source": source], "1")])
            }
            gauge("taskreaper_fanotify_marks", "fanotify_marks", "File systems marked with fanotify (--events fanotify, or auto once inotify ran out).")
            gauge("taskreaper_watched_directories", "watched_directories", "Directories watched, by inotify or fanotify.")
            if case .number(let ignored)? = status["fanotify_events_ignored"] {
                out.metric("taskreaper_fanotify_events_ignored_total", .counter,
                           "fanotify events about directories not watched, dropped (the cost of a file system mark).", [([:], ignored)])
            }
            gauge("taskreaper_pidfds", "processes_watched", "Task processes watched through a pidfd.")
            gauge("taskreaper_pending_deadlines", "pending_deadlines", "Sessions with a deadline to look again at.")
            gauge("taskreaper_watch_limit_reached", "watch_limit_reached", "1 while the inotify watch limit leaves part of the trees unwatched.")
            gauge("taskreaper_fd_limit_reached", "fd_limit_reached", "1 while the descriptor limit keeps tasks from a pidfd (polled instead).")
        }
        return out.text
    }

    static func seconds(_ ms: Millis) -> String {
        let fraction = ms % 1000
        return "\(ms / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }

    struct Writer {
        enum Kind: String { case counter, gauge }
        var text = ""

        mutating func metric(_ name: String, _ kind: Kind, _ help: String, _ samples: [([String: String], String)]) {
            text += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
            for (labels, value) in samples {
                text += name
                if !labels.isEmpty {
                    text += "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escapeLabel($0.value))\"" }.joined(separator: ",") + "}"
                }
                text += " \(value)\n"
            }
        }

        /// HELP: backslash and newline escaped.
        func escapeHelp(_ text: String) -> String { escape(text, quotes: false) }

        /// Label values: backslash, double quote and newline escaped.
        func escapeLabel(_ text: String) -> String { escape(text, quotes: true) }

        private func escape(_ text: String, quotes: Bool) -> String {
            var out = ""
            for character in text {
                switch character {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\"" where quotes: out += "\\\""
                default: out.append(character)
                }
            }
            return out
        }
    }
}
