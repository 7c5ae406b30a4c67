import Foundation

@testable import STIProtocol

/// Messages for validator tests: valid bases of each schema, edited field by field.
struct SampleMessage: Sendable, CustomStringConvertible {
    /// Members in order, values as raw JSON text.
    var members: [(key: String, raw: String)]

    /// Replaces (or appends) a member's raw JSON value; nil removes it.
    func with(_ key: String, _ raw: String?) -> SampleMessage {
        var copy = self
        if let at = copy.members.firstIndex(where: { $0.key == key }) {
            if let raw { copy.members[at].raw = raw } else { copy.members.remove(at: at) }
        } else if let raw {
            copy.members.append((key, raw))
        }
        return copy
    }

    func with(_ edits: [(String, String?)]) -> SampleMessage {
        edits.reduce(self) { $0.with($1.0, $1.1) }
    }

    var json: String { "{" + members.map { "\"\($0.key)\":\($0.raw)" }.joined(separator: ",") + "}" }
    var bytes: [UInt8] { Array(json.utf8) }
    var description: String { json }

    static let rd = SampleMessage(members: [
        ("schema", "\"sti.rd/1\""), ("county", "\"530102\""), ("revision", "1"),
        ("submitted_at", "\"2026-01-15T09:30:00+08:00\""), ("year", "2025"),
        ("performer", "\"enterprise_above_scale\""), ("expenditure_10k_cny", "12345.6789"),
    ])

    static let contract = SampleMessage(members: [
        ("schema", "\"sti.tech-contract/1\""), ("county", "\"530102\""), ("revision", "1"),
        ("submitted_at", "\"2026-01-15T09:30:00+08:00\""), ("contract_no", "\"HT-2026/001\""),
        ("registered_on", "\"2026-01-10\""), ("contract_type", "\"development\""),
        ("domain", "\"electronic_information\""), ("contract_value_10k_cny", "500"),
        ("tech_transaction_value_10k_cny", "450.5"), ("buyer_country", "\"LA\""),
    ])

    static let profile = SampleMessage(members: [
        ("schema", "\"sti.county-profile/1\""), ("county", "\"530102\""), ("revision", "1"),
        ("submitted_at", "\"2026-01-15T09:30:00+08:00\""), ("year", "2025"),
        ("gdp_100m_cny", "1234.5"), ("resident_population_10k", "110.2"), ("high_tech_enterprises", "420"),
        ("invention_patents_held", "9000"), ("industrial_output_100m_cny", "300"),
        ("high_tech_industrial_output_100m_cny", "120.25"),
    ])

    static func base(_ kind: RecordKind) -> SampleMessage {
        switch kind {
        case .rd: rd
        case .techContract: contract
        case .countyProfile: profile
        }
    }
}

/// Fixed clock and one way to run the validator over bytes.
enum ValidatorCheck {
    /// "Today" in UTC+8 for every validator test.
    static let today = CalendarDate(year: 2026, month: 3, day: 15)
    static let validator = MessageValidator(registry: .kunming, keyRing: nil, today: { today })

    static func run(
        _ value: [UInt8], topic: RecordKind = .rd, key: String? = "530102",
        keyId: String? = nil, signature: String? = nil, timestampMillis: Int64 = 1_768_440_600_000,
        timestampSource: TimestampSource = .broker, placement: MessagePlacement? = nil,
        validator: MessageValidator = ValidatorCheck.validator
    ) -> Result<Record, ValidationFailure> {
        func withOptional<R>(_ s: String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
            guard let s else { return body(nil) }
            return Array(s.utf8).withUnsafeBytes { body($0) }
        }
        return value.withUnsafeBytes { v in
            withOptional(key) { k in
                withOptional(keyId) { id in
                    withOptional(signature) { sig in
                        validator.validate(
                            InboundMessage(
                                topicKind: topic, key: k, value: v, keyIdHeader: id,
                                signatureHeader: sig, timestampMillis: timestampMillis,
                                timestampSource: timestampSource, placement: placement))
                    }
                }
            }
        }
    }

    static func run(_ message: SampleMessage, topic: RecordKind? = nil, key: String? = "530102") -> Result<
        Record, ValidationFailure
    > {
        run(message.bytes, topic: topic ?? kind(of: message), key: key)
    }

    static func kind(of message: SampleMessage) -> RecordKind {
        let schema = message.members.first { $0.key == "schema" }?.raw ?? ""
        return RecordKind.allCases.first { "\"\($0.schema)\"" == schema } ?? .rd
    }

    /// (code, field) pairs of a result; empty for success.
    static func codes(_ result: Result<Record, ValidationFailure>) -> [ExpectedError] {
        switch result {
        case .success: []
        case .failure(let f): f.errors.map { ExpectedError($0.code, $0.field) }
        }
    }
}

/// An expected error: code and field.
struct ExpectedError: Hashable, Sendable, CustomStringConvertible {
    var code: ErrorCode
    var field: String?
    init(_ code: ErrorCode, _ field: String? = nil) {
        self.code = code
        self.field = field
    }
    var description: String { "\(code.rawValue)(\(field ?? "-"))" }
}
