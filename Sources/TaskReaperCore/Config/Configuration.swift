/// Every operator setting, from built-in defaults, configuration files and flags, each with
/// where its value came from (README "Configuration"). Pure: files are read by the caller
/// and handed over as assignments; flags are applied with `set(_:_:origin:)`.
public struct Configuration: Equatable, Sendable {
    public enum Origin: Equatable, Sendable, CustomStringConvertible {
        case builtin
        case file(String, line: Int)
        case flag(String)

        public var description: String {
            switch self {
            case .builtin: return "default"
            case .file(let path, let line): return "\(path):\(line)"
            case .flag(let name): return name
            }
        }
    }

    public var policy = Policy()
    /// `[Storage] Root=`: accumulated over files, reset by an empty `Root=`; `--root` replaces them.
    public var roots: [(path: String, origin: Origin)] = []
    /// `[Storage] Protect=`: accumulated over files, reset by an empty `Protect=`; `--protect`
    /// adds to them (a flag never lifts a protection). Mirrored in `policy.protection`.
    public private(set) var protect: [(glob: String, origin: Origin)] = []
    /// `[Log] Target=`: auto, journal or stderr.
    public var logTarget = "auto"
    /// `[Watch] RescanInterval=`.
    public var rescanInterval: Threshold = .after(6 * .hour)
    /// `[Watch] Events=`.
    public var events = EventSourceChoice.auto
    /// `[Metrics] File=`: where a Prometheus text file is written after each pass; nil: none.
    public var metricsFile: String?
    /// Where each single-valued setting's value came from, by `Section.Key`.
    public private(set) var origins: [String: Origin] = [:]

    public init() {}

    public static func == (a: Configuration, b: Configuration) -> Bool {
        a.policy == b.policy && a.roots.map(\.path) == b.roots.map(\.path) && a.logTarget == b.logTarget
            && a.rescanInterval == b.rescanInterval && a.events == b.events && a.metricsFile == b.metricsFile
    }

    /// One setting: its place in the files, its flag, and how to read and print it.
    public struct Setting: Sendable {
        public let section: String
        public let key: String
        /// The flag that overrides it, if any.
        public let flag: String?
        let apply: @Sendable (inout Configuration, String) throws(SettingError) -> Void
        let show: @Sendable (Configuration) -> String

        public var name: String { "\(section).\(key)" }
    }

    /// Why a value was refused (the caller adds the file and line, or the flag).
    public struct SettingError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private static func threshold(_ text: String) throws(SettingError) -> Threshold {
        do { return try DurationText.parse(text) } catch { throw SettingError(message: error.description) }
    }

    /// A bare 0 used to switch these rules off; it is refused rather than read anew (README).
    private static func migratedThreshold(_ text: String, _ name: String) throws(SettingError) -> Threshold {
        if DurationText.isUnitlessZero(text) {
            throw SettingError(message: "a bare 0 no longer switches \(name) off (0 now means at once, as for every rule); "
                               + "write infinity to switch it off, or 0s to act at once")
        }
        return try threshold(text)
    }

