/// Size limits for what we read: a task JSON beyond this is not the harness's.
enum ReadLimits {
    static let taskJSON = 16 << 20
    /// A marker is a handful of bytes, but the harness reads the whole file and trims it:
    /// `0` after 5000 spaces is exit code 0 (issue 11.7: a 4 KiB limit made it "no marker").
    /// Only a file beyond the JSON's limit is not read (a real one never is).
    static let marker = taskJSON
}
