import Foundation
import XCTest

/// Waits for a condition by polling it, up to a deadline. Tests wait with this, never
/// with a fixed sleep: fast when the condition comes early, a clear failure when not.
/// On timeout it records an XCTest failure and returns (the test goes on).
public func poll(_ what: String, timeout: TimeInterval = 10, interval: TimeInterval = 0.01,
                 file: StaticString = #filePath, line: UInt = #line, until condition: () throws -> Bool) rethrows {
    if try pollUntil(timeout: timeout, interval: interval, condition) { return }
    XCTFail("timed out after \(timeout) s waiting for \(what)", file: file, line: line)
}

/// The same wait, but a timeout throws `PollTimeout`: the test stops there, instead of
/// going on to assertions that can only fail for the same reason.
public func waitUntil(_ what: String, timeout: TimeInterval = 10, interval: TimeInterval = 0.01,
                      until condition: () throws -> Bool) throws {
    guard try pollUntil(timeout: timeout, interval: interval, condition) else {
        throw PollTimeout(what: what, timeout: timeout)
    }
}

public struct PollTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: TimeInterval
    public var description: String { "timed out after \(timeout) s waiting for \(what)" }
}

/// True as soon as `condition` holds; false if it still does not at the deadline (checked
/// once more there, so a slow machine's last chance counts). For callers that decide
/// themselves what a timeout means.
public func holds(within timeout: TimeInterval, interval: TimeInterval = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    try pollUntil(timeout: timeout, interval: interval, condition)
}

private func pollUntil(timeout: TimeInterval, interval: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