    public static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "yes", "y", "true", "t", "on": return true
        case "0", "no", "n", "false", "f", "off": return false
        default: return nil
        }
    }

    /// The largest `DBBusyTimeout=`: a row change never waits longer for the harness.
    public static let maximumBusyTimeout: Millis = 10 * .minute

    public static let settings: [Setting] = [
        Setting(section: "Storage", key: "Root", flag: "--root", apply: { _, _ throws(SettingError) in }, show: { _ in "" }),
        Setting(section: "Storage", key: "Protect", flag: "--protect", apply: { _, _ throws(SettingError) in }, show: { _ in "" }),
        Setting(section: "Policy", key: "FinalizeGrace", flag: "--finalize-grace",
                apply: { c, t throws(SettingError) in c.policy.finalizeGrace = try threshold(t) },
                show: { DurationText.format($0.policy.finalizeGrace) }),
        Setting(section: "Policy", key: "SpawnGrace", flag: "--spawn-grace",
                apply: { c, t throws(SettingError) in c.policy.spawnGrace = try threshold(t) },
                show: { DurationText.format($0.policy.spawnGrace) }),
        Setting(section: "Policy", key: "Retention", flag: "--retention",
                apply: { c, t throws(SettingError) in c.policy.retention = try threshold(t) },
                show: { DurationText.format($0.policy.retention) }),
        Setting(section: "Policy", key: "StaleAfter", flag: "--stale-after",
                apply: { c, t throws(SettingError) in c.policy.staleAfter = try migratedThreshold(t, "StaleAfter=") },
                show: { DurationText.format($0.policy.staleAfter) }),
        Setting(section: "Policy", key: "AbandonedAfter", flag: "--abandoned-after",
                apply: { c, t throws(SettingError) in c.policy.abandonedAfter = try migratedThreshold(t, "AbandonedAfter=") },
                show: { DurationText.format($0.policy.abandonedAfter) }),
        Setting(section: "Policy", key: "QuarantineRetention", flag: "--quarantine-retention",
                apply: { c, t throws(SettingError) in c.policy.quarantineRetention = try threshold(t) },
                show: { DurationText.format($0.policy.quarantineRetention) }),
        Setting(section: "Policy", key: "EnforceTimeouts", flag: "--enforce-timeouts",
                apply: { c, t throws(SettingError) in
                    guard let value = boolean(t) else { throw SettingError(message: "expected a boolean (yes/no, true/false, on/off, 1/0), found '\(t)'") }
                    c.policy.enforceTimeouts = value
                },
                show: { $0.policy.enforceTimeouts ? "yes" : "no" }),
        Setting(section: "Policy", key: "DBBusyTimeout", flag: "--db-busy-timeout",
                apply: { c, t throws(SettingError) in
                    do throws(DurationText.Invalid) { c.policy.dbBusyTimeout = try DurationText.parseFinite(t, maximum: maximumBusyTimeout) } catch {
                        throw SettingError(message: error.description)
                    }
                },
                show: { DurationText.format($0.policy.dbBusyTimeout) }),
        Setting(section: "Log", key: "Target", flag: "--log-target",
                apply: { c, t throws(SettingError) in
                    guard ["auto", "journal", "stderr"].contains(t) else {
                        throw SettingError(message: "expected auto, journal or stderr, found '\(t)'")
                    }
                    c.logTarget = t
                },
                show: { $0.logTarget }),
        Setting(section: "Watch", key: "RescanInterval", flag: "--rescan-interval",
                apply: { c, t throws(SettingError) in
                    let value = try threshold(t)
                    if case .after(let interval) = value, interval < .second {
                        throw SettingError(message: DurationText.isUnitlessZero(t)
                            ? "0 no longer switches the safety rescan off (it would rescan without pause); write infinity"
                            : "the safety rescan interval must be at least 1s, or infinity for none")
                    }
                    c.rescanInterval = value
                },
                show: { DurationText.format($0.rescanInterval) }),
        Setting(section: "Watch", key: "Events", flag: "--events",
                apply: { c, t throws(SettingError) in
                    guard let value = EventSourceChoice(rawValue: t) else {
                        throw SettingError(message: "\(EventSourceChoice.expected), found '\(t)'")
                    }
                    c.events = value
                },
                show: { $0.events.rawValue }),
        Setting(section: "Metrics", key: "File", flag: "--metrics-file",
                apply: { c, t throws(SettingError) in
                    guard t.isEmpty || t.hasPrefix("/") else { throw SettingError(message: "expected an absolute path, found '\(t)'") }
                    c.metricsFile = t.isEmpty ? nil : t
                },
                show: { $0.metricsFile ?? "" }),
    ]

    public static func setting(section: String, key: String) -> Setting? {
        settings.first { $0.section == section && $0.key == key }
    }

    /// One assignment from a file: later ones win, `Root=` accumulates (empty: reset).
    public mutating func apply(_ assignment: ConfigFile.Assignment) throws(ConfigFile.Invalid) {
        let origin = Origin.file(assignment.file, line: assignment.line)
        guard let setting = Self.setting(section: assignment.section, key: assignment.key) else {
            throw ConfigFile.Invalid(file: assignment.file, line: assignment.line,
                                     message: Self.unknown(section: assignment.section, key: assignment.key))
        }
        do { try set(setting, assignment.value, origin: origin) } catch {
            throw ConfigFile.Invalid(file: assignment.file, line: assignment.line,
                                     message: "[\(setting.section)] \(setting.key)=\(assignment.value): \(error.message)")
        }
    }

    public mutating func set(_ setting: Setting, _ text: String, origin: Origin) throws(SettingError) {
        if setting.section == "Storage", setting.key == "Root" {
            if text.isEmpty { roots.removeAll(); return }
            guard text.hasPrefix("/") else { throw SettingError(message: "expected an absolute path, found '\(text)'") }
            roots.append((text, origin))
            return
        }
        if setting.section == "Storage", setting.key == "Protect" {
            if text.isEmpty {
                protect.removeAll()
                policy.protection = Protection()
                return
            }
            try addProtect(text, origin: origin)
            return
        }
        try setting.apply(&self, text)
        origins[setting.name] = origin
    }

    /// One more protecting glob (a file's `Protect=`, or `--protect`).
    public mutating func addProtect(_ text: String, origin: Origin) throws(SettingError) {
        let glob: String
        do { glob = try Protection.normalize(text) } catch { throw SettingError(message: error.message) }
        guard !protect.contains(where: { $0.glob == glob }) else { return }
        protect.append((glob, origin))
        policy.protection.append(glob)
    }

    /// A value given by a flag (already parsed there): only its origin is recorded.
    public mutating func flagged(_ name: String, flag: String) {
        origins[name] = .flag(flag)
    }

    public func origin(of setting: Setting) -> Origin { origins[setting.name] ?? .builtin }

    public func text(of setting: Setting) -> String { setting.show(self) }

    /// "unknown key 'Retension' in [Policy]; did you mean 'Retention'?"
    static func unknown(section: String, key: String) -> String {
        let sections = Array(Set(settings.map(\.section))).sorted()
        guard sections.contains(section) else {
            let hint = closest(section, among: sections).map { "; did you mean [\($0)]?" } ?? " (sections: \(sections.joined(separator: ", ")))"
            return "unknown section [\(section)]\(hint)"
        }
        let keys = settings.filter { $0.section == section }.map(\.key)
        let hint = closest(key, among: keys).map { "; did you mean '\($0)'?" } ?? " (keys: \(keys.joined(separator: ", ")))"
        return "unknown key '\(key)' in [\(section)]\(hint)"
    }

    static func closest(_ word: String, among candidates: [String]) -> String? {
        let lower = word.lowercased()
        let scored = candidates.map { ($0, distance(lower, $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (best, score) = scored, score <= max(2, word.count / 3) else { return nil }
        return best
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
