#if canImport(Glibc)
import Glibc
#endif
import Logging
import SystemPackage

/// `taskreaper: <level>: <message> KEY=value...` on stderr (or any fd), one write(2) per
/// line so lines from worker threads never interleave. Only the TASKREAPER_* fields are
/// printed (sorted, so lines are stable): MESSAGE_ID is for the journal catalog, not for
/// people. A record is always one line: newlines in the message are escaped, and values
/// with spaces, quotes, `=`, backslashes or control characters are quoted and escaped.
public struct StderrLogHandler: LogHandler, Sendable {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    /// Not owned: never closed here. Tests pass a pipe.
    public let fd: Int32

    public init(logLevel: Logger.Level = .info, fd: Int32 = STDERR_FILENO) {
        self.logLevel = logLevel
        self.fd = fd
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let bytes = Self.line(level: event.level, message: event.message.description,
                              handlerMetadata: metadata, callMetadata: event.metadata ?? [:])
        // A closed stderr loses the line: nowhere left to say so.
        _ = try? FileDescriptor(rawValue: fd).writeAll(bytes)
    }

    /// The line for one record, newline included.
    static func line(level: Logger.Level, message: String, handlerMetadata: Logger.Metadata, callMetadata: Logger.Metadata) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + message.utf8.count)
        bytes.append(contentsOf: "taskreaper: ".utf8)
        bytes.append(contentsOf: level.rawValue.utf8)
        bytes.append(contentsOf: ": ".utf8)
        appendEscaped(message, to: &bytes)

        var fields: [(key: String, value: Logger.Metadata.Value)] = []
        for (key, value) in callMetadata where key.hasPrefix("TASKREAPER_") { fields.append((key, value)) }
        for (key, value) in handlerMetadata where key.hasPrefix("TASKREAPER_") && callMetadata[key] == nil { fields.append((key, value)) }
        fields.sort { $0.key < $1.key }
        for field in fields {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: field.key.utf8)
            bytes.append(UInt8(ascii: "="))
            appendQuoted(JournalLogHandler.render(field.value), to: &bytes)
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    static func quoted(_ value: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        let needsQuotes = value.isEmpty || value.utf8.contains { byte in
            byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "=")
        }
        guard needsQuotes else { bytes.append(contentsOf: value.utf8); return }
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
            default: appendEscapedByte(byte, to: &bytes)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The message as is, but control characters escaped: one record, one line.
    private static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        for byte in text.utf8 { appendEscapedByte(byte, to: &bytes) }
    }

    private static func appendEscapedByte(_ byte: UInt8, to bytes: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: "\\r".utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: "\\t".utf8)
        case 0..<0x20, 0x7F:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: "\\x".utf8)
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        default: bytes.append(byte)
        }
    }
}
