#if canImport(Glibc)
import Glibc
#endif
import TaskReaperCore
import XCTest

/// `Protect=` globs (README "Protect") and the quarantine retention's rules (README
/// "Quarantine retention"): pure, so tables.
final class ProtectionTests: XCTestCase {
    /// glibc's own answer, in a UTF-8 locale (so `?` is one character, not one byte).
    private func fnmatchPathname(_ glob: String, _ path: String) -> Bool {
        let previous = setlocale(LC_ALL, nil).map { String(cString: $0) } ?? "C"
        setlocale(LC_ALL, "C.UTF-8")
        defer { setlocale(LC_ALL, previous) }
        return fnmatch(glob, path, FNM_PATHNAME) == 0
    }

    /// The matcher is fnmatch(3) with FNM_PATHNAME: each row is checked against glibc too.
    func testAGlobMatchesAsFnmatchWithPathname() {
        let rows: [(glob: String, path: String, matches: Bool)] = [
            ("/srv/aft/opencode/bash-tasks", "/srv/aft/opencode/bash-tasks", true),
            ("/srv/aft/*/bash-tasks", "/srv/aft/opencode/bash-tasks", true),
            ("/srv/aft/*/bash-tasks", "/srv/aft/a/b/bash-tasks", false),        // * never matches /
            ("/srv/*", "/srv/aft/opencode", false),
            ("/srv/aft/opencode/bash-tasks/3f2a*", "/srv/aft/opencode/bash-tasks/3f2a00000000beef", true),
            ("/srv/aft/opencode/bash-tasks/3f2a*", "/srv/aft/opencode/bash-tasks/4f2a00000000beef", false),
            ("/srv/aft/?i/bash-tasks", "/srv/aft/pi/bash-tasks", true),
            ("/srv/aft/?i/bash-tasks", "/srv/aft/πi/bash-tasks", true),         // one character, not one byte
            ("/srv/aft/?/bash-tasks", "/srv/aft/pi/bash-tasks", false),
            ("/s?v", "/s/v", false),                                            // ? never matches /
            ("/srv/aft/[op]*", "/srv/aft/opencode", true),
            ("/srv/aft/[!o]*", "/srv/aft/opencode", false),
            ("/srv/aft/[^o]*", "/srv/aft/pi", true),
            ("/srv/aft/[a-f]i", "/srv/aft/pi", false),
            ("/srv/aft/[n-q]i", "/srv/aft/pi", true),
            ("/srv/aft/[]x]y", "/srv/aft/]y", true),                           // ] first is a member
            ("/srv/aft/[a-]y", "/srv/aft/-y", true),                           // - last is a member
            ("/srv/aft/[[:digit:]]*", "/srv/aft/7up", true),
            ("/srv/aft/[[:digit:]]*", "/srv/aft/up", false),
            ("/srv/aft/[![:alpha:]]i", "/srv/aft/pi", false),
            ("/srv/aft/*[[:xdigit:]]", "/srv/aft/00beef", true),
            ("/srv/aft/\\*", "/srv/aft/*", true),                               // \ quotes
            ("/srv/aft/\\*", "/srv/aft/x", false),
            ("/srv/aft/\\[x]", "/srv/aft/[x]", true),
            ("/srv/aft/*", "/srv/aft/.hidden", true),                           // no FNM_PERIOD
            ("/srv/aft/*e", "/srv/aft/opencode", true),
            ("/srv/aft/*o*e*", "/srv/aft/opencode", true),
            ("/srv/aft/*x*", "/srv/aft/opencode", false),
            ("/srv/aft/*", "/srv/aft", false),                                  // paths have no trailing /
            ("/srv/a*t/*/b*s", "/srv/aft/pi/bash-tasks", true),
            ("/srv/aft/opencode", "/srv/aft/OpenCode", false),                  // case matters
        ]
        for row in rows {
            XCTAssertEqual(fnmatchPathname(row.glob, row.path), row.matches, "glibc disagrees with the table: \(row)")
            XCTAssertEqual(Protection.matches(row.glob, row.path), row.matches, "\(row)")
        }
    }

