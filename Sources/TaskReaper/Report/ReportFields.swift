import Logging
import TaskReaperCore

/// A report's facts as one ordered list of snake_case names and values: the single
/// description from which both its `--json` object and its journal fields are derived,
/// so the two can never disagree.
///
/// Journal spelling: `TASKREAPER_<NAME>` upper-cased; booleans `1`/`0`; arrays joined
/// with `:`, or, when marked repeated, the field once per element (journald keeps them all,
/// and `journalctl FIELD=value` matches any); an object becomes one field per non-zero member, `TASKREAPER_<NAME>_<MEMBER>`.
/// A `.null` value is part of the JSON (a stable shape) and absent from the journal.
struct ReportFields {
    private struct Entry {
        let key: String
        let value: JSONValue
        /// The journal's name when it differs from the key (published names never change).
        let journalName: String?
        /// False for what the journal records itself (the time) or has no use for (the
        /// line format's version).
        let inJournal: Bool
        /// An array sent as the field once per element.
        let repeated: Bool
    }

    private var entries: [Entry] = []

    /// The version of the `--json` line format (README "--json lines: a versioned format").
    /// Bumped only when a key is removed or changes meaning; new keys may come in any version.
    static let jsonSchema = 1

    mutating func add(_ key: String, _ value: JSONValue, journalName: String? = nil, inJournal: Bool = true, repeated: Bool = false) {
        entries.append(Entry(key: key, value: value, journalName: journalName, inJournal: inJournal, repeated: repeated))
    }

    /// `schema` and `ts` (RFC 3339, UTC, milliseconds): the first keys of every `--json` line.
    mutating func addLineHeader(at time: Millis) {
        add("schema", .integer(Self.jsonSchema), inJournal: false)
        add("ts", .string(TimeText.rfc3339(time)), inJournal: false)
    }

    mutating func add(_ key: String, _ value: String?) { if let value { add(key, .string(value)) } }

    /// One `--json` line's object, in this order.
    var jsonObject: JSONObject {
        var object = JSONObject()
        for entry in entries { object[entry.key] = entry.value }
        return object
    }

    /// Every field but `message` (the handler writes MESSAGE, PRIORITY, SYSLOG_IDENTIFIER).
    func journalMetadata(messageID: String) -> Logger.Metadata {
        var fields: Logger.Metadata = ["MESSAGE_ID": .string(messageID)]
        for entry in entries where entry.key != "message" && entry.inJournal {
            let name = "TASKREAPER_" + (entry.journalName ?? entry.key.uppercased())
            switch entry.value {
            case .null: continue
            case .bool(let flag): fields[name] = .string(flag ? "1" : "0")
            case .string(let text): fields[name] = .string(text)
            case .array(let items) where entry.repeated:
                fields[name] = .array(items.map { .string($0.stringValue ?? JSONWriter.compact($0)) })
            case .array(let items): fields[name] = .string(items.map { $0.stringValue ?? JSONWriter.compact($0) }.joined(separator: ":"))
            case .object(let members):
                for (member, value) in members.members where value != .integer(0) {
                    fields[name + "_" + member.uppercased()] = .string(value.stringValue ?? JSONWriter.compact(value))
                }
            case .number(let text): fields[name] = .string(text)
            }
        }
        return fields
    }
}
