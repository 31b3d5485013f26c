/// `Protect=` / `--protect` (README "Protect: trees and sessions never touched"): absolute
/// globs naming what taskreaper never reads or writes. Pure: paths are strings as
/// taskreaper names them (the root as given, made absolute, links not resolved).
///
/// A glob is fnmatch(3) with `FNM_PATHNAME` (and without `FNM_PERIOD`, `FNM_NOESCAPE`):
/// `*` any run of characters and `?` one character, neither ever matching `/`; `[...]` a
/// set (`!` or `^` negates, ranges, `[:alpha:]`-style classes, ASCII); `\` quotes the next
/// character. A leading dot is not special. `**` is refused: it would mean no more than `*`
/// here, and someone who writes it expects it to cross directories.
///
/// A glob protects what it matches **and everything below it**: a path is protected when the
/// glob matches the path itself or one of its parent directories (so `/srv/aft/opencode`
/// protects that harness's tree, its sessions and its quarantine). With `FNM_PATHNAME` a
/// glob of k components can only match a path of k components, so this is: the glob
/// matches the path's first k components.
public struct Protection: Equatable, Sendable {
    /// The globs, normalised (`normalize`), in the order given.
    public private(set) var globs: [String]

    public init(_ globs: [String] = []) {
        self.globs = globs
    }

    public var isEmpty: Bool { globs.isEmpty }

    public mutating func append(_ glob: String) {
        if !globs.contains(glob) { globs.append(glob) }
    }

    /// The first glob protecting `path` (matching it or one of its parent directories).
    public func glob(protecting path: String) -> String? {
        guard !globs.isEmpty else { return nil }
        let components = Self.components(path)
        return globs.first { Self.matchesPrefix(Self.components($0), of: components) }
    }

    /// The first glob protecting any of `paths`.
    public func glob(protectingAny paths: [String]) -> String? {
        for path in paths { if let glob = glob(protecting: path) { return glob } }
        return nil
    }

    /// fnmatch(glob, path, FNM_PATHNAME) == 0, for a normalised glob and path: the whole
    /// path, nothing below or above it.
    public static func matches(_ glob: String, _ path: String) -> Bool {
        let (g, p) = (components(glob), components(path))
        return g.count == p.count && matchesPrefix(g, of: p)
    }

    static func matchesPrefix(_ glob: [Substring], of path: [Substring]) -> Bool {
        guard glob.count <= path.count else { return false }
        for (pattern, name) in zip(glob, path) where !matchComponent(Array(pattern.unicodeScalars), Array(name.unicodeScalars)) {
            return false
        }
        return true
    }

