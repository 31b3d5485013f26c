#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TaskReaperCore
import TaskReaperSystem

/// Reads the configuration files (README "Configuration"): in each configuration directory,
/// `taskreaper.conf`, then `taskreaper.conf.d/*.conf` in file-name order; the directories are
/// `/etc/taskreaper` then `${XDG_CONFIG_HOME:-~/.config}/taskreaper`, later values winning.
/// `TASKREAPER_CONFIG_DIRS` (colon-separated; empty: none) replaces that list (tests use it so
/// they never read the machine's /etc).
enum ConfigLoader {
    static let environmentVariable = "TASKREAPER_CONFIG_DIRS"

    struct Loaded: Sendable {
        var configuration: Configuration
        /// Every file read, in order.
        var files: [String]
    }

    static func directories(environment: [String: String]) -> [String] {
        if let explicit = environment[environmentVariable] {
            return explicit.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home.map { $0 + "/.config" }
        return ["/etc/taskreaper"] + (configHome.map { [$0 + "/taskreaper"] } ?? [])
    }

    /// The files of one directory, in reading order (only those that exist).
    static func files(in directory: String) throws(ConfigFile.Invalid) -> [String] {
        var files: [String] = []
        let main = directory + "/taskreaper.conf"
        if exists(main) { files.append(main) }
        let dropIns = directory + "/taskreaper.conf.d"
        guard let dir = opendir(dropIns) else {
            if errno == ENOENT || errno == ENOTDIR { return files }
            throw ConfigFile.Invalid(file: dropIns, line: 0, message: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasSuffix(".conf"), !name.hasPrefix(".") { names.append(name) }
        }
        // Byte order, as systemd sorts drop-ins (10-a.conf before 20-b.conf).
        files += names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { dropIns + "/" + $0 }
        return files
    }

    static func load(environment: [String: String] = DefaultRoots.processEnvironment()) throws(ConfigFile.Invalid) -> Loaded {
        var configuration = Configuration()
        var read: [String] = []
        for directory in directories(environment: environment) {
            for file in try files(in: directory) {
                for assignment in try ConfigFile.parse(try contents(of: file), file: file) {
                    try configuration.apply(assignment)
                }
                read.append(file)
            }
        }
        return Loaded(configuration: configuration, files: read)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// A configuration file's bytes: a regular file of at most 1 MiB.
    static func contents(of path: String) throws(ConfigFile.Invalid) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigFile.Invalid(file: path, line: 0, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw ConfigFile.Invalid(file: path, line: 0, message: "not a regular file")
        }
        guard st.st_size <= 1 << 20 else { throw ConfigFile.Invalid(file: path, line: 0, message: "larger than 1 MiB") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw ConfigFile.Invalid(file: path, line: 0, message: String(cString: strerror(errno))) }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return bytes
    }
}

/// The configuration this process read at start (or at the last good SIGHUP).
final class ConfigurationStore: Sendable {
    static let shared = ConfigurationStore()
    private let state = Mutex<ConfigLoader.Loaded>(.init(configuration: Configuration(), files: []))

    var loaded: ConfigLoader.Loaded { state.withLock { $0 } }
    var configuration: Configuration { loaded.configuration }

    func replace(_ loaded: ConfigLoader.Loaded) { state.withLock { $0 = loaded } }
}
