import Foundation
import XCTest

/// `chattr +i`: a file that even root cannot unlink (EPERM), to make a removal fail for
/// real. Skips the test where the file system has no immutable flag.
public func makeImmutable(_ path: String) throws {
    guard chattr("+i", path) == 0 else { throw XCTSkip("chattr +i is not supported on this file system") }
}

/// Undoes `makeImmutable` (so the temp directory can be removed).
public func makeMutable(_ path: String) { _ = chattr("-i", path) }

private func chattr(_ flag: String, _ path: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    process.arguments = [flag, path]
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}
