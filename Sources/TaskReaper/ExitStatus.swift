/// The process exit statuses of `sweep` (README: "Exit status").
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let itemsFailed: Int32 = 1
    public static let usage: Int32 = 2
    /// EX_TEMPFAIL: try again later.
    public static let locked: Int32 = 75
}
