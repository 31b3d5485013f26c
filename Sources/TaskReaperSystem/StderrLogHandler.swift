#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `taskreaper: <level>: <message> KEY=value...` on stderr (or any fd), one write(2) per
/// line so lines from worker threads never interleave. Only the TASKREAPER_* fields are
/// printed: MESSAGE_ID is for the journal catalog, not for people.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let fd: Int32

    public init(logLevel: Logger.Level = .info, fd: Int32 = STDERR_FILENO) {
        self.logLevel = logLevel
        self.fd = fd
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line = "taskreaper: \(event.level): \(event.message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where key.hasPrefix("TASKREAPER_") {
            line += " \(key)=\(Self.quoted(JournalLogHandler.render(value)))"
        }
        line += "\n"
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "\n" || $0 == "\\" || $0 == "=" }) else { return value }
        var out = "\""
        for ch in value {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}