    /// A glob protects what it matches and everything below it, never what is above it.
    func testAGlobProtectsWhatItMatchesAndEverythingBelowIt() {
        let protection = Protection(["/srv/aft/opencode/bash-tasks/3f2a*", "/srv/aft/pi", "/home/*/aft/bash-tasks"])
        let rows: [(path: String, glob: String?)] = [
            ("/srv/aft/opencode/bash-tasks/3f2a00000000beef", "/srv/aft/opencode/bash-tasks/3f2a*"),       // a session
            ("/srv/aft/opencode/bash-tasks/3f2a00000000beef/bgb-1.json", "/srv/aft/opencode/bash-tasks/3f2a*"),
            ("/srv/aft/opencode/bash-tasks/4f2a00000000beef", nil),
            ("/srv/aft/opencode/bash-tasks", nil),                                                          // its tree is not
            ("/srv/aft", nil),
            ("/srv/aft/pi/bash-tasks", "/srv/aft/pi"),                                                      // a harness, all of it
            ("/srv/aft/pi/bash-tasks-quarantine/40f0421733dbdc9c", "/srv/aft/pi"),
            ("/srv/aft/pipe/bash-tasks", nil),                                                              // a component, not a prefix
            ("/home/alice/aft/bash-tasks/40f0421733dbdc9c", "/home/*/aft/bash-tasks"),
            ("/home/alice/aft/opencode/bash-tasks", nil),
        ]
        for row in rows {
            XCTAssertEqual(protection.glob(protecting: row.path), row.glob, row.path)
        }
        XCTAssertNil(Protection().glob(protecting: "/srv/aft"), "no glob protects nothing")
        XCTAssertEqual(Protection(["/"]).glob(protecting: "/srv/aft"), "/", "/ protects everything")
        XCTAssertEqual(protection.glob(protectingAny: ["/x", "/srv/aft/pi/bash-tasks"]), "/srv/aft/pi")
    }

    func testGlobsAreNormalisedAndWhatCannotMeanWhatItSaysIsRefused() throws {
        XCTAssertEqual(try Protection.normalize("/srv//aft/./pi/"), "/srv/aft/pi")
        XCTAssertEqual(try Protection.normalize("/srv/aft/[[:digit:]]*"), "/srv/aft/[[:digit:]]*")
        XCTAssertEqual(try Protection.normalize("/srv/aft/\\*"), "/srv/aft/\\*")
        XCTAssertEqual(try Protection.normalize("/srv/aft/\\**"), "/srv/aft/\\**", "a quoted star and a star")
        for (bad, says) in [("srv/aft", "absolute"), ("./aft", "absolute"), ("", "absolute"),
                            ("/srv/**/bash-tasks", "** is not supported"), ("/srv/aft/a**", "** is not supported"),
                            ("/srv/aft/[ab", "unclosed ["), ("/srv/aft/x\\", "lone \\")] {
            XCTAssertThrowsError(try Protection.normalize(bad), bad) { error in
                XCTAssertTrue("\(error)".contains(says), "\(bad): \(error)")
            }
        }
    }

    func testConfigurationProtectAccumulatesAnEmptyOneResetsAndABadOneNamesTheLine() throws {
        var configuration = Configuration()
        let files: [(String, String)] = [
            ("/etc/taskreaper/taskreaper.conf", "[Storage]\nProtect=/gone\nProtect=\n Protect = /srv/aft/pi \nProtect=/srv/aft/pi/\n"),
            ("/etc/taskreaper/taskreaper.conf.d/10-x.conf", "[Storage]\nProtect=/srv/aft/*/bash-tasks/3f2a*\n[Policy]\nQuarantineRetention=infinity\n"),
        ]
        for (file, text) in files {
            for assignment in try ConfigFile.parse(Array(text.utf8), file: file) { try configuration.apply(assignment) }
        }
        XCTAssertEqual(configuration.protect.map(\.glob), ["/srv/aft/pi", "/srv/aft/*/bash-tasks/3f2a*"], "reset, then deduplicated")
        XCTAssertEqual(configuration.protect.map(\.origin.description),
                       ["/etc/taskreaper/taskreaper.conf:4", "/etc/taskreaper/taskreaper.conf.d/10-x.conf:2"])
        XCTAssertEqual(configuration.policy.protection.globs, configuration.protect.map(\.glob), "the policy carries them")
        XCTAssertEqual(configuration.policy.quarantineRetention, .never)
        XCTAssertEqual(Configuration().policy.quarantineRetention, .after(30 * .day), "the harness's 30 days by default")

        for (text, message) in [("[Storage]\nProtect=srv/aft\n", "absolute"), ("[Storage]\nProtect=/a/**\n", "**"),
                                ("[Policy]\nQuarantineRetention=-1d\n", "QuarantineRetention"),
                                ("[Storage]\nProtekt=/a\n", "did you mean 'Protect'")] {
            var fresh = Configuration()
            XCTAssertThrowsError(try ConfigFile.parse(Array(text.utf8), file: "/x.conf").forEach { try fresh.apply($0) }, text) { error in
                XCTAssertTrue("\(error)".hasPrefix("/x.conf:2: ") && "\(error)".contains(message), "\(error)")
            }
        }
    }

