#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Logging
import Synchronization

/// A swift-log backend that sends each record to journald as structured fields through
/// `sd_journal_sendv` (`sd_journal_send` is variadic and cannot be called from Swift).
///
/// Fields: MESSAGE, PRIORITY (syslog level), SYSLOG_IDENTIFIER, then every metadata entry
/// (the handler's, overridden by the call's). Metadata keys are journal field names by
/// convention (`MESSAGE_ID`, `TASKREAPER_*`); odd keys are mapped to valid names rather than
/// dropped by journald. Values are sent as bytes, so newlines survive. An array value is the
/// same field once per element (journald keeps every value, and `journalctl FIELD=value`
/// matches any of them): one entry can name every task of a batch.
///
/// A sweep logs one record per action (20 000 in the benchmark), so a record costs one
/// byte buffer for all fields and stack-allocated iovecs: no per-field arrays, no merged
/// metadata dictionary.
public struct JournalLogHandler: LogHandler, Sendable {
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
        Self.checkSocketOnce()
        let message = event.message.description
        let callMetadata = event.metadata ?? [:]
        let maxFields = 3 + Self.fieldCount(metadata) + Self.fieldCount(callMetadata)

        var buffer: [UInt8] = []
        buffer.reserveCapacity(128 + message.utf8.count + identifier.utf8.count + 48 * (maxFields - 3))
        // ends[i] = where field i stops in `buffer`; iovecs are built once the buffer no
        // longer grows (appending may move it).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: maxFields) { ends in
            var count = 0
            func close() { ends[count] = buffer.count; count += 1 }

            buffer.append(contentsOf: "MESSAGE=".utf8)
            buffer.append(contentsOf: message.utf8)
            close()
            buffer.append(contentsOf: "PRIORITY=".utf8)
            buffer.append(UInt8(ascii: "0") + UInt8(Self.priority(event.level)))
            close()
            buffer.append(contentsOf: "SYSLOG_IDENTIFIER=".utf8)
            buffer.append(contentsOf: identifier.utf8)
            close()

            // An array is the field once per element; no array is built for the usual case.
            func emit(_ key: String, _ value: Logger.Metadata.Value) {
                if case .array(let items) = value {
                    for item in items where Self.appendField(key, item, to: &buffer) { close() }
                } else if Self.appendField(key, value, to: &buffer) {
                    close()
                }
            }
            for (key, value) in callMetadata { emit(key, value) }
            for (key, value) in metadata where callMetadata[key] == nil { emit(key, value) }

            let result = buffer.withUnsafeBytes { bytes in
                withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { iovecs in
                    var start = 0
                    for i in 0..<count {
                        iovecs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + start), iov_len: ends[i] - start)
                        start = ends[i]
                    }
                    return sd_journal_sendv(iovecs.baseAddress, Int32(count))
                }
            }
            if result < 0 { Self.warnUnreachable("sd_journal_sendv", errno: -result) }
        }
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
    /// `_` (reserved for trusted fields: journald drops them) or a digit, at most 64
    /// characters. Lowercase is uppercased, anything else becomes `_`. nil when nothing is left.
    public static func fieldName(_ key: String) -> String? {
        var bytes: [UInt8] = []
        guard appendFieldName(key, to: &bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Fields this handler sets itself: a metadata key that maps to one of them is dropped,
    /// or journalctl would show MESSAGE as a list of two values.
    static let reservedNames: [[UInt8]] = [Array("MESSAGE".utf8), Array("PRIORITY".utf8), Array("SYSLOG_IDENTIFIER".utf8)]

    /// How many fields `metadata` makes (an array, one per element).
    static func fieldCount(_ metadata: Logger.Metadata) -> Int {
        metadata.values.reduce(0) { count, value in
            if case .array(let items) = value { return count + items.count }
            return count + 1
        }
    }

    /// Appends `NAME=value`; false (and `buffer` unchanged) when the key maps to no usable name.
    static func appendField(_ key: String, _ value: Logger.Metadata.Value, to buffer: inout [UInt8]) -> Bool {
        let start = buffer.count
        guard appendFieldName(key, to: &buffer) else { return false }
        let name = buffer[start...]
        if reservedNames.contains(where: { name.elementsEqual($0) }) {
            buffer.removeSubrange(start...)
            return false
        }
        buffer.append(UInt8(ascii: "="))
        appendRendered(value, to: &buffer)
        return true
    }

    private static func appendFieldName(_ key: String, to buffer: inout [UInt8]) -> Bool {
        var written = 0
        for byte in key.utf8 {
            let mapped: UInt8
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): mapped = byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): mapped = byte
            default: mapped = UInt8(ascii: "_")
            }
            // Leading `_` and digits (also those that come from mapping) are stripped.
            if written == 0, mapped == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(mapped) { continue }
            buffer.append(mapped)
            written += 1
            if written == 64 { break }
        }
        return written > 0
    }

    /// A metadata value as plain text: strings as they are, arrays `[a, b]`, dictionaries
    /// `{k: v}` with sorted keys (stable across runs, so entries can be matched on).
    static func render(_ value: Logger.Metadata.Value) -> String {
        if case .string(let s) = value { return s }
        var bytes: [UInt8] = []
        appendRendered(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendRendered(_ value: Logger.Metadata.Value, to buffer: inout [UInt8]) {
        switch value {
        case .string(let s):
            buffer.append(contentsOf: s.utf8)
        case .stringConvertible(let c):
            buffer.append(contentsOf: c.description.utf8)
        case .array(let items):
            buffer.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { buffer.append(contentsOf: ", ".utf8) }
                appendRendered(item, to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .dictionary(let dict):
            buffer.append(UInt8(ascii: "{"))
            for (i, entry) in dict.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { buffer.append(contentsOf: ", ".utf8) }
                buffer.append(contentsOf: entry.key.utf8)
                buffer.append(contentsOf: ": ".utf8)
                appendRendered(entry.value, to: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    private static let warnedUnreachable = Atomic<Bool>(false)
    private static let checkedSocket = Atomic<Bool>(false)

    /// sd_journal_sendv reports success when journald's socket does not exist (libsystemd
    /// "fails silently if the journal is not available"), so that case is checked here, once
    /// per process, by a stat of the socket. Other failures (ECONNREFUSED from a stale
    /// socket, EMSGSIZE...) come back from the send itself.
    private static func checkSocketOnce() {
        guard !checkedSocket.load(ordering: .relaxed), !checkedSocket.exchange(true, ordering: .relaxed) else { return }
        if !LogTarget.journalIsAvailable { warnUnreachable(LogTarget.journalSocketPath, errno: ENOENT) }
    }

    /// Logging must never take the process down, and a journald that is gone would
    /// otherwise fail every record: one line on stderr per process, then silence.
    private static func warnUnreachable(_ what: String, errno code: Int32) {
        guard !warnedUnreachable.exchange(true, ordering: .relaxed) else { return }
        let line = "taskreaper: warning: journald is unreachable (\(what): \(String(cString: strerror(code))), errno \(code)); journal entries are lost\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
