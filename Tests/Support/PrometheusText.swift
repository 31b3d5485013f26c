import Foundation
import XCTest

/// Prometheus text-format output checked with a real parser: Debian's python3-prometheus-client
/// (`prometheus_client.parser`, scripts/install-deps.sh installs it), run by /usr/bin/python3.
public enum PrometheusText {
    public struct Sample: Equatable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public struct Family {
        public let name: String
        public let type: String
        public let samples: [Sample]
    }

    static let script = """
    import json, sys
    from prometheus_client.parser import text_string_to_metric_families
    families = []
    for f in text_string_to_metric_families(sys.stdin.read()):
        families.append({"name": f.name, "type": f.type, "documentation": f.documentation,
                         "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
    print(json.dumps(families))
    """

    /// The families as the parser reads them; throws (with its message) when it refuses the text.
    public static func parse(_ text: String) throws -> [Family] {
        let python = "/usr/bin/python3"
        let check = try Subprocess.run(python, ["-c", "import prometheus_client"])
        guard check.status == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                throw ParserMissing()
            }
            throw XCTSkip("python3-prometheus-client is not installed (scripts/install-deps.sh)")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).prom")
        try text.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try Subprocess.run("/bin/sh", ["-c", "\(python) -c '\(script)' < '\(input.path)'"])
        guard run.status == 0 else { throw Refused(message: run.stderrText) }
        let families = try JSONSerialization.jsonObject(with: Data(run.stdoutText.utf8)) as? [[String: Any]] ?? []
        return families.map { family in
            Family(name: family["name"] as? String ?? "", type: family["type"] as? String ?? "",
                   samples: (family["samples"] as? [[String: Any]] ?? []).map {
                       Sample(name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
                              value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
                   })
        }
    }

    public struct Refused: Error, CustomStringConvertible {
        public let message: String
        public var description: String { "the Prometheus parser refused the text: \(message)" }
    }

    public struct ParserMissing: Error, CustomStringConvertible {
        public var description: String { "python3-prometheus-client missing in CI: scripts/install-deps.sh must install it" }
    }
}

extension Array where Element == PrometheusText.Family {
    /// The value of one sample: `value("taskreaper_tasks", ["status": "running"])`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        lazy.flatMap(\.samples).first { $0.name == name && $0.labels == labels }?.value
    }

    public func family(_ name: String) -> PrometheusText.Family? { first { $0.name == name } }
}
