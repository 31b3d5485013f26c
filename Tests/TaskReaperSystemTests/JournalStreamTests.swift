import Logging
import TaskReaperSystem
import XCTest

/// `$JOURNAL_STREAM`: systemd says which stream of ours already goes to the journal, and the
/// journal target then does not copy errors to it (one journal entry per error).
final class JournalStreamTests: XCTestCase {
    private func identity(_ fd: Int32) -> String {
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        return "\(st.st_dev):\(st.st_ino)"
    }

    func testStderrIsTheJournalOnlyWhenItIsThatVeryStream() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let stream = identity(fds[1])
        XCTAssertTrue(LogTarget.stderrIsJournal(fd: fds[1], journalStream: stream))
        // Redirected elsewhere (another pipe): systemd's stream is not stderr any more.
        XCTAssertFalse(LogTarget.stderrIsJournal(fd: fds[1], journalStream: "1:1"))
        for malformed in ["", ":", "12", "a:b", "1:2:3", " 1:2"] {
            XCTAssertFalse(LogTarget.stderrIsJournal(fd: fds[1], journalStream: malformed), malformed)
        }
        XCTAssertFalse(LogTarget.stderrIsJournal(fd: fds[1], journalStream: nil))
        XCTAssertFalse(LogTarget.stderrIsJournal(fd: -1, journalStream: stream))
    }

    func testTheJournalTargetCopiesErrorsToStderrOnlyWhenStderrIsNotTheJournal() throws {
        let scratch = try TemporaryDirectoryForSocket()
        defer { scratch.remove() }
        for target in [LogTarget.journal, .auto] {
            let alone = target.makeHandler(journalSocketPath: scratch.socket, stderrIsJournal: true)
            XCTAssertTrue(alone is JournalLogHandler, "\(target): the journal alone")
            let copied = target.makeHandler(journalSocketPath: scratch.socket, stderrIsJournal: false)
            XCTAssertTrue(copied is MultiplexLogHandler, "\(target): journal plus errors on stderr")
        }
        // stderr targets are unaffected: they are what the operator asked for.
        XCTAssertTrue(LogTarget.stderr.makeHandler(journalSocketPath: scratch.socket, stderrIsJournal: true) is StderrLogHandler)
    }
}

/// A directory holding a listening unix socket, which `auto` takes for journald's.
private struct TemporaryDirectoryForSocket {
    let path: String
    let socket: String
    private let fd: Int32

    init() throws {
        var template = Array("/tmp/taskreaper-stream.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
        socket = path + "/journal.sock"
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socket.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EIO) }
    }

    func remove() {
        close(fd)
        unlink(socket)
        rmdir(path)
    }
}
