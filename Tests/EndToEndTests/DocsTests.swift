import Foundation
import TaskReaperTestSupport
import XCTest

/// The README stays true (issue 13.8): its links work from a fresh clone, and every flag each
/// command accepts is documented in it.
final class DocsTests: XCTestCase {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private var readme: String { (try? String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)) ?? "" }

    func testRelativeLinksResolveInsideTheRepository() throws {
        let text = readme
        XCTAssertFalse(text.isEmpty)
        let links = try NSRegularExpression(pattern: #"\]\(([^)#:\s]+)(#[^)]*)?\)"#)
            .matches(in: text, range: NSRange(text.startIndex..., in: text))
            .compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } }
        XCTAssertFalse(links.isEmpty)
        for link in links {
            let target = repository.appendingPathComponent(link).standardizedFileURL
            XCTAssertTrue(target.path.hasPrefix(repository.standardizedFileURL.path + "/"), "\(link) leaves the repository")
            XCTAssertTrue(FileManager.default.fileExists(atPath: target.path), "README links \(link), which a clone does not have")
        }
    }

    func testEveryFlagOfEveryCommandIsInTheReadme() throws {
        let text = readme
        for command in ["sweep", "watch", "list", "config", "ctl"] {
            let help = try TaskReaperBinary.run([command, "--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            let flags = try NSRegularExpression(pattern: #"--[a-z][a-z-]+"#)
                .matches(in: help.stdout, range: NSRange(help.stdout.startIndex..., in: help.stdout))
                .compactMap { Range($0.range, in: help.stdout).map { String(help.stdout[$0]) } }
            for flag in Set(flags) where flag != "--help" && flag != "--version" {
                XCTAssertTrue(text.contains("`\(flag)") || text.contains(" \(flag)") || text.contains("[\(flag)"),
                              "\(command) \(flag) is not in the README")
            }
        }
    }
}
