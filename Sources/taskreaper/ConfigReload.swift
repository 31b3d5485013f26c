import TaskReaper
import TaskReaperCore
import TaskReaperSystem

/// `watch` on SIGHUP (README "Configuration"): the files are read again; a good result
/// replaces the policy (flags still win) and says what changed; a bad one is an `error`
/// report naming the file and line, and the configuration in effect stays.
enum ConfigReload {
    static func handler(policyOptions: PolicyOptions, live: LivePolicy, reporter: Reporter, root: String) -> @Sendable () -> Void {
        return {
            let loaded: ConfigLoader.Loaded
            do throws(ConfigFile.Invalid) { loaded = try ConfigLoader.load() } catch {
                var event = ActionReport(.error, path: error.file, location: Location(root: root, harness: nil),
                                         message: "Configuration not reloaded: \(error); keeping the configuration in effect")
                event.details = [("operation", .string("reload configuration")), ("error", .string(error.message))]
                reporter.report(event)
                return
            }
            let previous = ConfigurationStore.shared.configuration
            ConfigurationStore.shared.replace(loaded)
            let before = live.current
            let after = policyOptions.policy(over: loaded.configuration)
            live.replace(after)
            var changes: [String] = []
            var old = previous
            old.policy = before
            var new = loaded.configuration
            new.policy = after
            for setting in Configuration.settings where setting.section == "Policy" {
                let (a, b) = (old.text(of: setting), new.text(of: setting))
                if a != b { changes.append("\(setting.key) \(a) -> \(b)") }
            }
            let (protectBefore, protectAfter) = (before.protection.globs, after.protection.globs)
            if protectBefore != protectAfter {
                changes.append("Protect= " + (protectBefore.isEmpty ? "none" : protectBefore.joined(separator: " "))
                               + " -> " + (protectAfter.isEmpty ? "none" : protectAfter.joined(separator: " ")))
            }
            var restart: [String] = []
            if previous.roots.map(\.path) != loaded.configuration.roots.map(\.path) { restart.append("Root=") }
            if previous.logTarget != loaded.configuration.logTarget { restart.append("Target=") }
            if previous.rescanInterval != loaded.configuration.rescanInterval { restart.append("RescanInterval=") }
            if previous.events != loaded.configuration.events { restart.append("Events=") }
            if previous.metricsFile != loaded.configuration.metricsFile { restart.append("File=") }
            let files = loaded.files.count
            reporter.note("Reloaded the configuration (\(files) file\(files == 1 ? "" : "s")): "
                          + (changes.isEmpty ? "no policy change" : changes.joined(separator: ", "))
                          + (restart.isEmpty ? "" : "; \(restart.joined(separator: ", ")) take effect at the next start"))
        }
    }
}
