import Foundation
import XCTest

/// `chattr +i`: a file that even root cannot unlink (EPERM), to make a removal fail for
/// real. Skips the test where the file system has no immutable flag.
public func makeImmutable(_ path: String) throws {
    let result = try? chattr("+i", path)
    guard result?.status == 0 else {
        throw XCTSkip("chattr +i is not supported here: \(result?.stdoutText ?? "no /usr/bin/chattr")")
    }
}

/// Undoes `makeImmutable` (so the temp directory can be removed).
public func makeMutable(_ path: String) { _ = try? chattr("-i", path) }

private func chattr(_ flag: String, _ path: String) throws -> Subprocess.Output {
    try Subprocess.run("/usr/bin/chattr", [flag, path], mergeOutput: true)
}
