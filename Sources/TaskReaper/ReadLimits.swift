/// Size limits for what we read: a task record beyond this is not the harness's. A marker
/// is a handful of bytes, but the harness reads all of it and trims whitespace (docs/formats.md
/// §4.2), so a code padded with kilobytes of blanks is still a marker: read up to 1 MiB, and
/// report anything bigger as a marker we cannot read.
enum ReadLimits {
    static let taskJSON = 16 << 20
    static let marker = 1 << 20
}
