import TaskReaperCore

/// One report as one line for people: `would remove      opencode/3f2a…/bgb-0a1b2c3d  delivered 2h ago`.
/// A verb (what was, or would be, done), where (harness/session…/task), and the facts that
/// matter, from the report's own fields. No `TASKREAPER_*` fields: those are for the journal
/// and `--json`. One line, always: control characters in names and messages are escaped.
public enum ConsoleLine {
    /// Verbs are padded to this width so the "where" column lines up.
    static let verbWidth = 17

    public static func format(_ report: ActionReport, dryRun: Bool, now: Millis, color: Bool) -> String {
        let verb = self.verb(report.action, dryRun: dryRun)
        let padded = verb + String(repeating: " ", count: max(2, verbWidth + 2 - verb.count))
        var line = color ? paint(report.action, dryRun: dryRun, padded) : padded
        line += escaped(where_(report))
        let detail = self.detail(report, now: now)
        if !detail.isEmpty { line += "  " + escaped(detail) }
        return line
    }

    public static func verb(_ action: ActionKind, dryRun: Bool) -> String {
        func act(_ done: String, _ would: String) -> String { dryRun ? "would " + would : done }
        switch action {
        case .finalize: return act("finalized", "finalize")
        case .writeKillMarker: return act("marked killed", "mark killed")
        case .terminateGroup: return act("terminated", "terminate")
        case .removeBundle, .removeStrayTemp, .removeOrphanFile, .removeSessionDir, .removeQuarantined: return act("removed", "remove")
        case .quarantine: return act("quarantined", "quarantine")
        case .syncRow: return act("synced row", "sync row")
        case .reportCorrupt: return "corrupt"
        case .skipUnsupportedSchema: return "unsupported"
        case .skipSymlink: return "skipped link"
        case .skipLockedRoot: return "locked"
        case .skipReaderFloor: return "left alone"
        case .skipProtected: return "protected"
        case .rescan: return "rescan"
        case .watchLimit: return "watch limit"
        case .descriptorLimit: return "fd limit"
        case .dbBusy: return "aft.db busy"
        case .error: return "error"
        case .summary: return dryRun ? "dry run" : "summary"
        }
    }

    /// `opencode/3f2a…/bgb-0a1b2c3d`; a stray file by its name; a root by its path.
    static func where_(_ report: ActionReport) -> String {
        let location = report.location
        guard let session = location.session else { return report.path.isEmpty ? location.root : report.path }
        var parts = [location.harness ?? "bash-tasks", session.count > 5 ? String(session.prefix(4)) + "…" : session]
        switch report.action {
        case .removeStrayTemp, .removeOrphanFile, .writeKillMarker, .error:
            parts.append(basename(report.path) == session ? "" : basename(report.path))
        case .removeSessionDir:
            break
        case .skipProtected where basename(String(report.path.dropLast(basename(report.path).count + 1))) == Tree.quarantineName.escaped:
            // A session's quarantine: opencode/bash-tasks-quarantine/3f2a…
            parts = [location.harness, Tree.quarantineName.escaped, parts[1]].compactMap { $0 }
        case .removeQuarantined:
            // opencode/bash-tasks-quarantine/3f2a…/bgb-1.json.quarantined-1764000000000
            parts = [location.harness, Tree.quarantineName.escaped, parts[1], basename(report.path)].compactMap { $0 }
        default:
            if let taskID = location.taskID { parts.append(taskID) }
        }
        return parts.filter { !$0.isEmpty }.joined(separator: "/")
    }

    static func detail(_ report: ActionReport, now: Millis) -> String {
        func field(_ key: String) -> String? {
            guard let value = report.details.first(where: { $0.key == key })?.value else { return nil }
            return value.stringValue ?? (value.isNull ? nil : JSONWriter.compact(value))
        }
        var parts: [String] = []
        switch report.action {
        case .finalize:
            var change = "\(report.from?.rawValue ?? "?") -> \(report.to?.rawValue ?? "?")"
            if let code = report.exitCode { change += " (exit \(code))" }
            if let reason = report.reason { change += ": \(reason)" }
            parts.append(change)
        case .removeBundle:
            var what = report.taskIDs.isEmpty ? (report.reason ?? "") : "\(report.taskIDs.count) \(report.reason ?? "") tasks"
            if let since = report.since { what += " \(TimeText.short(age(of: since, at: now))) ago" }
            parts.append(what)
        case .removeStrayTemp: parts.append("stray temp file, its writer gone")
        case .removeOrphanFile: parts.append("orphan file, no JSON")
        case .removeSessionDir: parts.append("session directory, \(report.reason ?? "empty")")
        case .removeQuarantined:
            var what = report.reason ?? "quarantine expired"
            if let since = report.since { what += ", modified \(TimeText.short(age(of: since, at: now))) ago" }
            parts.append(what)
        case .skipProtected:
            parts.append("matches \(field("glob") ?? "a Protect glob"): not read, not written")
        case .writeKillMarker: parts.append("a killed exit marker")
        case .quarantine:
            if let error = field("error") { parts.append(error) }
            if let destination = field("destination") { parts.append("to " + destination) }
        case .terminateGroup:
            if let pgid = field("pgid") { parts.append("process group \(pgid)") }
            if let result = field("signal_result") { parts.append(result) }
        case .reportCorrupt, .skipUnsupportedSchema, .skipSymlink, .skipLockedRoot, .skipReaderFloor, .rescan,
             .watchLimit, .descriptorLimit, .syncRow, .dbBusy, .error, .summary:
            parts.append(report.message)
        }
        if let row = field("db_row") { parts.append("aft.db row \(row.replacingUnderscores)") }
        return parts.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    static func paint(_ action: ActionKind, dryRun: Bool, _ text: String) -> String {
        let code: String
        switch action.level {
        case .error, .critical: code = "1;31"
        case .warning: code = "33"
        default: code = dryRun ? "36" : "32"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Newlines, tabs and other control characters as `\n`, `\t`, `\x1b`: one record, one line.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private extension String {
    /// `would_delete` -> `would delete`.
    var replacingUnderscores: String { split(separator: "_").joined(separator: " ") }
}
