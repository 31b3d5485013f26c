import XCTest

/// A test over one storage root with one harness session directory, and the processes it
/// spawned: made fresh for every test, and all of it gone afterwards (processes stopped,
/// the root removed: XCTest keeps test instances alive until the run ends).
open class TreeTestCase: XCTestCase {
    public var root: TemporaryDirectory!
    /// `<root>/opencode/bash-tasks/0123456789abcdef`.
    public var session: String!
    /// Stopped (group SIGKILL, reaped) in tearDown.
    public var processes: [HarnessProcess] = []

    open override func setUpWithError() throws {
        root = try TemporaryDirectory()
        session = try BundleFixture.sessionDirectory(root: root.path, harness: "opencode")
    }

    open override func tearDown() {
        processes.forEach { $0.stop() }
        processes = []
        root?.remove()
    }
}
