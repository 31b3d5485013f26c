import Foundation
import TaskReaperTestSupport
import XCTest

/// scripts/install.sh into a DESTDIR in a temp directory (as a packager runs it): what it
/// installs, where, rewritten for which PREFIX, and that --uninstall takes it all away.
/// Nothing is written outside temp directories (DESTDIR, TMPDIR and HOME point there).
final class InstallerTests: XCTestCase {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    var scratch: TemporaryDirectory!
    var destdir: String!

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory("taskreaper-install")
        destdir = scratch.path + "/dest"
        try FileManager.default.createDirectory(atPath: destdir, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: scratch.path + "/home", withIntermediateDirectories: false)
    }

    override func tearDown() { scratch.remove() }

    /// install.sh with a prebuilt binary (the one the tests built): it never builds.
    private func install(_ arguments: [String], _ environment: [String: String] = [:]) throws -> Subprocess.Output {
        var env = ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": scratch.path + "/home", "TMPDIR": scratch.path, "DESTDIR": destdir!]
        env.merge(environment) { $1 }
        return try Subprocess.run(repository + "/scripts/install.sh", arguments + ["--binary", TaskReaperBinary.url.path], environment: env)
    }

    private func text(_ path: String) throws -> String { try String(contentsOfFile: destdir + path, encoding: .utf8) }

    /// Every regular file below DESTDIR, relative to it.
    private func installedFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: destdir)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var st = stat()
            if lstat(destdir + "/" + path, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR { files.append("/" + path) }
        }
        return files.sorted()
    }

    func testASystemInstallUnderACustomPrefixIsRewrittenForItAndUninstallsCompletely() throws {
        let run = try install(["--system"], ["PREFIX": "/opt/tr"])
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(installedFiles(), [
            "/etc/systemd/system-generators/taskreaper-generator",
            "/etc/systemd/system/taskreaper-sweep@.service", "/etc/systemd/system/taskreaper-sweep@.timer",
            "/etc/systemd/system/taskreaper@.service",
            "/etc/systemd/user/taskreaper-sweep.service", "/etc/systemd/user/taskreaper-sweep.timer",
            "/etc/systemd/user/taskreaper.service", "/etc/systemd/user/taskreaper.socket",
            "/opt/tr/bin/taskreaper",
            "/opt/tr/share/bash-completion/completions/taskreaper",
            "/opt/tr/share/doc/taskreaper/README.md", "/opt/tr/share/doc/taskreaper/units-README.md",
            "/opt/tr/share/fish/vendor_completions.d/taskreaper.fish",
            "/opt/tr/share/man/man1/taskreaper.1",
            "/opt/tr/share/zsh/site-functions/_taskreaper",
            // journalctl reads only /usr/lib and /usr/local/lib/systemd/catalog.
            "/usr/local/lib/systemd/catalog/taskreaper.catalog",
        ])
        // Everything that names a path names the prefix.
        for unit in ["/etc/systemd/system/taskreaper@.service", "/etc/systemd/user/taskreaper.service",
                     "/etc/systemd/user/taskreaper-sweep.service", "/etc/systemd/system/taskreaper-sweep@.service"] {
            let content = try text(unit)
            XCTAssertTrue(content.contains("ExecStart=/opt/tr/bin/taskreaper "), unit)
            XCTAssertTrue(content.contains("Documentation=man:taskreaper(1) file:///opt/tr/share/doc/taskreaper/README.md"), unit)
            XCTAssertFalse(content.contains("/usr/local"), unit)
        }
        XCTAssertFalse(try text("/etc/systemd/system-generators/taskreaper-generator").contains("/usr/local/bin"))
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: destdir + "/opt/tr/bin/taskreaper"))

        // The page renders, names every subcommand; the bash completion parses.
        let page = try Subprocess.run("/usr/bin/man", ["-l", "-P", "cat", destdir + "/opt/tr/share/man/man1/taskreaper.1"],
                                      environment: ["PATH": "/usr/bin:/bin", "MANWIDTH": "100", "HOME": scratch.path + "/home"])
        XCTAssertEqual(page.status, 0, page.stderrText)
        for word in ["sweep", "watch", "ctl", "--timeout", "--log-target"] { XCTAssertTrue(page.stdoutText.contains(word), word) }
        let bash = try Subprocess.run("/bin/bash", ["-n", destdir + "/opt/tr/share/bash-completion/completions/taskreaper"])
        XCTAssertEqual(bash.status, 0, bash.stderrText)

        let removed = try install(["--system", "--uninstall"], ["PREFIX": "/opt/tr"])
        XCTAssertEqual(removed.status, 0, removed.stderrText)
        XCTAssertEqual(installedFiles(), [], "uninstall leaves nothing behind")
    }

    func testUnderTheStandardPrefixesUnitsAndCatalogGoWhereSystemdLooks() throws {
        XCTAssertEqual(try install(["--system"], ["PREFIX": "/usr"]).status, 0)
        for path in ["/usr/lib/systemd/system/taskreaper@.service", "/usr/lib/systemd/user/taskreaper.socket",
                     "/usr/lib/systemd/catalog/taskreaper.catalog", "/usr/lib/systemd/system-generators/taskreaper-generator",
                     "/usr/bin/taskreaper", "/usr/share/man/man1/taskreaper.1"] {
            XCTAssertTrue(BundleFixture.exists(destdir + path), path)
        }
        XCTAssertTrue(try text("/usr/lib/systemd/user/taskreaper.service").contains("ExecStart=/usr/bin/taskreaper watch"))
    }

    func testUserInstallUnderSudoIsForTheInvokingUserNeverRoot() throws {
        // sudo sets SUDO_USER; nobody's home (/nonexistent) lands below DESTDIR.
        chmod(scratch.path, 0o711)
        chmod(destdir, 0o1777)
        let run = try install(["--user"], ["SUDO_USER": "nobody"])
        XCTAssertEqual(run.status, 0, run.stderrText)
        let unit = destdir + "/nonexistent/.config/systemd/user/taskreaper.service"
        var st = stat()
        XCTAssertEqual(stat(unit, &st), 0, run.stderrText)
        XCTAssertEqual(st.st_uid, 65534, "the user's units are the user's")
        XCTAssertEqual(stat(destdir + "/nonexistent/.config", &st), 0)
        XCTAssertEqual(st.st_uid, 65534, "and so are the directories made on the way")
        XCTAssertFalse(installedFiles().contains { $0.hasPrefix("/root") || $0.hasPrefix(scratch.path + "/home") }, "\(installedFiles())")
        XCTAssertTrue(BundleFixture.exists(destdir + "/usr/local/bin/taskreaper"), "the program system-wide (root ran it)")
        XCTAssertFalse(BundleFixture.exists(destdir + "/usr/local/lib/systemd/system/taskreaper@.service"), "--user: no templates")
    }

    func testWithoutABinaryItRefusesAndBuildsNothing() throws {
        let run = try Subprocess.run(repository + "/scripts/install.sh", ["--system", "--binary", scratch.path + "/none"],
                                     environment: ["PATH": "/usr/bin:/bin", "DESTDIR": destdir, "TMPDIR": scratch.path])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderrText.contains("build first"), run.stderrText)
        XCTAssertEqual(installedFiles(), [])
    }
}
