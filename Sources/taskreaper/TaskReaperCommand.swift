#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskReaper

struct TaskReaperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskreaper",
        abstract: "Keeps the bash-tasks directories of AI coding harnesses healthy.",
        version: "0.1.0",
        subcommands: [Sweep.self, Watch.self, List.self, ConfigCommand.self, Ctl.self]
    )

    /// ArgumentParser exits 64 on usage errors; our contract (README) says 2.
    static func runAndExit() -> Never {
        do {
            var command = try parseAsRoot()
            if command is Sweep || command is Watch || command is List || command is ConfigCommand {
                // The files first: a malformed one is a configuration error (exit 2), before anything runs.
                do { ConfigurationStore.shared.replace(try ConfigLoader.load()) } catch {
                    printError("taskreaper: configuration: \(error)")
                    Glibc.exit(ExitStatus.usage)
                }
            }
            try command.run()
            Glibc.exit(ExitStatus.success)
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let message = fullMessage(for: error)
            if exitCode(for: error) == .success {
                print(message)
                Glibc.exit(ExitStatus.success)
            }
            printError(message)
            Glibc.exit(ExitStatus.usage)
        }
    }
}
