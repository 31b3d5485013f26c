/// Size limits for what we read: a task JSON beyond this is not the harness's; a marker
/// is a handful of bytes.
enum ReadLimits {
    static let taskJSON = 16 << 20
    static let marker = 4096
}
