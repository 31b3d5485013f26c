#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaperSystem

/// `--root` and `--log-target`, shared by `sweep` and `watch`.
struct RootOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: ArgumentHelp("A storage root (repeatable). Default: every default root that exists (README).", valueName: "DIR"))
    var roots: [String] = []

    @Option(name: .customLong("log-target"), help: ArgumentHelp("Where actions are logged: journal, stderr, or auto (journal when its socket exists, else warnings and errors on stderr).", valueName: "auto|journal|stderr"))
    var logTarget: LogTarget = .auto

    func validate() throws { try Self.validate(roots) }

    /// The named roots, or the default ones that exist now.
    var resolvedRoots: [String] { Self.resolve(roots) }

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
}

extension LogTarget: ExpressibleByArgument {}
