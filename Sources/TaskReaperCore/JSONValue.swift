/// A JSON value that keeps what a rewrite must not lose: the key order of objects and the
/// exact text of numbers (`1732000000000` must never come back as `1.732e12`).
/// Foundation's JSONSerialization keeps neither, hence this small type.
/// Not `indirect`: arrays and objects already hold their elements out of line, and an
/// indirect enum boxes every value on the heap (one malloc per field of every record read).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, exactly as read (or as we formatted it).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func integer<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var isNull: Bool { self == .null }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }

    /// The number as an integer of type T when it is a plain integer literal that fits.
    /// `1.0`, `1e3` or an out-of-range value give nil: the harness (serde) rejects them too.
    public func integerValue<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        guard case .number(let text) = self else { return nil }
        return T(text, radix: 10)
    }
}

/// A JSON object as an ordered list of members. Lookups are linear: task documents have
/// about twenty keys, and order matters more than asymptotics here.
public struct JSONObject: Equatable, Sendable {
    public private(set) var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) { self.members = members }

    public subscript(key: String) -> JSONValue? {
        get { members.last(where: { $0.key == key })?.value }
        set {
            if let newValue {
                if let index = members.lastIndex(where: { $0.key == key }) {
                    members[index].value = newValue
                } else {
                    members.append((key, newValue))
                }
            } else {
                members.removeAll { $0.key == key }
            }
        }
    }

    /// Adds a member after the others, even when the key is already there: the parser keeps
    /// a key given twice as it was written (TaskDocument decides what that means).
    public mutating func append(_ key: String, _ value: JSONValue) { members.append((key, value)) }

    public var keys: [String] { members.map(\.key) }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
