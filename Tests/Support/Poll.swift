import Foundation
import XCTest

/// Waits for a condition by polling it, up to a deadline. Tests wait with this, never
/// with a fixed sleep: fast when the condition comes early, a clear failure when not.
public func poll(_ what: String, timeout: TimeInterval = 10, interval: TimeInterval = 0.01,
                 file: StaticString = #filePath, line: UInt = #line, until condition: () throws -> Bool) rethrows {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: interval)
    }
    if try condition() { return }
    XCTFail("timed out after \(timeout) s waiting for \(what)", file: file, line: line)
}
