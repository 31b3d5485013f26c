import TaskReaperCore
import XCTest

/// Strings as serde_json reads them: escapes, surrogate pairs, raw UTF-8, and the errors.
final class JSONParserStringTests: XCTestCase {
    private func string(_ json: [UInt8]) throws -> String? {
        try JSONParser.parse(json).stringValue
    }

    private func string(_ json: String) throws -> String? { try string(Array(json.utf8)) }

    func testPlainEscapedAndMixedRuns() throws {
        XCTAssertEqual(try string(#""""#), "")
        XCTAssertEqual(try string(#""plain é 日本""#), "plain é 日本")
        XCTAssertEqual(try string(#""\n""#), "\n")
        XCTAssertEqual(try string(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), "a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti")
        XCTAssertEqual(try string(#""\u00e9t\u00E9""#), "été")
        XCTAssertEqual(try string(#""x\ud83d\ude00y""#), "x😀y", "a surrogate pair is one scalar")
        XCTAssertEqual(try string(#""\\\\""#), "\\\\")
    }

    func testMalformedStringsAreErrors() {
        for bad in [#""\ud83d""#, #""\ude00""#, #""\ud83dx""#, #""\x""#, #""\u12g4""#, #""abc"#, #""a\"#, "\"a\u{01}b\""] {
            XCTAssertThrowsError(try string(bad), bad)
        }
        XCTAssertThrowsError(try string([0x22, 0xC3, 0x28, 0x22]), "invalid UTF-8")
        XCTAssertThrowsError(try string([0x22, 0x61, 0x5C, 0x6E, 0xFF, 0x22]), "invalid UTF-8 after an escape")
    }
}
