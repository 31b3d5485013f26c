#if canImport(Glibc)
import Glibc
#endif

/// CONTRACT §1: where the harness keeps its storage roots when none is named, in the
/// contract's order. Only the ones that exist are returned.
public enum DefaultRoots {
    public static func candidates(environment: [String: String]) -> [String] {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? passwordHome()
        let dataHome = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home.map { $0 + "/.local/share" }
        var roots: [String] = []
        if let dir = environment["AFT_STORAGE_DIR"], !dir.isEmpty { roots.append(dir) }
        if let dataHome { roots.append(dataHome + "/opencode/storage/plugin/aft") }
        if let home { roots.append(home + "/.pi/agent/aft") }
        if let dataHome { roots.append(dataHome + "/cortexkit/aft") }
        if let dir = environment["AFT_CACHE_DIR"], !dir.isEmpty { roots.append(dir + "/aft") }
        if let home { roots.append(home + "/.cache/aft") }
        return roots
    }

    /// The candidates that are directories now (following links: the operator's layout).
    public static func existing(environment: [String: String]) -> [String] {
        candidates(environment: environment).filter { path in
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        }
    }

    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            cursor += 1
        }
        return result
    }

    private static func passwordHome() -> String? {
        guard let entry = getpwuid(geteuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }
}
