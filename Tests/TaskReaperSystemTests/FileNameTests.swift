import Glibc
import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// Names are bytes (issue 11.5): the escaped form, its round trip, and operations that reach
/// exactly the entry the kernel listed.
final class FileNameTests: XCTestCase {
    func testTheEscapedForm() {
        XCTAssertEqual(FileName(bytes: Array("bgb-1.json".utf8)).escaped, "bgb-1.json")
        XCTAssertTrue(FileName(bytes: Array("bgb-1.json".utf8)).isVerbatim)
        XCTAssertEqual(FileName(bytes: [0xff, 0xfe]).escaped, "\\xff\\xfe")
        // Valid characters stay; only the bytes that are not UTF-8 (and backslashes) are escaped.
        XCTAssertEqual(FileName(bytes: Array("café".utf8) + [0xc3, 0x28]).escaped, "café\\xc3(")
        XCTAssertEqual(FileName(bytes: Array("a\\b".utf8)).escaped, "a\\x5cb")
        XCTAssertEqual(FileName("a\\b").escaped, "a\\x5cb", "a name we spell is escaped the same way")
        XCTAssertEqual(FileName(bytes: Array("a\\b".utf8)), FileName("a\\b"))
        // A truncated sequence before an ASCII byte: the ASCII byte is never swallowed.
        XCTAssertEqual(FileName(bytes: [0x2e, 0xe2, 0x82, 0x2e]).escaped, ".\\xe2\\x82.")
    }

    func testTheEscapedFormIsInjectiveAndRoundTrips() {
        // Names that all decode lossily to the same String, and ones that look like escapes.
        let names: [[UInt8]] = [[0xff, 0xfe], [0xff, 0xfd], [0xfe, 0xff], [0xff], Array("\\xff".utf8), Array("\\xff\\xfe".utf8),
                                Array("\u{FFFD}\u{FFFD}".utf8), [0x5c], [0x5c, 0x78], Array("x".utf8), [0xc3, 0xa9], [0xc3]]
        var seen: [String: [UInt8]] = [:]
        for bytes in names {
            let name = FileName(bytes: bytes)
            XCTAssertEqual(name.bytes, bytes, name.escaped)
            XCTAssertEqual(FileName(escaped: name.escaped).bytes, bytes, name.escaped)
            XCTAssertNil(seen[name.escaped], "\(name.escaped) names two byte strings")
            seen[name.escaped] = bytes
            XCTAssertNotNil(String(validating: name.escaped.utf8, as: UTF8.self), "the escaped form is valid UTF-8")
        }
        XCTAssertEqual(FileName(bytes: [0xff]).text, nil)
        XCTAssertEqual(FileName(bytes: Array("a\\b".utf8)).text, "a\\b")
    }

    func testAnEscapeCannotSpellASeparatorOrNUL() throws {
        XCTAssertFalse(FileName(escaped: "a\\x2fb").isSingleEntry)
        XCTAssertFalse(FileName(escaped: "a\\x00").isSingleEntry)
        XCTAssertFalse(FileName("..").isSingleEntry)
        XCTAssertTrue(FileName(bytes: [0xff]).isSingleEntry)
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let handle = try DirectoryHandle.open(root: root.path)
        XCTAssertThrowsError(try handle.unlink(FileName(escaped: "x\\x2f..")))
    }

    /// Two names that decode to one lossy String are two entries: each operation reaches
    /// exactly the one it names, and a listing gives each back as it is.
    func testOperationsReachTheExactBytes() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let handle = try DirectoryHandle.open(root: root.path)
        let first = FileName(bytes: [0xff, 0xfe])
        let second = FileName(bytes: [0xff, 0xfd])
        let literal = FileName("\\xff\\xfe")  // a UTF-8 name spelling the first one's escape
        for name in [first, second, literal] { _ = try handle.makeDirectory(name) }
        XCTAssertEqual(Set(try handle.entries().map(\.name)), [first, second, literal])
        XCTAssertEqual(Set(try handle.entries().map(\.name.escaped)).count, 3, "three names, three escaped forms")
        let inner = try handle.openDirectory(first)
        XCTAssertEqual(inner.path, root.path + "/\\xff\\xfe")
        _ = try BundleFixture.write(root.path + "/\\xff\\xfe", "marker", "the literal one")
        XCTAssertEqual(try inner.entries(), [], "the non-UTF-8 directory is not the literal one")
        XCTAssertEqual(try handle.removeDirectory(first), .removed)
        XCTAssertEqual(Set(try handle.entries().map(\.name)), [second, literal])
        XCTAssertEqual(try handle.removeDirectory(literal), .notEmpty)
        try handle.rename(second, to: FileName(bytes: [0xfe]))
        XCTAssertEqual(Set(try handle.entries().map(\.name)), [FileName(bytes: [0xfe]), literal])
        XCTAssertEqual(try handle.status(FileName(bytes: [0xfe]))?.kind, .directory)
        XCTAssertNil(try handle.status(second))
    }
}
