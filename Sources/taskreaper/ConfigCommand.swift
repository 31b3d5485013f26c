#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaperCore
import TaskReaperSystem

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the configuration in effect, and where each value comes from.",
        discussion: """
        Reads the configuration files (/etc/taskreaper/taskreaper.conf, \
        /etc/taskreaper/taskreaper.conf.d/*.conf, then the same under \
        ${XDG_CONFIG_HOME:-~/.config}/taskreaper; TASKREAPER_CONFIG_DIRS replaces that list), \
        applies the flags given, and prints the result as a configuration file, each value \
        followed by its origin (file:line, the flag, or default). --cat prints the files as \
        they are, each under a comment naming it (as systemd-tmpfiles --cat-config).

        Exit status: 0 printed; 2 a file is malformed (the message names the file and line) or \
        a usage error.
        """
    )

    @OptionGroup
    var rootOptions: RootOptions

    @OptionGroup(title: "Policy")
    var policyOptions: PolicyOptions

    @Flag(name: .customLong("cat"), help: "Print the configuration files themselves, in reading order.")
    var cat = false

    func run() throws {
        let loaded = ConfigurationStore.shared.loaded
        if cat {
            var out = ""
            for file in loaded.files {
                out += "# \(file)\n"
                let text = String(decoding: (try? ConfigLoader.contents(of: file)) ?? [], as: UTF8.self)
                out += text + (text.hasSuffix("\n") || text.isEmpty ? "" : "\n") + "\n"
            }
            if loaded.files.isEmpty { out += "# no configuration file\n" }
            print(out, terminator: "")
            return
        }
        var configuration = loaded.configuration
        rootOptions.apply(to: &configuration)
        policyOptions.apply(to: &configuration)
        print(ConfigText.render(configuration, files: loaded.files,
                                directories: ConfigLoader.directories(environment: DefaultRoots.processEnvironment()),
                                defaultRoots: DefaultRoots.existing(environment: DefaultRoots.processEnvironment())),
              terminator: "")
    }
}

/// The merged configuration as a file, each value with its origin.
enum ConfigText {
    static func render(_ configuration: Configuration, files: [String], directories: [String], defaultRoots: [String]) -> String {
        var lines: [String] = ["# The configuration in effect: built-in defaults, then these files (later wins), then flags."]
        lines.append("# Directories read: " + (directories.isEmpty ? "none" : directories.joined(separator: ", ")))
        lines += files.isEmpty ? ["# Files: none"] : ["# Files:"] + files.map { "#   " + $0 }
        var rows: [(String, String)] = []
        var section = ""
        for setting in Configuration.settings {
            if setting.section != section {
                section = setting.section
                rows.append(("", ""))
                rows.append(("[\(section)]", ""))
            }
            if setting.section == "Storage", setting.key == "Root" {
                if configuration.roots.isEmpty {
                    rows += defaultRoots.map { ("Root=\($0)", "default root (exists)") }
                    if defaultRoots.isEmpty { rows.append(("# Root= none configured and no default root exists", "")) }
                } else {
                    rows += configuration.roots.map { ("Root=\($0.path)", $0.origin.description) }
                }
                continue
            }
            rows.append(("\(setting.key)=\(configuration.text(of: setting))", configuration.origin(of: setting).description))
        }
        let width = rows.filter { !$0.1.isEmpty }.map(\.0.count).max() ?? 0
        for (text, origin) in rows {
            lines.append(origin.isEmpty ? text : text + String(repeating: " ", count: width - text.count + 2) + "# " + origin)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