    // MARK: Quarantine retention

    func testQuarantineNamesAreOursTheHarnessesOrNothingToTouch() {
        let rows: [(name: String, kind: QuarantineName?, taskID: String?)] = [
            ("bgb-00000001.json.quarantined-1764000000000", .flat(original: "bgb-00000001.json", quarantinedAt: 1_764_000_000_000), "bgb-00000001"),
            ("bgb-00000001.stdout.quarantined-1", .flat(original: "bgb-00000001.stdout", quarantinedAt: 1), "bgb-00000001"),
            ("bash-0123456789abcdef.invalid-9f2c4a1b7e3d5c80", .harness(original: "bash-0123456789abcdef", reason: "invalid"), "bash-0123456789abcdef"),
            ("bash-0123456789abcdef.json.corrupt-9f2c4a1b7e3d5c80", .harness(original: "bash-0123456789abcdef.json", reason: "corrupt"), "bash-0123456789abcdef"),
            ("bash-xyz.missing_record-0000000000000000", .harness(original: "bash-xyz", reason: "missing_record"), "bash-xyz"),
            ("we ird.mismatch-0123456789abcdef", .harness(original: "we ird", reason: "mismatch"), nil),  // removed; no task id
            ("bgb-1.json.quarantined-", nil, nil),
            ("bgb-1.json.quarantined-12x", nil, nil),
            ("bgb-1.json.quarantined-123456789012345678901", nil, nil),         // more digits than a time has
            ("bash-0123456789abcdef.invalid-9F2C4A1B7E3D5C80", nil, nil),     // the harness writes lowercase
            ("bash-0123456789abcdef.invalid-9f2c4a1b7e3d5c8", nil, nil),
            ("bash-0123456789abcdef.unknown-9f2c4a1b7e3d5c80", nil, nil),     // not one of its reasons
            (".quarantined-1764000000000", nil, nil),                         // no original name
            ("notes.txt", nil, nil),
            (".aft-tmp-0123456789abcdef0123456789abcdef", nil, nil),
        ]
        for row in rows {
            let kind = QuarantineName.classify(row.name)
            XCTAssertEqual(kind, row.kind, row.name)
            XCTAssertEqual(kind?.taskID, row.taskID, row.name)
        }
    }

    func testAQuarantinedEntryGoesOnceItsOwnMtimeIsOlderThanTheRetention() {
        let now: Millis = 100 * .day
        var policy = Policy()
        XCTAssertEqual(Decide.quarantined(modified: now - 30 * .day, now: now, policy: policy), .remove)
        XCTAssertEqual(Decide.quarantined(modified: now - 29 * .day, now: now, policy: policy), .leave(recheckAt: now + .day))
        XCTAssertEqual(Decide.quarantined(modified: now + .hour, now: now, policy: policy), .leave(recheckAt: now + .hour + 30 * .day),
                       "a time in the future is not old")
        policy.quarantineRetention = .immediately
        XCTAssertEqual(Decide.quarantined(modified: now, now: now, policy: policy), .remove, "0: at once")
        policy.quarantineRetention = .never
        XCTAssertEqual(Decide.quarantined(modified: 0, now: now, policy: policy), .leave(recheckAt: nil), "infinity: kept, nothing scheduled")
        policy.quarantineRetention = .after(30 * .day)
        XCTAssertEqual(Decide.quarantined(modified: .max - 1, now: now, policy: policy), .leave(recheckAt: .max), "saturating")
    }
}
