import TaskReaperCore
import TaskReaperSystem

/// Whether a pass may write under a root, by the harness's reader floor (CONTRACT §7.7). A
/// refused root is reported once per pass (`skip_reader_floor`) and left entirely alone; that
/// is not a failure (exit status 0): a newer harness owns the tree.
enum ReaderFloorCheck {
    /// `report`: false for a second look in the same pass (watch's quarantine pass), which
    /// the pass's own check has reported already.
    static func allows(_ root: DirectoryHandle, rootPath: String, context: ReconcileContext, report: Bool = true) -> Bool {
        let verdict: ReaderFloor.Verdict
        do {
            switch try root.read(FileName(ReaderFloor.fileName), limit: 1 << 16) {
            case .absent: return true
            case .contents(let bytes, _): verdict = ReaderFloor.judge(bytes)
            case .notRegular(let kind):
                verdict = .refused("\(ReaderFloor.fileName) is \(kind == .symlink ? "a symbolic link (never followed)" : "not a regular file")")
            case .tooLarge(let size): verdict = .refused("\(ReaderFloor.fileName) is \(size) bytes, more than a floor can be")
            }
        } catch {
            verdict = .refused("\(ReaderFloor.fileName) cannot be read (\(error))")
        }
        guard case .refused(let why) = verdict else { return true }
        guard report else { return false }
        var event = ActionReport(.skipReaderFloor, path: root.childPath(FileName(ReaderFloor.fileName)), location: Location(root: rootPath, harness: nil),
                                 message: "Leaving root \(rootPath) alone: \(why)")
        event.reason = why
        context.reporter.report(event)
        return false
    }
}
