/// One configuration file in systemd's INI dialect (systemd.syntax(7)): `[Section]` headers,
/// `Key=Value` assignments (spaces around `=` and at both ends ignored), `#` and `;` comment
/// lines, blank lines, and a backslash at the end of a line continuing it on the next.
/// Anything else is an error naming the file and line. Pure: the caller reads the bytes.
public enum ConfigFile {
    public struct Assignment: Equatable, Sendable {
        public var section: String
        public var key: String
        public var value: String
        public var file: String
        public var line: Int
    }

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String

        public init(file: String, line: Int, message: String) {
            self.file = file
            self.line = line
            self.message = message
        }

        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(Invalid) -> [Assignment] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Invalid(file: file, line: 0, message: "not UTF-8 text")
        }
        var assignments: [Assignment] = []
        var section: String?
        var pending = ""  // a line continued with a backslash
        var pendingStart = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if pending.isEmpty {
                let trimmed = trim(line)
                if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
                pendingStart = number
            } else if trim(line).hasPrefix("#") || trim(line).hasPrefix(";") {
                continue  // systemd: comment lines inside a continuation are skipped
            }
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
                continue
            }
            let full = trim(pending + line)
            pending = ""
            if full.hasPrefix("[") {
                guard full.hasSuffix("]"), full.count > 2 else {
                    throw Invalid(file: file, line: pendingStart, message: "malformed section header '\(full)'")
                }
                section = String(full.dropFirst().dropLast())
                continue
            }
            guard let equals = full.firstIndex(of: "=") else {
                throw Invalid(file: file, line: pendingStart, message: "expected Key=Value, a [Section] or a comment, found '\(full)'")
            }
            let key = trim(String(full[..<equals]))
            let value = trim(String(full[full.index(after: equals)...]))
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw Invalid(file: file, line: pendingStart, message: "invalid key '\(key)'")
            }
            guard let section else {
                throw Invalid(file: file, line: pendingStart, message: "'\(key)=' before any [Section]")
            }
            assignments.append(Assignment(section: section, key: key, value: value, file: file, line: pendingStart))
        }
        if !pending.isEmpty {
            throw Invalid(file: file, line: pendingStart, message: "a continuation (trailing backslash) at the end of the file")
        }
        return assignments
    }

    static func trim(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
