import Foundation
import TaskReaper
import XCTest

/// Every MESSAGE_ID the code logs is explained in units/taskreaper.catalog, and no ID is
/// used twice (a published ID never changes meaning).
final class MessageIDCatalogTests: XCTestCase {
    func testCatalogAndCodeAgree() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("units/taskreaper.catalog").path
        let catalog = try String(contentsOfFile: path, encoding: .utf8)
        let documented = Set(catalog.split(separator: "\n").filter { $0.hasPrefix("-- ") }.map { String($0.dropFirst(3)) })
        let used = ActionKind.allCases.map(\.messageID)
        XCTAssertEqual(Set(used).count, used.count, "MESSAGE_IDs are unique")
        XCTAssertEqual(Set(used), documented)
    }
}