    static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    // MARK: Checking what an operator wrote

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The glob as it is matched: absolute, `//` and `/./` folded, no trailing `/`. Refused:
    /// a relative glob, `**`, an unclosed `[`, a trailing `\`.
    public static func normalize(_ text: String) throws(Invalid) -> String {
        guard text.hasPrefix("/") else {
            throw Invalid(message: "a Protect glob must be an absolute path (it is matched against absolute paths), found '\(text)'")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        for part in parts {
            let scalars = Array(part.unicodeScalars)
            var index = 0
            var previousStar = false
            while index < scalars.count {
                switch scalars[index] {
                case "\\":
                    guard index + 1 < scalars.count else {
                        throw Invalid(message: "'\(text)' ends a component with a lone \\ (write \\\\ for a backslash)")
                    }
                    index += 2
                    previousStar = false
                    continue
                case "*":
                    if previousStar {
                        throw Invalid(message: "'\(text)': ** is not supported (* never matches /); a glob already protects everything below what it matches, so name the directory")
                    }
                    previousStar = true
                case "[":
                    guard let end = bracketEnd(scalars, from: index) else {
                        throw Invalid(message: "'\(text)' has an unclosed [ (write \\[ for a bracket)")
                    }
                    index = end
                    previousStar = false
                default:
                    previousStar = false
                }
                index += 1
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: fnmatch, one component

    /// One path component against one glob component (neither holds a `/`).
    static func matchComponent(_ pattern: [Unicode.Scalar], _ name: [Unicode.Scalar]) -> Bool {
        var p = 0, n = 0
        var starP: Int?, starN = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == "*" {
                starP = p
                starN = n
                p += 1
                continue
            }
            if p < pattern.count, let next = matchOne(pattern, at: p, name[n]) {
                p = next
                n += 1
                continue
            }
            // Mismatch: let the last star take one more character.
            guard let star = starP else { return false }
            p = star + 1
            starN += 1
            n = starN
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// The pattern element at `p` (not a `*`) against one character: the index after the
    /// element when it matches, nil when it does not.
    static func matchOne(_ pattern: [Unicode.Scalar], at p: Int, _ c: Unicode.Scalar) -> Int? {
        switch pattern[p] {
        case "?": return p + 1
        case "\\" where p + 1 < pattern.count:
            return pattern[p + 1] == c ? p + 2 : nil
        case "[":
            guard let end = bracketEnd(pattern, from: p) else { return pattern[p] == c ? p + 1 : nil }
            return bracketMatches(pattern, from: p, end: end, c) ? end + 1 : nil
        default:
            return pattern[p] == c ? p + 1 : nil
        }
    }

    /// The index of the `]` closing the set that opens at `start`, nil when none does.
    static func bracketEnd(_ pattern: [Unicode.Scalar], from start: Int) -> Int? {
        var i = start + 1
        if i < pattern.count, pattern[i] == "!" || pattern[i] == "^" { i += 1 }
        var first = true
        while i < pattern.count {
            let c = pattern[i]
            if c == "]", !first { return i }
            first = false
            if c == "\\", i + 1 < pattern.count {
                i += 2
                continue
            }
            if c == "[", i + 1 < pattern.count, pattern[i + 1] == ":", let close = classEnd(pattern, from: i + 2) {
                i = close + 2
                continue
            }
            i += 1
        }
        return nil
    }

    /// For `[:name:]` starting at `from` (the name's first character): the index of the `:`
    /// of its closing `:]`, when the name is a known class.
    static func classEnd(_ pattern: [Unicode.Scalar], from start: Int) -> Int? {
        var i = start
        while i + 1 < pattern.count {
            if pattern[i] == ":", pattern[i + 1] == "]" {
                let name = String(String.UnicodeScalarView(pattern[start..<i]))
                return characterClasses[name] == nil ? nil : i
            }
            guard pattern[i].properties.isLowercase else { return nil }
            i += 1
        }
        return nil
    }

    static func bracketMatches(_ pattern: [Unicode.Scalar], from start: Int, end: Int, _ c: Unicode.Scalar) -> Bool {
        var i = start + 1
        var negated = false
        if pattern[i] == "!" || pattern[i] == "^" {
            negated = true
            i += 1
        }
        var matched = false
        while i < end {
            if pattern[i] == "[", i + 1 < end, pattern[i + 1] == ":", let close = classEnd(pattern, from: i + 2) {
                let name = String(String.UnicodeScalarView(pattern[(i + 2)..<close]))
                if characterClasses[name]?(c) == true { matched = true }
                i = close + 2
                continue
            }
            var low = pattern[i]
            if low == "\\", i + 1 < end {
                i += 1
                low = pattern[i]
            }
            i += 1
            if i + 1 < end, pattern[i] == "-" {
                var high = pattern[i + 1]
                i += 2
                if high == "\\", i < end {
                    high = pattern[i]
                    i += 1
                }
                if low.value <= c.value, c.value <= high.value { matched = true }
            } else if low == c {
                matched = true
            }
        }
        return matched != negated
    }

    /// POSIX classes, ASCII (as glibc in the C and C.UTF-8 locales for these characters).
    static let characterClasses: [String: @Sendable (Unicode.Scalar) -> Bool] = [
        "alpha": { $0.isASCII && (("a"..."z").contains($0) || ("A"..."Z").contains($0)) },
        "digit": { ("0"..."9").contains($0) },
        "alnum": { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) },
        "lower": { ("a"..."z").contains($0) },
        "upper": { ("A"..."Z").contains($0) },
        "xdigit": { ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) },
        "space": { [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"].contains($0) },
        "blank": { $0 == " " || $0 == "\t" },
        "punct": { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F && !(("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)) },
        "cntrl": { $0.value < 0x20 || $0.value == 0x7F },
        "graph": { $0.value > 0x20 && $0.value < 0x7F },
        "print": { $0.value >= 0x20 && $0.value < 0x7F },
    ]
}
