/// One entry's name exactly as the kernel has it: bytes, never NUL or '/' (issue 11.5). A
/// name is not text: two names that are not UTF-8 may decode to one lossy String, and
/// opening by that String would alias them (or name a third, real entry).
///
/// It is held in its *escaped* form, which is the form every report, path, key and sort uses:
/// - a name that is valid UTF-8 and has no backslash is itself (the common case: no copy,
///   no decoding; nothing is allocated beyond the String the listing makes anyway);
/// - otherwise every byte that is not part of a valid UTF-8 sequence, and every backslash,
///   is `\xNN` (two lowercase hex digits); valid characters stay as they are.
///
/// The escaped form is injective (a backslash only ever starts an escape), so equal escaped
/// forms are equal names, and every String-keyed map or sort over them is exact. It is
/// valid UTF-8, so it can go to the journal, `--json` and aft.db as is. The rules that
/// classify names (TaskReaperCore's `EntryName`, `QuarantineName`) read it too: an escape
/// brings only `\`, `x` and hex digits, `\` is in no fixed part of any pattern, and an invalid
/// sequence never spans an ASCII byte such as `.`, so a rule matches the escaped form exactly
/// when it matches the bytes, and a part it extracts is the escaped form of the bytes' part.
public struct FileName: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The escaped form (see above): for messages, paths, keys, and the name rules.
    public let escaped: String
    /// True when `escaped` holds the bytes verbatim (valid UTF-8, no backslash).
    public let isVerbatim: Bool

    /// The name of a listing or an inotify event.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) {
        if let text = String(validating: bytes, as: UTF8.self), !bytes.contains(Self.backslash) {
            escaped = text
            isVerbatim = true
        } else {
            escaped = Self.escape(bytes)
            isVerbatim = false
        }
    }

    /// A name we spell ourselves (fixed names, names built from a task id): its UTF-8 bytes.
    public init(_ text: String) {
        if text.utf8.contains(Self.backslash) {
            escaped = Self.escape(text.utf8)
            isVerbatim = false
        } else {
            escaped = text
            isVerbatim = true
        }
    }

    public init(stringLiteral text: String) { self.init(text) }

    /// A name in its escaped form, as `escaped` gave it (a key that came back from a report,
    /// a part a name rule extracted from an escaped name).
    public init(escaped text: String) {
        escaped = text
        isVerbatim = !text.utf8.contains(Self.backslash)
    }

    /// The name as text, when it is text: nil for a name that is not valid UTF-8. For what
    /// others spelled as a String (a harness's own name for its directory, in aft.db).
    public var text: String? {
        if isVerbatim { return escaped }
        let raw = bytes
        return String(validating: raw, as: UTF8.self)
    }

    /// The kernel's bytes.
    public var bytes: [UInt8] {
        if isVerbatim { return Array(escaped.utf8) }
        var result: [UInt8] = []
        var utf8 = escaped.utf8[...]
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            guard byte == Self.backslash else {
                result.append(byte)
                continue
            }
            // `\x` and two hex digits, as `escape` writes them. A malformed escape (only from
            // a caller's mistake) keeps its characters, and names no byte it does not show.
            let digits = Array(utf8.prefix(3))
            if digits.count == 3, digits[0] == UInt8(ascii: "x"), let high = Self.hexValue(digits[1]), let low = Self.hexValue(digits[2]) {
                result.append(high << 4 | low)
                utf8 = utf8.dropFirst(3)
            } else {
                result.append(byte)
            }
        }
        return result
    }

    /// A single name, nothing else: not empty, `.` or `..`, no `/`, no NUL. Every operation
    /// that opens, removes or writes checks this first: names come from hostile trees (and
    /// from an escaped form, which could spell `\x2f`).
    public var isSingleEntry: Bool {
        if isVerbatim {
            return !escaped.isEmpty && escaped != "." && escaped != ".." && !escaped.utf8.contains(UInt8(ascii: "/"))
                && !escaped.utf8.contains(0)
        }
        let raw = bytes
        return !raw.isEmpty && !raw.contains(UInt8(ascii: "/")) && !raw.contains(0)
    }

    /// Calls `body` with the name as a NUL-terminated C string of its exact bytes.
    public func withCName<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        if isVerbatim { return try escaped.withCString(body) }
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    public var description: String { escaped }

    public static func < (lhs: FileName, rhs: FileName) -> Bool { lhs.escaped < rhs.escaped }

    public static func == (lhs: FileName, rhs: FileName) -> Bool { lhs.escaped == rhs.escaped }

    public func hash(into hasher: inout Hasher) { hasher.combine(escaped) }

    /// The escaped form of any bytes (a name, or a whole path: `/` is valid UTF-8 and stays).
    public static func escape<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var text = ""
        var pending = Array(bytes)[...]
        while !pending.isEmpty {
            // A fresh parser at each position: on an error it says how many bytes form the
            // invalid subpart (never an ASCII byte), which are then shown one by one.
            var parser = Unicode.UTF8.ForwardParser()
            var source = pending.makeIterator()
            switch parser.parseScalar(from: &source) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar == "\\" { text += "\\x5c" } else { text.unicodeScalars.append(scalar) }
                pending = pending.dropFirst(encoded.count)
            case .error(let length):
                for byte in pending.prefix(length) { text += hexEscape(byte) }
                pending = pending.dropFirst(max(length, 1))
            case .emptyInput:
                pending = pending.dropFirst(pending.count)
            }
        }
        return text
    }

    /// The escaped form of a path the kernel gave as bytes (readlink of /proc/self/fd).
    public static func escapePath<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        FileName(bytes: bytes).escaped  // `/` is valid UTF-8: the rule for a name is the rule for a path
    }

    private static let backslash = UInt8(ascii: "\\")

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [backslash, UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]], as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
