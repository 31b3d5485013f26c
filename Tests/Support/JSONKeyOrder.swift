/// The keys of a JSON object's top level in the order the text gives them (Foundation's
/// parser forgets the order; `--json` promises it).
public enum JSONKeyOrder {
    public static func topLevelKeys(_ text: String) -> [String] {
        var keys: [String] = []
        var depth = 0
        var inString = false
        var escaped = false
        var current = ""
        var lastString: String?
        for character in text {
            if inString {
                if escaped { escaped = false; current.append(character); continue }
                if character == "\\" { escaped = true; current.append(character); continue }
                if character == "\"" { inString = false; lastString = current; continue }
                current.append(character)
                continue
            }
            switch character {
            case "\"": inString = true; current = ""
            case "{", "[": depth += 1; lastString = nil
            case "}", "]": depth -= 1; lastString = nil
            case ":": if depth == 1, let key = lastString { keys.append(key) }; lastString = nil
            case ",": lastString = nil
            default: break
            }
        }
        return keys
    }
}
