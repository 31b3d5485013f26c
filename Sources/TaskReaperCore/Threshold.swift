/// A policy duration an operator may switch off. Every rule reads it the same way:
/// `.after(0)` is "at once" (the immediate value, `0` on the command line) and `.never`
/// is "this rule is off" (`infinity`). There is no magic number for "off": a rule that is
/// off says so in its type, and `Decide` cannot mistake it for a very long time.
public enum Threshold: Equatable, Hashable, Sendable {
    case after(Millis)
    case never

    public static let immediately: Threshold = .after(0)

    /// The duration; nil when the rule is off.
    @inlinable
    public var duration: Millis? {
        if case .after(let duration) = self { return duration }
        return nil
    }

    /// Whether something `age` old has reached it (never, when off).
    @inlinable
    public func isReached(byAge age: Millis) -> Bool {
        guard case .after(let duration) = self else { return false }
        return age >= duration
    }

    /// When something that started at `start` reaches it (saturating); nil when off.
    @inlinable
    public func deadline(from start: Millis) -> Millis? {
        duration.map { start.adding($0) }
    }
}
