#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaperCore
import TaskReaperSystem

/// `--root` and `--log-target`, shared by `sweep` and `watch`.
struct RootOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: ArgumentHelp("A storage root (repeatable). Default: the default roots (README); sweep takes those that exist, watch also waits for the others.", valueName: "DIR"))
    var roots: [String] = []

    @Option(name: .customLong("log-target"), help: ArgumentHelp("Where the record goes: journal, stderr (human lines, no journal), or auto (journal when its socket exists). With journal, errors are repeated on stderr unless stderr is the journal already ($JOURNAL_STREAM, as under systemd). Default auto, or the configuration's [Log] Target=.", valueName: "auto|journal|stderr"))
    var logTargetFlag: LogTarget?

    /// sweep and list: every `--root` must be a directory now (a usage error otherwise, exit 2).
    func validateExisting() throws { try Self.validate(roots) }

    /// The flag, else the configuration's `[Log] Target=`, else auto.
    var logTarget: LogTarget {
        logTargetFlag ?? LogTarget(rawValue: ConfigurationStore.shared.configuration.logTarget) ?? .auto
    }

    /// The named roots, else the configuration's `Root=`s, else the default ones that exist now.
    var resolvedRoots: [String] { Self.effective(roots) }

    /// `roots` given on the command line, else the configuration's `Root=`s, else the default
    /// roots that exist now; absolute.
    static func effective(_ roots: [String]) -> [String] {
        if roots.isEmpty {
            let configured = ConfigurationStore.shared.configuration.roots.map(\.path)
            if !configured.isEmpty { return configured.map(absolute) }
        }
        return resolve(roots)
    }

    /// The flags over `configuration`, each recorded as the origin of its value.
    func apply(to configuration: inout Configuration) {
        if !roots.isEmpty { configuration.roots = roots.map { (Self.absolute($0), .flag("--root")) } }
        if let logTargetFlag {
            configuration.logTarget = logTargetFlag.rawValue
            configuration.flagged("Log.Target", flag: "--log-target")
        }
    }

    /// Each named root must be a directory now (a usage error otherwise, exit 2).
    static func validate(_ roots: [String]) throws {
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                throw ValidationError("root \(root): \(String(cString: strerror(errno)))")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("root \(root): not a directory") }
        }
    }

    /// The named roots made absolute (every path a report names is absolute, whatever the
    /// working directory: README "--json"), or the default roots that exist now.
    static func resolve(_ roots: [String]) -> [String] {
        (roots.isEmpty ? DefaultRoots.existing(environment: DefaultRoots.processEnvironment()) : roots).map(absolute)
    }

    /// `path` against the working directory: `.` and empty parts dropped, `..` kept (folding
    /// it lexically would be wrong after a link), links kept as named.
    static func absolute(_ path: String) -> String {
        var base = path.hasPrefix("/") ? "" : (currentDirectory() ?? "")
        base += "/" + path
        var parts: [Substring] = []
        for part in base.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(cString: buffer)
    }

    /// watch: a `--root` that does not exist yet (ENOENT, at any level) is waited for;
    /// one that can never become a root (a file, EACCES, ENOTDIR...) is a usage error.
    func validateWaitable() throws {
        for root in roots {
            if let reason = RootPath.unusableReason(root) { throw ValidationError("root \(root): \(reason)") }
        }
    }

    /// watch: the named roots, or every default root that is a directory or may become one.
    /// Relative ones are made absolute (their parents are watched by path).
    var watchedRoots: [String] {
        guard roots.isEmpty else { return roots.map(Self.absolute) }
        let configured = ConfigurationStore.shared.configuration.roots.map(\.path)
        if !configured.isEmpty { return configured.map(Self.absolute) }
        return DefaultRoots.candidates(environment: DefaultRoots.processEnvironment()).filter {
            $0.hasPrefix("/") && RootPath.unusableReason($0) == nil
        }
    }
}

extension LogTarget: ExpressibleByArgument {}
