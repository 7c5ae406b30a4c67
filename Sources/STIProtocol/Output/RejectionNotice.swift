import Foundation

/// What the aggregator did with a message it did not accept (section 6): refused it for an
/// `E_` code, or held it for plausibility warnings only (section 5a).
public enum NoticeDisposition: String, Sendable, Hashable, Codable {
    case rejected
    case held
}

/// The rejection notice of protocol section 6 (`sti.rejection/1`), sent to `sti.rejected`
/// under the original key (when that key is short enough, see `key(for:)`), so a bureau
/// learns what the aggregator refused and why.
public struct RejectionNotice: Sendable, Hashable {
    public var disposition: NoticeDisposition = .rejected
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record's `county` when it was a string; nil (JSON `null`) otherwise.
    public var county: String?
    public var errors: [FieldError]
    /// Section 5a: the warnings a held message got (disposition `held`, `errors` empty). Listed
    /// in the notice's `errors` array after the errors, each with its `W_` code.
    public var warnings: [PlausibilityWarning] = []
    /// RFC 3339.
    public var rejectedAt: String
    /// The original value, cut at `maxPayloadBytes`.
    public var payload: [UInt8]

    /// The most of a value a notice carries: the protocol's size limit. Only an `E_SIZE` value is
    /// longer, and its error says how long it was. Carrying all of it would make the notice
    /// larger than the value (base64), and a value the brokers just let through (Kafka's
    /// default limit is about 1 MB) would then make a notice they refuse: the batch could never
    /// commit and the aggregator would stop on that message at every run.
    public static let maxPayloadBytes = MessageValidator.maxValueBytes

    /// Section 6: a notice carries the original key only when it is 1 to 64 bytes. Kafka keys
    /// are limited only by the broker's message size, and a notice repeating a ~1 MB key was
    /// refused by the broker at every run, so one such message stopped all aggregation.
    public static let maxKeyBytes = 64

    /// The key a notice is sent under: the original key when it is 1 to 64 bytes, else none.
    public static func key(for originalKey: UnsafeRawBufferPointer?) -> UnsafeRawBufferPointer? {
        guard let originalKey, (1...maxKeyBytes).contains(originalKey.count) else { return nil }
        return originalKey
    }

    public init(
        topic: String, partition: Int32, offset: Int64, county: String?, errors: [FieldError], rejectedAt: String,
        payload: [UInt8]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.county = county
        self.errors = errors
        self.rejectedAt = rejectedAt
        self.payload = payload.count > Self.maxPayloadBytes ? Array(payload.prefix(Self.maxPayloadBytes)) : payload
    }

    /// Section 5a: the notice of a message held for plausibility warnings (disposition `held`):
    /// one entry per warning, its message naming both figures and asking for the record again
    /// with an `explanation`.
    public static func held(
        topic: String, partition: Int32, offset: Int64, county: String, warnings: [PlausibilityWarning],
        heldAt: String, payload: [UInt8]
    ) -> RejectionNotice {
        var notice = RejectionNotice(
            topic: topic, partition: partition, offset: offset, county: county, errors: [],
            rejectedAt: heldAt, payload: payload)
        notice.disposition = .held
        notice.warnings = warnings
        return notice
    }

    /// The notice's JSON value, keys in the order the protocol lists them.
    public func encoded() -> [UInt8] {
        var out = "{\"schema\":\"sti.rejection/1\",\"disposition\":\"\(disposition.rawValue)\",\"source\":{\"topic\":"
        out += JSONText.string(topic)
        out += ",\"partition\":\(partition),\"offset\":\(offset)},\"county\":"
        out += county.map(JSONText.string) ?? "null"
        out += ",\"errors\":["
        out +=
            (errors.map { error in
                "{\"code\":\"\(error.code.rawValue)\",\"field\":\(error.field.map(JSONText.string) ?? "null"),\"message\":\(JSONText.string(error.message))}"
            }
            + warnings.map { warning in
                "{\"code\":\"\(warning.code.rawValue)\",\"field\":\(JSONText.string(warning.field)),\"message\":\(JSONText.string(warning.message))}"
            }).joined(separator: ",")
        out += "],\"rejected_at\":\(JSONText.string(rejectedAt)),\"payload_base64\":\""
        out += Data(payload).base64EncodedString()
        out += "\"}"
        return Array(out.utf8)
    }

    /// The same notice without the original value: what is sent when the brokers refuse the
    /// whole one for its size (their `message.max.bytes` may be below 64 KiB plus the errors).
    public var withoutPayload: RejectionNotice {
        var copy = self
        copy.payload = []
        return copy
    }

    /// `codes` of `rejections.csv`: the distinct codes in report order.
    public var codes: [ErrorCode] {
        var seen = Set<ErrorCode>()
        return errors.map(\.code).filter { seen.insert($0).inserted }
    }

    /// The distinct `W_` codes of a held message, in report order.
    public var warningCodes: [WarningCode] {
        var seen = Set<WarningCode>()
        return warnings.map(\.code).filter { seen.insert($0).inserted }
    }

    /// `codes` of `rejections.csv` as text: the distinct `E_` codes, then the distinct `W_` codes
    /// of a held message.
    public var codeNames: [String] {
        codes.map(\.rawValue) + warningCodes.map(\.rawValue)
    }

    /// `first_message` of `rejections.csv`: the first error (or, for a held message, the first
    /// warning), with the field it concerns.
    public var firstMessage: String {
        guard let first = errors.first else {
            return warnings.first.map { "\($0.field): \($0.message)" } ?? ""
        }
        if let field = first.field { return "\(field): \(first.message)" }
        return first.message
    }
}

/// JSON text helpers for writers that build JSON by hand to keep key order and exact numbers.
public enum JSONText {
    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }
}
