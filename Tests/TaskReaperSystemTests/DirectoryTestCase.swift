import TaskReaperSystem
import TaskReaperTestSupport
import XCTest

/// A test over one fresh directory and the handle the code under test works through; both
/// gone afterwards.
class DirectoryTestCase: XCTestCase {
    var directory: TemporaryDirectory!
    var handle: DirectoryHandle!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        handle = try DirectoryHandle.open(root: directory.path)
    }

    override func tearDown() {
        handle = nil
        directory.remove()
    }
}
