/// `watch --events` / `[Watch] Events=`: where directory events come from (README "watch").
/// `auto` starts with inotify and moves to fanotify, once, when inotify runs out of watches
/// and fanotify can be had.
public enum EventSourceChoice: String, CaseIterable, Sendable {
    case auto, inotify, fanotify

    public static let expected = "expected auto, inotify or fanotify"
}
