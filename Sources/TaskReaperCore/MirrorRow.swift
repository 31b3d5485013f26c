/// The columns of the harness's `bash_tasks` row that a finalization changes (CONTRACT §6),
/// computed from a terminal task document the way the seed's `to_bash_task_row` does:
/// status by name, completed_at = finished_at, pid = NULL, metadata = the task as compact
/// JSON (serde_json::to_string) with schema_version 4, or the record's own when newer.
public struct MirrorRow: Equatable, Sendable {
    public var status: TaskStatus
    public var exitCode: Int32?
    public var completedAt: Int64?
    public var completionDelivered: Bool
    public var metadata: String

    public init(_ document: TaskDocument) {
        status = document.status
        exitCode = document.exitCode
        completedAt = document.object["finished_at"]?.integerValue(Int64.self)
        completionDelivered = document.completionDelivered
        var object = document.object
        object["schema_version"] = .integer(max(document.schemaVersion, TaskDocument.writtenSchemaVersion))
        metadata = JSONWriter.compact(.object(object))
    }
}
