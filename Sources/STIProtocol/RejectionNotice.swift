import Foundation

/// The rejection notice of protocol section 6 (`sti.rejection/1`), sent to `sti.rejected`
/// with the original key, so a bureau learns what the aggregator refused and why.
public struct RejectionNotice: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record's `county` when it was a string; nil (JSON `null`) otherwise.
    public var county: String?
    public var errors: [FieldError]
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

    public init(topic: String, partition: Int32, offset: Int64, county: String?, errors: [FieldError], rejectedAt: String, payload: [UInt8]) {
        self.topic = topic; self.partition = partition; self.offset = offset; self.county = county
        self.errors = errors; self.rejectedAt = rejectedAt
        self.payload = payload.count > Self.maxPayloadBytes ? Array(payload.prefix(Self.maxPayloadBytes)) : payload
    }

    /// The notice's JSON value, keys in the order the protocol lists them.
    public func encoded() -> [UInt8] {
        var out = "{\"schema\":\"sti.rejection/1\",\"source\":{\"topic\":"
        out += JSONText.string(topic)
        out += ",\"partition\":\(partition),\"offset\":\(offset)},\"county\":"
        out += county.map(JSONText.string) ?? "null"
        out += ",\"errors\":["
        out += errors.map { error in
            "{\"code\":\"\(error.code.rawValue)\",\"field\":\(error.field.map(JSONText.string) ?? "null"),\"message\":\(JSONText.string(error.message))}"
        }.joined(separator: ",")
        out += "],\"rejected_at\":\(JSONText.string(rejectedAt)),\"payload_base64\":\""
        out += Data(payload).base64EncodedString()
        out += "\"}"
        return Array(out.utf8)
    }

    /// `codes` of `rejections.csv`: the distinct codes in report order, joined with `;`.
    public var codes: String {
        var seen = Set<ErrorCode>()
        return errors.map(\.code).filter { seen.insert($0).inserted }.map(\.rawValue).joined(separator: ";")
    }

    /// `first_message` of `rejections.csv`: the first error, with the field it concerns.
    public var firstMessage: String {
        guard let first = errors.first else { return "" }
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
