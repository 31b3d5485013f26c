import Foundation
import TaskReaperTestSupport
import XCTest

/// The systemd units and the journal catalog, checked by systemd's own tools. Nothing is
/// installed: the tools work on copies in a temp directory (TMPDIR too points there).
final class UnitsTests: XCTestCase {
    let units = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("units").path
    /// Where scripts/install.sh puts the binary, and so what the units' ExecStart= names.
    let installedBinary = "/usr/local/bin/taskreaper"
    var scratch: TemporaryDirectory!

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory("taskreaper-units")
    }

    override func tearDown() { scratch?.remove() }

    /// stdout and stderr as one text; our environment plus `environment`, TMPDIR the scratch
    /// directory (systemd-analyze makes its own temp directories there).
    private func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        var merged = ProcessInfo.processInfo.environment
        merged["TMPDIR"] = scratch.path
        merged.merge(environment) { $1 }
        let output = try Subprocess.run(executable, arguments, environment: merged, directory: scratch.path, mergeOutput: true)
        return (output.status, output.stdoutText)
    }

    /// Copies of `units/<kind>/` whose ExecStart= names the binary just built instead of the
    /// installed one: verify checks that the command exists and is executable, so the copies
    /// are checked against this build and nothing has to be put in /usr/local/bin.
    private func stage(_ kind: String) throws -> String {
        let binary = TaskReaperBinary.url.path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "\(binary) not built")
        XCTAssertNil(binary.rangeOfCharacter(from: .whitespacesAndNewlines), "ExecStart= would split \(binary)")
        let staged = scratch.path + "/" + kind
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: units + "/" + kind) {
            let text = try String(contentsOfFile: units + "/\(kind)/\(name)", encoding: .utf8)
            let copy = text.replacingOccurrences(of: "ExecStart=\(installedBinary) ", with: "ExecStart=\(binary) ")
            XCTAssertFalse(copy.contains(installedBinary), "\(kind)/\(name): \(installedBinary) outside an ExecStart= the test rewrites")
            try copy.write(toFile: staged + "/" + name, atomically: false, encoding: .utf8)
        }
        return staged
    }

    /// `names` are exactly the files in `units/<kind>/` (templates as their `@` form): a
    /// unit added there must be verified here too.
    private func assertCovers(_ kind: String, _ names: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: units + "/" + kind)
        XCTAssertEqual(Set(files), Set(names), "units/\(kind)/ and the units verified", file: file, line: line)
    }

    func testEveryUnitPassesSystemdAnalyzeVerify() throws {
        try assertCovers("system", ["taskreaper@.service", "taskreaper-sweep@.service", "taskreaper-sweep@.timer"])
        let system = try stage("system")
        // An instance of a template, by a path in the template's directory: verify loads the
        // template from there (not from /etc or /usr/lib), with %i = alice.
        let (systemStatus, systemOutput) = try run("/usr/bin/systemd-analyze", ["verify", "--man=no",
            system + "/taskreaper@alice.service", system + "/taskreaper-sweep@alice.service", system + "/taskreaper-sweep@alice.timer"])
        XCTAssertEqual(systemStatus, 0, systemOutput)
        XCTAssertEqual(systemOutput, "", "no warning either (unknown keys are only warnings)")

        try assertCovers("user", ["taskreaper.service", "taskreaper.socket", "taskreaper-sweep.service", "taskreaper-sweep.timer"])
        let user = try stage("user")
        let runtime = scratch.path + "/runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let (userStatus, userOutput) = try run("/usr/bin/systemd-analyze", ["--user", "verify", "--man=no",
            user + "/taskreaper.service", user + "/taskreaper.socket", user + "/taskreaper-sweep.service", user + "/taskreaper-sweep.timer"],
            environment: ["XDG_RUNTIME_DIR": runtime])
        XCTAssertEqual(userStatus, 0, userOutput)
        XCTAssertEqual(userOutput, "")
    }

    func testTheCatalogExplainsEveryMessageID() throws {
        // journalctl --root: the catalog where scripts/install.sh puts it, below a temp root,
        // and the database built from it under that root too (never the machine's own).
        let root = scratch.path + "/root"
        let directory = root + "/usr/local/lib/systemd/catalog"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: units + "/taskreaper.catalog", toPath: directory + "/taskreaper.catalog")
        let (updated, updateOutput) = try run("/bin/journalctl", ["--root=" + root, "--update-catalog"])
        XCTAssertEqual(updated, 0, updateOutput)
        XCTAssertTrue(BundleFixture.exists(root + "/var/lib/systemd/catalog/database"), "the database is built under the temp root")
        let catalog = try String(contentsOfFile: units + "/taskreaper.catalog", encoding: .utf8)
        let ids = catalog.split(separator: "\n").filter { $0.hasPrefix("-- ") }.map { String($0.dropFirst(3)) }
        XCTAssertEqual(ids.count, 22, "one per action kind (MessageIDCatalogTests checks they are the same IDs)")
        let (listed, listing) = try run("/bin/journalctl", ["--root=" + root, "--list-catalog"] + ids)
        XCTAssertEqual(listed, 0, listing)
        for id in ids { XCTAssertTrue(listing.contains(id), "\(id) not in the catalog database: \(listing)") }
    }
}
