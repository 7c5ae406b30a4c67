public import Foundation
public import Logging
import STIProtocol

/// A swift-log handler writing one JSON object per line to standard error (`--log-format
/// json`), for log collectors. Keys: `ts`, `level`, `label`, `message`, then the metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data((Self.line(event: event, label: label, base: metadata) + "\n").utf8))
    }

    /// The JSON line for one event (separate from writing, so tests can check it).
    public static func line(event: LogEvent, label: String, base: Logger.Metadata, date: Date = Date()) -> String {
        var fields: [(String, String)] = [
            ("ts", UTCTime.rfc3339(date)), ("level", event.level.rawValue), ("label", label),
            ("message", "\(event.message)"),
        ]
        var merged = base
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key })
        where !["ts", "level", "label", "message"].contains(key) {
            fields.append((key, "\(value)"))
        }
        return "{" + fields.map { "\(JSONText.string($0.0)):\(JSONText.string($0.1))" }.joined(separator: ",") + "}"
    }
}
