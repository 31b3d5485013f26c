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

    func validate() throws {
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                throw ValidationError("root \(root): \(String(cString: strerror(errno)))")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ValidationError("root \(root): not a directory") }
        }
    }

    /// The named roots, or the default ones that exist now.
    var resolvedRoots: [String] {
        roots.isEmpty ? DefaultRoots.existing(environment: DefaultRoots.processEnvironment()) : roots
    }
}

extension LogTarget: ExpressibleByArgument {}
