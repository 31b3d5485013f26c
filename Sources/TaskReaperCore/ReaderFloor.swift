/// The harness's reader floor (docs/formats.md §7): `<root>/reader-floor.json`,
/// `{"floor_schema": 1, "stores": {"bash_task": 7, ...}}`, the lowest format version a reader
/// must understand to touch each store under that root. A floor for bash tasks above the
/// newest schema we implement means a newer harness writes there: we must not write at all.
/// Read as the harness reads it: any other `floor_schema`, a missing or non-integer value, or
/// a file that does not parse refuses everything.
public enum ReaderFloor {
    public static let fileName = "reader-floor.json"
    public static let store = "bash_task"
    /// The newest bash-task schema taskreaper implements.
    public static let newestImplemented = UInt64(TaskDocument.readableSchemaVersions.upperBound)

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Why the root must be left alone.
        case refused(String)
    }

    public static func judge(_ bytes: [UInt8]) -> Verdict {
        guard case .object(let object)? = try? JSONParser.parse(bytes) else {
            return .refused("\(fileName) does not parse: every store is refused, as the harness does")
        }
        guard let floorSchema = object["floor_schema"]?.integerValue(UInt64.self), floorSchema == 1 else {
            return .refused("\(fileName) has a floor_schema other than 1: every store is refused, as the harness does")
        }
        guard case .object(let stores)? = object["stores"] else {
            return .refused("\(fileName) has no stores object: every store is refused, as the harness does")
        }
        for (name, value) in stores.members where value.integerValue(UInt64.self) == nil {
            return .refused("\(fileName) gives store '\(name.prefix(64))' a version that is not an integer")
        }
        if let floor = stores[store]?.integerValue(UInt64.self), floor > newestImplemented {
            return .refused("\(fileName) requires bash-task schema \(floor); taskreaper implements up to \(newestImplemented)")
        }
        return .allowed
    }
}
