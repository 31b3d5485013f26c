import Foundation
import TaskReaper
import TaskReaperCore
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// The fuzz corpus (issue 11): hostile JSONs, markers and names, one case per file in
/// `Tests/Fixtures/HostileCorpus/`, each with the report the sweeper must give and what must
/// be left on disk. Inputs found by `scripts/fault/fuzz.py` that needed a fix land here.
///
/// Every case is swept once with the default policy but no finalize grace (`immediate()`).
/// A case file: `why` (what it attacks), `files` (written into one session directory:
/// `name` (a nested one for a task directory's files; `name_hex` for bytes that are not
/// UTF-8, created empty), then `text` or `hex` or `kind` fifo/directory/symlink with
/// `target`, and `age_s` to backdate it), `expect`: `exit` (the sweep's status), `actions` (every report but the
/// summary, as [action, file name] pairs, in any order: nothing else may be reported),
/// `after` (file name -> "unchanged", "absent", or fields the JSON must then have).
/// In texts and names `${GONE}` is the pid of a process that has exited, `${PID}` ours (the
/// sweeper's, in temp names), `${NOW}` and `${OLD}`
/// are now and two hours ago in Unix ms, `${REPEAT:c:n}` is c repeated n times.
final class HostileCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/HostileCorpus")

    struct Case: Decodable {
        struct File: Decodable {
            var name: String?
            /// A name that is not UTF-8 (instead of `name`), in the escaped form taskreaper
            /// reports (`\\xNN` for a byte, `FileName`), so the expected reports read the same.
            var name_escaped: String?
            var text: String?
            var hex: String?
            var kind: String?
            var target: String?
            var age_s: Double?
        }

        struct Expect: Decodable {
            let exit: Int32
            let actions: [[String]]
            var after: [String: After]?
        }

        enum After: Decodable {
            case state(String)
            case fields([String: JSONScalar])

            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let word = try? container.decode(String.self) { self = .state(word) } else {
                    self = .fields(try container.decode([String: JSONScalar].self))
                }
            }
        }

        let why: String
        let files: [File]
        let expect: Expect
    }

    /// A JSON scalar as a case writes it (string, integer or null).
    enum JSONScalar: Decodable, Equatable {
        case string(String), integer(Int64), null

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null } else if let i = try? c.decode(Int64.self) { self = .integer(i) }
            else { self = .string(try c.decode(String.self)) }
        }

        init(_ any: Any?) {
            switch any {
            case let s as String: self = .string(s)
            case let n as NSNumber: self = .integer(n.int64Value)
            default: self = .null
            }
        }
    }

    /// `${REPEAT:c:n}`: the character c, n times (keeps big inputs out of the corpus files).
    static func repeats(in text: String) -> String {
        var out = text
        while let start = out.range(of: "${REPEAT:") {
            let rest = out[start.upperBound...]
            guard let end = rest.firstIndex(of: "}"), let colon = rest[rest.index(after: rest.startIndex)...].firstIndex(of: ":"),
                  let count = Int(rest[rest.index(after: colon)..<end]) else { break }
            out.replaceSubrange(start.lowerBound...end, with: String(repeating: String(rest[rest.startIndex..<colon]), count: count))
        }
        return out
    }

    func testEveryCaseGivesItsReport() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 30, "the corpus is there")
        let gone = try HarnessProcess.exited()
        for name in names {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            let testCase: Case
            do { testCase = try JSONDecoder().decode(Case.self, from: data) } catch {
                XCTFail("\(name): not a case file: \(error)")
                continue
            }
            try check(testCase, named: name, gonePID: gone.pid)
        }
    }

    private func check(_ testCase: Case, named name: String, gonePID: Int32) throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let dir = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
        let now = BundleFixture.nowMs()
        func expand(_ text: String) -> String {
            Self.repeats(in: text).replacingOccurrences(of: "${GONE}", with: String(gonePID)).replacingOccurrences(of: "${PID}", with: String(getpid()))
                .replacingOccurrences(of: "${NOW}", with: String(now)).replacingOccurrences(of: "${OLD}", with: String(now - 2 * BundleFixture.hour))
        }
        var written: [String: Data] = [:]
        for file in testCase.files {
            let path: String
            if let escaped = file.name_escaped.map(expand) {
                // Not UTF-8: created through the byte-level API.
                let content = expand(file.text ?? "")
                XCTAssertTrue(RawPath.write(RawPath.path(dir, FileName(escaped: escaped).bytes), content,
                                            ageMs: file.age_s.map { UInt64($0 * 1000) }), "\(name): create \(escaped)")
                written[escaped] = Data(content.utf8)
                continue
            }
            let fileName = expand(file.name ?? "")
            path = dir + "/" + fileName
            // Task directories: the parents of a nested name are made first.
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            switch file.kind {
            case "fifo": XCTAssertEqual(mkfifo(path, 0o600), 0, "\(name): mkfifo \(fileName)")
            case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            case "symlink": try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: expand(file.target ?? "/etc/passwd"))
            default:
                let bytes = file.hex.map { Data(hexString: $0) } ?? Data(expand(file.text ?? "").utf8)
                XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: bytes), "\(name): write \(fileName)")
                written[fileName] = bytes
            }
            if let age = file.age_s {
                var times = [timespec(tv_sec: time(nil) - Int(age), tv_nsec: 0), timespec(tv_sec: time(nil) - Int(age), tv_nsec: 0)]
                XCTAssertEqual(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW), 0)
            }
        }
        let run = try sweep(root.path, policy: immediate())
        let reported = run.log.records.withLock { $0 }.compactMap { record -> [String]? in
            guard case .string(let action)? = record.2["TASKREAPER_ACTION"], action != "summary" else { return nil }
            let path = record.2["TASKREAPER_PATH"]?.description ?? ""
            return [action, path == dir ? "." : path.hasPrefix(dir + "/") ? String(path.dropFirst(dir.count + 1)) : path]
        }
        func sorted(_ list: [[String]]) -> [String] { list.map { $0.joined(separator: " ") }.sorted() }
        XCTAssertEqual(sorted(reported), sorted(testCase.expect.actions.map { $0.map(expand) }), "\(name) (\(testCase.why)): reports")
        XCTAssertEqual(run.result.exitCode, testCase.expect.exit, "\(name): exit status")
        for (key, after) in testCase.expect.after ?? [:] {
            let file = expand(key)
            let path = dir + "/" + file
            // Keys are in the escaped form too: a name that is not UTF-8 is reached by its bytes.
            let bytes = RawPath.path(dir, FileName(escaped: file).bytes)
            switch after {
            case .state("absent"): XCTAssertFalse(RawPath.exists(bytes), "\(name): \(file) should be gone")
            case .state("unchanged"):
                XCTAssertEqual(RawPath.contents(bytes), written[file], "\(name): \(file) should be byte for byte as written")
            case .state(let other): XCTFail("\(name): unknown state \(other)")
            case .fields(let fields):
                let object = (try? JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: path) ?? Data())) as? [String: Any]
                XCTAssertNotNil(object, "\(name): \(file) should parse")
                for (field, value) in fields {
                    let expected = if case .string(let text) = value { JSONScalar.string(expand(text)) } else { value }
                    XCTAssertEqual(JSONScalar(object?[field]), expected, "\(name): \(file) field \(field)")
                }
            }
        }
    }
}

extension Data {
    init(hexString: String) {
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in hexString.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            default: continue
            }
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        self.init(bytes)
    }
}
