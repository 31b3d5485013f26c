import TaskReaperCore

extension Reporter {
    public struct Counters: Sendable, Equatable {
        public var actions: [ActionKind: Int] = [:]
        public var bundles = 0
        public var sessions = 0
        /// The earliest moment a decision asked to look again (Unix ms).
        public var nextDue: Millis?

        public subscript(kind: ActionKind) -> Int { actions[kind, default: 0] }
        /// Items that failed: the sweep exits 1 when this is not 0.
        public var failures: Int { self[.error] }

        /// `{"finalize": n, ...}` for every kind but the summary, in the vocabulary's order.
        public var countsObject: JSONObject {
            JSONObject(ActionKind.allCases.filter { $0 != .summary }.map { ($0.rawValue, .integer(self[$0])) })
        }

        /// What happened after `earlier` was taken.
        public func since(_ earlier: Counters) -> Counters {
            var delta = Counters()
            for kind in ActionKind.allCases { delta.actions[kind] = self[kind] - earlier[kind] }
            delta.bundles = bundles - earlier.bundles
            delta.sessions = sessions - earlier.sessions
            return delta
        }
    }

    /// The summary's MESSAGE: what the pass did, in words, counts that are zero left out.
    static func summarySentence(_ c: Counters, roots: Int, dryRun: Bool, durationMs: Millis, watching: Bool = false) -> String {
        let verb = watching ? (dryRun ? "Watched (dry run)" : "Watched") : dryRun ? "Dry run over" : "Swept"
        var parts: [String] = []
        func add(_ kind: ActionKind, _ label: String) { if c[kind] > 0 { parts.append("\(c[kind]) \(label)") } }
        add(.finalize, dryRun ? "to finalize" : "finalized")
        add(.terminateGroup, dryRun ? "to terminate" : "terminated")
        add(.removeBundle, dryRun ? "bundles to remove" : "bundles removed")
        add(.quarantine, dryRun ? "to quarantine" : "quarantined")
        add(.removeStrayTemp, dryRun ? "stray temp files to remove" : "stray temp files removed")
        add(.removeOrphanFile, dryRun ? "orphan files to remove" : "orphan files removed")
        add(.removeSessionDir, dryRun ? "session dirs to remove" : "session dirs removed")
        add(.removeQuarantined, dryRun ? "quarantined entries to remove" : "quarantined entries removed")
        add(.reportCorrupt, "corrupt")
        add(.skipUnsupportedSchema, "unsupported schema")
        add(.skipSymlink, "symlinks skipped")
        add(.skipLockedRoot, "roots locked")
        add(.skipReaderFloor, "roots left to a newer harness")
        add(.skipProtected, "protected left alone")
        add(.rescan, "rescans")
        add(.watchLimit, "watch limit reached")
        add(.descriptorLimit, "descriptor limit reached")
        add(.syncRow, dryRun ? "aft.db rows to sync" : "aft.db rows synced")
        add(.dbBusy, "aft.db busy")
        add(.error, "errors")
        let done = parts.isEmpty ? "nothing to do" : parts.joined(separator: ", ")
        if watching {
            return "\(verb) \(roots) root\(roots == 1 ? "" : "s") for \(TimeText.short(durationMs)), \(c.sessions) sessions and "
                + "\(c.bundles) tasks now: \(done)"
        }
        return "\(verb) \(roots) root\(roots == 1 ? "" : "s"), \(c.sessions) sessions, \(c.bundles) bundles in \(durationMs) ms: \(done)"
    }
}
