import Foundation
import TaskReaperTestSupport
import XCTest

/// The systemd units and the journal catalog, checked by systemd's own tools.
final class UnitsTests: XCTestCase {
    let units = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("units").path

    private func run(_ arguments: [String], environment: [String: String]? = nil, in directory: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The units name /usr/local/bin/taskreaper: verify checks that it exists and runs.
    private func installBinary() throws {
        guard geteuid() == 0 else {
            if Journal.isRequired { return XCTFail("CI runs as root: the binary must be installed for verify") }
            throw XCTSkip("needs root to put the binary at /usr/local/bin/taskreaper")
        }
        let target = "/usr/local/bin/taskreaper"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: TaskReaperBinary.url.path, toPath: target)
    }

    func testEveryUnitPassesSystemdAnalyzeVerify() throws {
        try installBinary()
        let (systemStatus, systemOutput) = try run(["/usr/bin/systemd-analyze", "verify", "--man=no",
            "taskreaper@alice.service", "taskreaper-sweep@alice.service", "taskreaper-sweep@alice.timer"], in: units + "/system")
        XCTAssertEqual(systemStatus, 0, systemOutput)
        XCTAssertEqual(systemOutput, "", "no warning either (unknown keys are only warnings)")
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = NSTemporaryDirectory()
        let (userStatus, userOutput) = try run(["/usr/bin/systemd-analyze", "--user", "verify", "--man=no",
            "taskreaper.service", "taskreaper.socket", "taskreaper-sweep.service", "taskreaper-sweep.timer"],
            environment: environment, in: units + "/user")
        XCTAssertEqual(userStatus, 0, userOutput)
        XCTAssertEqual(userOutput, "")
    }

    func testTheCatalogExplainsEveryMessageID() throws {
        guard geteuid() == 0 else { throw XCTSkip("updating the catalog database needs root") }
        // Where scripts/install.sh puts it (journalctl reads /usr/local/lib, not /run or /etc);
        // a name of its own so an installed catalog is never touched.
        let directory = "/usr/local/lib/systemd/catalog"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let installed = directory + "/taskreaper-test.catalog"
        try? FileManager.default.removeItem(atPath: installed)
        try FileManager.default.copyItem(atPath: units + "/taskreaper.catalog", toPath: installed)
        defer {
            try? FileManager.default.removeItem(atPath: installed)
            _ = try? run(["/bin/journalctl", "--update-catalog"], in: "/")
        }
        let (updated, updateOutput) = try run(["/bin/journalctl", "--update-catalog"], in: "/")
        XCTAssertEqual(updated, 0, updateOutput)
        let catalog = try String(contentsOfFile: units + "/taskreaper.catalog", encoding: .utf8)
        let ids = catalog.split(separator: "\n").filter { $0.hasPrefix("-- ") }.map { String($0.dropFirst(3)) }
        XCTAssertEqual(ids.count, 19, "one per action kind (MessageIDCatalogTests checks they are the same IDs)")
        let (listed, listing) = try run(["/bin/journalctl", "--list-catalog"] + ids, in: "/")
        XCTAssertEqual(listed, 0, listing)
        for id in ids { XCTAssertTrue(listing.contains(id), "\(id) not in the catalog database: \(listing)") }
    }
}
