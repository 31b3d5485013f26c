@testable import TaskReaper
import TaskReaperSystem
import XCTest

/// The registry's sessions by id, found again by tree and name: an open-addressing index
/// whose removals shift entries back, checked against a dictionary through growth, removal
/// and reuse.
final class SessionTableTests: XCTestCase {
    func testASessionKeepsItsIdAndTheSameNameInAnotherTreeIsAnother() {
        var table = SessionTable()
        let a = table.id(tree: 0, name: "00000000000000aa")
        let b = table.id(tree: 1, name: "00000000000000aa")
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(table.id(tree: 0, name: "00000000000000aa"), a)
        XCTAssertEqual(table.find(tree: 1, name: "00000000000000aa"), b)
        XCTAssertNil(table.find(tree: 2, name: "00000000000000aa"))
        XCTAssertEqual(table[a]?.name, "00000000000000aa")
        XCTAssertEqual(table[b]?.tree, 1)
        XCTAssertEqual(table.count, 2)
    }

    func testARemovedIdIsFreeAndItsNameUnknown() {
        var table = SessionTable()
        let a = table.id(tree: 0, name: "a")
        _ = table.id(tree: 0, name: "b")
        table.remove(a)
        XCTAssertNil(table[a])
        XCTAssertNil(table.find(tree: 0, name: "a"))
        XCTAssertEqual(table.id(tree: 0, name: "c"), a, "the free id goes to the next new session")
        XCTAssertEqual(table.count, 2)
    }

    func testTheWatchIsKeptPerSession() {
        var table = SessionTable()
        let a = table.id(tree: 0, name: "a")
        XCTAssertNil(table[a]?.wd)
        table.setWatch(7, of: a)
        XCTAssertEqual(table[a]?.wd, 7)
        table.setWatch(nil, of: a)
        XCTAssertNil(table[a]?.wd)
    }

    func testIdsInATree() {
        var table = SessionTable()
        let a = table.id(tree: 3, name: "a")
        _ = table.id(tree: 4, name: "b")
        let c = table.id(tree: 3, name: "c")
        XCTAssertEqual(Set(table.ids(inTree: 3)), [a, c])
        XCTAssertEqual(table.ids(inTree: 5), [])
    }

    /// Growth past several sizes, removals in the middle of probe runs, reuse: every session
    /// the model has is found under its id, none it dropped is, and no id names two sessions.
    func testItAgreesWithADictionaryThroughGrowthRemovalAndReuse() {
        struct Place: Hashable { let tree: UInt32; let name: FileName }
        var table = SessionTable()
        var model: [Place: SessionID] = [:]
        var inUse: Set<SessionID> = []
        var generator = SystemRandomNumberGenerator()
        let universe = (0..<3).flatMap { tree in (0..<2_000).map { Place(tree: UInt32(tree), name: FileName("s\($0)")) } }
        for round in 1...30_000 {
            let place = universe.randomElement(using: &generator)!
            if let id = model[place], Bool.random(using: &generator) {
                table.remove(id)
                model[place] = nil
                inUse.remove(id)
            } else {
                let id = table.id(tree: place.tree, name: place.name)
                if let known = model[place] {
                    XCTAssertEqual(known, id)
                } else {
                    XCTAssertTrue(inUse.insert(id).inserted, "a new session got an id in use")
                }
                model[place] = id
            }
            guard round % 5_000 == 0 else { continue }
            XCTAssertEqual(table.count, model.count)
            for place in universe {
                XCTAssertEqual(table.find(tree: place.tree, name: place.name), model[place])
            }
        }
        for (place, id) in model { table.remove(id); XCTAssertNil(table.find(tree: place.tree, name: place.name)) }
        XCTAssertEqual(table.count, 0)
    }
}
