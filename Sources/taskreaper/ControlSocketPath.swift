#if canImport(Glibc)
import Glibc
#endif
import TaskReaperSystem

/// Where `watch` listens and `ctl` connects when no path is given: the user's runtime
/// directory (what the user socket unit uses, %t/taskreaper.sock), or /run for root.
enum ControlSocketPath {
    static func defaultPath() -> String? {
        let environment = DefaultRoots.processEnvironment()
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/taskreaper.sock" }
        return geteuid() == 0 ? "/run/taskreaper.sock" : nil
    }
}
