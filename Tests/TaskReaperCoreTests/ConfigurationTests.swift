import TaskReaperCore
import XCTest

/// The configuration files' syntax (systemd.syntax(7)) and how values merge (README "Configuration").
final class ConfigurationTests: XCTestCase {
    private func parse(_ text: String, file: String = "/etc/taskreaper/taskreaper.conf") throws -> [ConfigFile.Assignment] {
        try ConfigFile.parse(Array(text.utf8), file: file)
    }

    private func configuration(_ files: [(String, String)]) throws -> Configuration {
        var configuration = Configuration()
        for (file, text) in files {
            for assignment in try parse(text, file: file) { try configuration.apply(assignment) }
        }
        return configuration
    }

    func testSyntax() throws {
        let text = """
        # a comment
        ; another
        [Policy]
          Retention = 2h\t
        StaleAfter=1h \\
          30min

        [Storage]
        Root=/srv/aft
        """
        let assignments = try parse(text)
        XCTAssertEqual(assignments.map { "\($0.section).\($0.key)=\($0.value)@\($0.line)" },
                       ["Policy.Retention=2h@4", "Policy.StaleAfter=1h    30min@5", "Storage.Root=/srv/aft@9"])
    }

    func testMalformedLinesNameTheFileAndLine() {
        let cases: [(String, Int, String)] = [
            ("[Policy]\nRetention 2h\n", 2, "expected Key=Value"),
            ("Retention=2h\n", 1, "before any [Section]"),
            ("[Policy\nRetention=1h\n", 1, "malformed section header"),
            ("[Policy]\nRe tention=1h\n", 2, "invalid key"),
            ("[Policy]\nRetention=1h \\", 2, "continuation"),
        ]
        for (text, line, message) in cases {
            XCTAssertThrowsError(try parse(text, file: "/x.conf"), text) { error in
                let invalid = error as? ConfigFile.Invalid
                XCTAssertEqual(invalid?.line, line, text)
                XCTAssertTrue("\(error)".hasPrefix("/x.conf:\(line): ") && "\(error)".contains(message), "\(error)")
            }
        }
        XCTAssertThrowsError(try ConfigFile.parse([0xFF, 0xFE], file: "/bin.conf")) { error in
            XCTAssertEqual("\(error)", "/bin.conf: not UTF-8 text")
        }
    }

    func testLaterFilesWinRootsAccumulateAndAnEmptyRootResets() throws {
        let merged = try configuration([
            ("/etc/taskreaper/taskreaper.conf", "[Storage]\nRoot=/a\nRoot=/b\n[Policy]\nRetention=2h\nEnforceTimeouts=yes\n"),
            ("/etc/taskreaper/taskreaper.conf.d/10-x.conf", "[Policy]\nRetention=90min\n[Storage]\nRoot=/c\n"),
            ("/home/u/.config/taskreaper/taskreaper.conf", "[Policy]\nAbandonedAfter=infinity\n[Log]\nTarget=journal\n"),
        ])
        XCTAssertEqual(merged.policy.retention, .after(90 * .minute))
        XCTAssertEqual(merged.policy.abandonedAfter, .never)
        XCTAssertTrue(merged.policy.enforceTimeouts)
        XCTAssertEqual(merged.roots.map(\.path), ["/a", "/b", "/c"])
        XCTAssertEqual(merged.logTarget, "journal")
        let retention = try XCTUnwrap(Configuration.setting(section: "Policy", key: "Retention"))
        XCTAssertEqual(merged.origin(of: retention), .file("/etc/taskreaper/taskreaper.conf.d/10-x.conf", line: 2))
        XCTAssertEqual(merged.text(of: retention), "90min")
        let spawn = try XCTUnwrap(Configuration.setting(section: "Policy", key: "SpawnGrace"))
        XCTAssertEqual(merged.origin(of: spawn), .builtin)

        let reset = try configuration([("/a.conf", "[Storage]\nRoot=/a\n"), ("/b.conf", "[Storage]\nRoot=\nRoot=/z\n")])
        XCTAssertEqual(reset.roots.map(\.path), ["/z"])
    }

    func testBadValuesAndUnknownKeysAreErrorsWithTheLine() {
        let cases: [(String, String)] = [
            ("[Policy]\nRetension=1h\n", "unknown key 'Retension' in [Policy]; did you mean 'Retention'?"),
            ("[Polcy]\nRetention=1h\n", "unknown section [Polcy]; did you mean [Policy]?"),
            ("[Policy]\nRetention=-1h\n", "[Policy] Retention=-1h: invalid duration '-1h': a duration cannot be negative"),
            ("[Policy]\nAbandonedAfter=0\n", "a bare 0 no longer switches AbandonedAfter= off"),
            ("[Policy]\nDBBusyTimeout=1h\n", "at most 10min"),
            ("[Policy]\nEnforceTimeouts=maybe\n", "expected a boolean"),
            ("[Log]\nTarget=syslog\n", "expected auto, journal or stderr"),
            ("[Storage]\nRoot=relative/dir\n", "expected an absolute path"),
            ("[Watch]\nRescanInterval=0\n", "write infinity"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try configuration([("/etc/x.conf", text)]), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("/etc/x.conf:2: ") && "\(error)".contains(message), "\(error)")
            }
        }
    }

    func testZeroAndInfinityMeanTheSameAsOnTheCommandLine() throws {
        let merged = try configuration([("/c.conf", "[Policy]\nRetention=0\nStaleAfter=0s\nSpawnGrace=infinity\n")])
        XCTAssertEqual(merged.policy.retention, .immediately)
        XCTAssertEqual(merged.policy.staleAfter, .immediately)
        XCTAssertEqual(merged.policy.spawnGrace, .never)
    }
}
