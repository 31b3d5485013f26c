import TaskReaperSystem
import XCTest

final class HarnessTempNameTests: XCTestCase {
    func testTheHarnessFormat() throws {
        let made = try HarnessTempName.make()
        let name = made.escaped
        XCTAssertTrue(name.hasPrefix(".aft-tmp-"))
        let hex = name.dropFirst(".aft-tmp-".count)
        XCTAssertEqual(hex.count, 32)
        XCTAssertTrue(hex.allSatisfy { "0123456789abcdef".contains($0) }, name)
        XCTAssertTrue(HarnessTempName.matches(made))
    }

    func testTwoNamesDiffer() throws {
        XCTAssertNotEqual(try HarnessTempName.make(), try HarnessTempName.make())
    }

    func testOnlyThatShapeMatches() {
        XCTAssertTrue(HarnessTempName.matches(".aft-tmp-0123456789abcdef0123456789abcdef"))
        XCTAssertFalse(HarnessTempName.matches(".aft-tmp-0123456789ABCDEF0123456789abcdef"), "uppercase")
        XCTAssertFalse(HarnessTempName.matches(".aft-tmp-0123456789abcdef0123456789abcde"), "31 digits")
        XCTAssertFalse(HarnessTempName.matches(".aft-tmp-0123456789abcdef0123456789abcdef0"), "33 digits")
        XCTAssertFalse(HarnessTempName.matches("bash-0123456789abcdef"))
        XCTAssertFalse(HarnessTempName.matches(".aft-tmp-"))
        XCTAssertFalse(HarnessTempName.matches(""))
    }
}
