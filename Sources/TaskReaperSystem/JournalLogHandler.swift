#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Logging
import Synchronization

/// A swift-log backend that sends each record to journald as structured fields through
/// `sd_journal_sendv` (`sd_journal_send` is variadic and cannot be called from Swift).
/// Metadata keys are journal field names by convention (`MESSAGE_ID`, `TASKREAPER_*`);
/// MESSAGE, PRIORITY and SYSLOG_IDENTIFIER are added here.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let identifier: String

    public init(identifier: String = "taskreaper", logLevel: Logger.Level = .info) {
        self.identifier = identifier
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [[UInt8]] = []
        fields.reserveCapacity(4 + metadata.count + (event.metadata?.count ?? 0))
        fields.append(Self.field("MESSAGE", event.message.description))
        fields.append(Self.field("PRIORITY", String(Self.priority(event.level))))
        fields.append(Self.field("SYSLOG_IDENTIFIER", identifier))
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged {
            guard let name = Self.fieldName(key) else { continue }
            fields.append(Self.field(name, Self.render(value)))
        }
        Self.send(fields)
    }

    /// syslog(3) priorities.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// journald's field-name rules: uppercase letters, digits and `_`, not starting with
    /// `_` (trusted fields) or a digit, at most 64 characters. Anything else is mapped.
    public static func fieldName(_ key: String) -> String? {
        var bytes = key.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): return byte
            default: return UInt8(ascii: "_")
            }
        }
        while let first = bytes.first, first == UInt8(ascii: "_") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            bytes.removeFirst()
        }
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes.prefix(64), as: UTF8.self)
    }

    static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
        case .dictionary(let dict): return "{" + dict.sorted { $0.key < $1.key }.map { "\($0.key): \(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    private static func field(_ name: String, _ value: String) -> [UInt8] {
        var bytes = Array(name.utf8)
        bytes.append(UInt8(ascii: "="))
        bytes.append(contentsOf: value.utf8)  // binary-safe: values may hold newlines
        return bytes
    }

    private static let warnedOnce = Atomic<Bool>(false)

    private static func send(_ fields: [[UInt8]]) {
        var result: Int32 = 0
        withIOVecs(fields, index: 0, collected: []) { iovecs in
            iovecs.withUnsafeBufferPointer { buffer in
                result = sd_journal_sendv(buffer.baseAddress, Int32(buffer.count))
            }
        }
        if result < 0, !warnedOnce.exchange(true, ordering: .relaxed) {
            let line = "taskreaper: warning: cannot log to journald: \(String(cString: strerror(-result)))\n"
            _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
    }

    /// Pins every field's bytes for the duration of the call, without copying them again.
    private static func withIOVecs(_ fields: [[UInt8]], index: Int, collected: [iovec], _ body: ([iovec]) -> Void) {
        if index == fields.count { body(collected); return }
        fields[index].withUnsafeBytes { raw in
            var next = collected
            next.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count))
            withIOVecs(fields, index: index + 1, collected: next, body)
        }
    }
}
