import Foundation
import TaskReaperCore
import XCTest

/// The parser's and TaskDocument's answers to a few thousand mangled task records, compared
/// with `Tests/Fixtures/JSONParserOutcomes.txt`, which was recorded from the parser before it
/// was specialized for speed (issue 14): every value, every error message and byte offset,
/// and every TaskDocument problem must stay as they were. Mutations are deterministic (an
/// LCG with a fixed seed), so the fixture is a plain expected-output file.
///
/// To record it again after a deliberate change: `RECORD_PARSER_OUTCOMES=1 swift test
/// --filter JSONParserOutcomeTests` (the run fails, saying it wrote the file; review the diff).
final class JSONParserOutcomeTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/JSONParserOutcomes.txt")

    /// Records as the harness writes them (schema 4 pretty, schema 7 with a nested object),
    /// plus escapes, non-ASCII, numbers of every shape, arrays, unknown keys and a duplicate.
    static let seeds: [String] = [
        """
        {
          "schema_version": 4,
          "task_id": "bgb-0000002a",
          "session_id": "ses_4f1c2d3e4b5a6978",
          "command": "cargo test --workspace -- --nocapture 2>&1 | tail -n 200",
          "mode": "pipes",
          "workdir": "/home/dev/src/project-42",
          "project_root": "/home/dev/src/project-42",
          "status": "completed",
          "started_at": 1764000000123,
          "finished_at": 1764000004567,
          "duration_ms": 4444,
          "timeout_ms": null,
          "exit_code": 0,
          "child_pid": null,
          "pgid": 31337,
          "completion_delivered": true,
          "notify_on_completion": true,
          "compressed": true,
          "pty_rows": null,
          "pty_cols": null,
          "status_reason": null
        }
        """,
        """
        {"schema_version":7,"harness":"opencode","task_id":"bash-0123456789abcdef","session_id":"s\\u00e9\\ud83d\\ude00",\
        "command":"echo \\"h\\\\i\\"\\n\\t\\/","mode":"pty","workdir":"/w/日本","project_root":null,"status":"running",\
        "started_at":1,"finished_at":null,"duration_ms":null,"timeout_ms":1800000,"exit_code":-2147483648,"child_pid":4294967295,\
        "pgid":-1,"completion_delivered":false,"notify_on_completion":false,"compressed":false,"pty_rows":24,"pty_cols":80,\
        "sandbox_native":false,"status_reason":"x","call_key":{"requester":"first-party","key":"k","minted":true}}
        """,
        """
        [ {"a": [1, -0, 0.5, 1e10, -1.25E-3, 2E+2, []], "b": {}}, "", "\\u0041\\u00DF", true, false, null, [[[]]] ]
        """,
        """
        {"schema_version": 3, "task_id": "t", "session_id": "s", "command": "c", "workdir": "/", "status": "killed",
         "started_at": 18446744073709551615, "completion_delivered": false, "status": "completed", "extra": [1, {"x": null}]}
        """,
    ]

    /// Bytes a mutation puts in: structure, escapes, controls, and UTF-8 lead/continuation bytes.
    static let alphabet: [UInt8] = Array(#"{}[]:,"\u0e-+. 1"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE6, 0xED, 0xF0, 0xFF]

    struct LCG {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// Every seed as it is, then mutants of each: truncated, a byte dropped, replaced,
    /// inserted, a span duplicated (duplicate keys, repeated values).
    static func inputs() -> [[UInt8]] {
        var rng = LCG(state: 14)
        var result: [[UInt8]] = []
        for seed in seeds.map({ Array($0.utf8) }) {
            result.append(seed)
            for _ in 0..<500 {
                var bytes = seed
                for _ in 0...rng.next(2) {
                    guard !bytes.isEmpty else { break }
                    let at = rng.next(bytes.count)
                    switch rng.next(5) {
                    case 0: bytes.removeSubrange(at...)
                    case 1: bytes.remove(at: at)
                    case 2: bytes[at] = alphabet[rng.next(alphabet.count)]
                    case 3: bytes.insert(alphabet[rng.next(alphabet.count)], at: at)
                    default:
                        let end = min(bytes.count, at + 1 + rng.next(40))
                        bytes.insert(contentsOf: bytes[at..<end], at: end)
                    }
                }
                result.append(bytes)
            }
        }
        return result
    }

    static func outcome(_ bytes: [UInt8]) -> String {
        let parsed: String
        // A value as a digest of its full description (kinds, key order, number texts, strings).
        do { parsed = "value \(fnv1a("\(try JSONParser.parse(bytes))"))" } catch { parsed = "error: \(error)" }
        let document: String
        do {
            let d = try TaskDocument(parsing: bytes)
            document = "doc: \(d.schemaVersion) \(d.taskID) \(d.sessionID) \(d.status) \(d.mode) \(d.startedAt) "
                + "\(String(describing: d.timeoutMs)) \(String(describing: d.exitCode)) \(String(describing: d.childPID)) "
                + "\(String(describing: d.pgid)) \(d.completionDelivered) \(d.notifyOnCompletion) keys \(d.object.keys.count)"
        } catch { document = "problem: \(error)" }
        return (parsed + " | " + document).replacingOccurrences(of: "\n", with: "\\n")
    }

    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return String(hash, radix: 16)
    }

    func testOutcomesAreThoseOfTheRecordedParser() throws {
        let outcomes = Self.inputs().enumerated().map { "\($0.offset)\t\(Self.outcome($0.element))" }
        if ProcessInfo.processInfo.environment["RECORD_PARSER_OUTCOMES"] != nil {
            try (outcomes.joined(separator: "\n") + "\n").write(to: Self.fixture, atomically: true, encoding: .utf8)
            XCTFail("recorded \(outcomes.count) outcomes in \(Self.fixture.path): review the diff, then run without RECORD_PARSER_OUTCOMES")
            return
        }
        let expected = try String(contentsOf: Self.fixture, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(outcomes.count, expected.count)
        var errors = 0, documents = 0
        for (got, want) in zip(outcomes, expected) {
            XCTAssertEqual(got, want)
            if got.contains("\terror: ") { errors += 1 }
            if got.contains(" | doc: ") { documents += 1 }
        }
        // The mutants reach both sides: parse errors and records TaskDocument accepts.
        XCTAssertGreaterThan(errors, 400)
        XCTAssertGreaterThan(documents, 40)
    }
}
