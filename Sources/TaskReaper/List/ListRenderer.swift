import TaskReaperCore

/// `list`'s two outputs: an aligned table for people (column widths from the data, colour
/// only when asked) and one JSON object per task (README "list --json").
public enum ListRenderer {
    /// The version of the `list --json` line; bumped only when a key changes meaning or goes.
    public static let jsonSchema = 1

    /// "remove in 42m", "finalize now", "-".
    public static func nextText(_ row: TaskListing) -> String {
        guard let next = row.next else { return "-" }
        let verb: String
        switch next.action {
        case .removeBundle: verb = "remove"
        case .terminateGroup: verb = "terminate"
        default: verb = next.action.rawValue
        }
        if next.at <= row.observedAt { return "\(verb) now" }
        return "\(verb) in \(TimeText.short(next.at - row.observedAt, roundUp: true))"
    }

    public static func table(_ rows: [TaskListing], color: Bool) -> String {
        let showRoot = Set(rows.map(\.root)).count > 1
        var header = ["HARNESS", "SESSION", "TASK", "STATUS", "AGE", "PROCESS", "DELIVERED", "NEXT"]
        if showRoot { header.insert("ROOT", at: 0) }
        var cells: [[String]] = [header]
        var styles: [[Style]] = [Array(repeating: .header, count: header.count)]
        for row in rows {
            var line = [row.harness ?? "-", row.session, row.taskID, row.status,
                        row.age.map { TimeText.short($0) } ?? "-", row.process.rawValue,
                        row.delivered.map { $0 ? "yes" : "no" } ?? "-", nextText(row)]
            var style: [Style] = [.plain, .plain, .plain, statusStyle(row), .plain,
                                  row.process == .gone ? .bad : .plain, .plain, row.isDue ? .due : .plain]
            if showRoot {
                line.insert(row.root, at: 0)
                style.insert(.plain, at: 0)
            }
            cells.append(line)
            styles.append(style)
        }
        var widths = Array(repeating: 0, count: header.count)
        for line in cells { for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) } }
        var out = ""
        out.reserveCapacity(cells.count * 100)
        for (lineIndex, line) in cells.enumerated() {
            for (index, cell) in line.enumerated() {
                let last = index == line.count - 1
                let padding = last ? "" : String(repeating: " ", count: widths[index] - cell.count + 2)
                out += color ? styles[lineIndex][index].wrap(cell) : cell
                out += padding
            }
            out += "\n"
        }
        return out
    }

    /// Every key always present (null where it does not apply), in this order.
    public static func jsonObject(_ row: TaskListing) -> JSONObject {
        var object = JSONObject()
        object.append("schema", .integer(jsonSchema))
        object.append("ts", .string(TimeText.rfc3339(row.observedAt)))
        object.append("root", .string(row.root))
        object.append("harness", row.harness.map(JSONValue.string) ?? .null)
        object.append("session", .string(row.session))
        object.append("task_id", .string(row.taskID))
        object.append("layout", .string(row.layout.rawValue))
        object.append("path", .string(row.path))
        object.append("status", .string(row.status))
        object.append("terminal", .bool(row.isTerminal))
        object.append("started_at", row.startedAt.map { .integer($0) } ?? .null)
        object.append("age_ms", row.age.map { .integer($0) } ?? .null)
        object.append("process", row.process == .none ? .null : .string(row.process.rawValue))
        object.append("delivered", row.delivered.map(JSONValue.bool) ?? .null)
        object.append("next_action", row.next.map { .string($0.action.rawValue) } ?? .null)
        object.append("next_at", row.next.map { .integer($0.at) } ?? .null)
        object.append("next_in_ms", row.next.map { .integer($0.at > row.observedAt ? $0.at - row.observedAt : 0) } ?? .null)
        object.append("next_detail", row.next?.detail.map(JSONValue.string) ?? .null)
        object.append("next_reason", row.next?.reason.map(JSONValue.string) ?? .null)
        object.append("problem", row.problem.map(JSONValue.string) ?? .null)
        return object
    }

    public static func jsonLine(_ row: TaskListing) -> String { JSONWriter.compact(.object(jsonObject(row))) }

    enum Style {
        case plain, header, good, warn, bad, due

        func wrap(_ text: String) -> String {
            let code: String
            switch self {
            case .plain: return text
            case .header: code = "1"
            case .good: code = "32"
            case .warn: code = "33"
            case .bad: code = "31"
            case .due: code = "1;33"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
    }

    static func statusStyle(_ row: TaskListing) -> Style {
        switch row.status {
        case "running", "starting": return .good
        case "completed": return .plain
        case "killing", "initialising", "unsupported", "corrupt": return .warn
        default: return .bad
        }
    }
}
