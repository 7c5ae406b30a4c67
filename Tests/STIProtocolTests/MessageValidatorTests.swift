import Foundation
import Testing

@testable import STIProtocol

/// One rule, one input, the exact errors expected (empty: the message is valid).
struct ValidatorRuleRow: Sendable, CustomTestStringConvertible {
    var name: String
    var value: [UInt8]
    var topic: RecordKind
    var key: String?
    var expected: [ExpectedError]
    var testDescription: String { name }

    init(
        _ name: String, _ message: SampleMessage, topic: RecordKind? = nil, key: String? = "530102",
        _ expected: [ExpectedError]
    ) {
        self.name = name
        self.value = message.bytes
        self.topic = topic ?? ValidatorCheck.kind(of: message)
        self.key = key
        self.expected = expected
    }

    init(_ name: String, bytes: [UInt8], topic: RecordKind = .rd, key: String? = "530102", _ expected: [ExpectedError])
    {
        self.name = name
        self.value = bytes
        self.topic = topic
        self.key = key
        self.expected = expected
    }
}

private let rd = SampleMessage.rd
private let contract = SampleMessage.contract
private let profile = SampleMessage.profile

private func padded(_ m: SampleMessage, to size: Int) -> [UInt8] {
    var b = m.bytes
    b.insert(contentsOf: [UInt8](repeating: 0x20, count: size - b.count), at: 1)
    return b
}

/// Section 6's checks, one row per rule.
let validatorRuleRows: [ValidatorRuleRow] = [
    // The bases are valid.
    ValidatorRuleRow("valid rd", rd, []),
    ValidatorRuleRow("valid contract", contract, []),
    ValidatorRuleRow("valid profile", profile, []),
    ValidatorRuleRow("valid zone", rd.with("county", "\"KM-HTZ\""), key: "KM-HTZ", []),

    // E_SIZE, E_ENCODING, E_JSON: alone.
    ValidatorRuleRow("65536 bytes is allowed", bytes: padded(rd, to: 65_536), []),
    ValidatorRuleRow("65537 bytes is E_SIZE", bytes: padded(rd, to: 65_537), [ExpectedError(.size)]),
    ValidatorRuleRow(
        "invalid UTF-8 in a string",
        bytes: Array(#"{"schema":"sti.rd/1","county":"53010"#.utf8) + [0xFF] + Array(#""}"#.utf8),
        [ExpectedError(.encoding)]),
    ValidatorRuleRow("trailing comma", bytes: Array(rd.json.dropLast().appending(",}").utf8), [ExpectedError(.json)]),
    ValidatorRuleRow(
        "size before encoding", bytes: [0xFF] + [UInt8](repeating: 0x20, count: 65_536), [ExpectedError(.size)]),
    ValidatorRuleRow("encoding before JSON", bytes: Array("[1,".utf8) + [0xC0, 0xAF], [ExpectedError(.encoding)]),

    // E_SCHEMA: alone, even with other errors present.
    ValidatorRuleRow("schema missing", rd.with("schema", nil).with("year", "1999"), [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow("schema null", rd.with("schema", "null"), [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow("schema not a string", rd.with("schema", "1"), [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow("schema unknown", rd.with("schema", "\"sti.rd/2\""), [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow("schema of another topic", rd, topic: .techContract, [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow(
        "schema rejection is not a submission", rd.with("schema", "\"sti.rejection/1\""),
        [ExpectedError(.schema, "schema")]),
    ValidatorRuleRow("schema with an escape is the same schema", rd.with("schema", #""sti.rd\/1""#), []),

    // E_FIELD_MISSING.
    ValidatorRuleRow("county missing", rd.with("county", nil), [ExpectedError(.fieldMissing, "county")]),
    ValidatorRuleRow("revision missing", rd.with("revision", nil), [ExpectedError(.fieldMissing, "revision")]),
    ValidatorRuleRow(
        "submitted_at missing", rd.with("submitted_at", nil), [ExpectedError(.fieldMissing, "submitted_at")]),
    ValidatorRuleRow("year missing", rd.with("year", nil), [ExpectedError(.fieldMissing, "year")]),
    ValidatorRuleRow("year null is missing", rd.with("year", "null"), [ExpectedError(.fieldMissing, "year")]),
    ValidatorRuleRow("performer missing", rd.with("performer", nil), [ExpectedError(.fieldMissing, "performer")]),
    ValidatorRuleRow(
        "expenditure missing", rd.with("expenditure_10k_cny", nil),
        [ExpectedError(.fieldMissing, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "contract_no missing", contract.with("contract_no", nil), [ExpectedError(.fieldMissing, "contract_no")]),
    ValidatorRuleRow(
        "registered_on missing", contract.with("registered_on", nil), [ExpectedError(.fieldMissing, "registered_on")]),
    ValidatorRuleRow(
        "contract_type missing", contract.with("contract_type", nil), [ExpectedError(.fieldMissing, "contract_type")]),
    ValidatorRuleRow("domain missing", contract.with("domain", nil), [ExpectedError(.fieldMissing, "domain")]),
    ValidatorRuleRow(
        "contract value missing", contract.with("contract_value_10k_cny", nil),
        [ExpectedError(.fieldMissing, "contract_value_10k_cny")]),
    ValidatorRuleRow(
        "transaction value missing", contract.with("tech_transaction_value_10k_cny", nil),
        [ExpectedError(.fieldMissing, "tech_transaction_value_10k_cny")]),
    ValidatorRuleRow(
        "buyer_country missing", contract.with("buyer_country", nil), [ExpectedError(.fieldMissing, "buyer_country")]),
    ValidatorRuleRow("profile year missing", profile.with("year", nil), [ExpectedError(.fieldMissing, "year")]),
    ValidatorRuleRow("profile figures are optional", SampleMessage(members: Array(profile.members.prefix(5))), []),
    ValidatorRuleRow("status is optional", rd.with("status", nil), []),
    ValidatorRuleRow("status null is absent", rd.with("status", "null"), []),

    // E_FIELD_UNKNOWN.
    ValidatorRuleRow("unknown field", rd.with("note", "\"x\""), [ExpectedError(.fieldUnknown, "note")]),
    ValidatorRuleRow("unknown field null is absent", rd.with("note", "null"), []),
    ValidatorRuleRow(
        "misspelt field", rd.with("expenditure_10k_cny", nil).with("expenditure_10k_cyn", "1"),
        [ExpectedError(.fieldMissing, "expenditure_10k_cny"), ExpectedError(.fieldUnknown, "expenditure_10k_cyn")]),
    ValidatorRuleRow(
        "field of another schema", contract.with("performer", "\"other\""), [ExpectedError(.fieldUnknown, "performer")]),
    ValidatorRuleRow(
        "profile field in rd", rd.with("gdp_100m_cny", "1"), [ExpectedError(.fieldUnknown, "gdp_100m_cny")]),
    ValidatorRuleRow(
        "unknown object field", rd.with("extra", #"{"a":[1,2,{"b":null}]}"#), [ExpectedError(.fieldUnknown, "extra")]),
    ValidatorRuleRow(
        "unknown fields in message order", rd.with("zz", "1").with("aa", "2"),
        [ExpectedError(.fieldUnknown, "zz"), ExpectedError(.fieldUnknown, "aa")]),
    ValidatorRuleRow("escaped known key is known", rd.with("year", nil).with(#"ye\u0061r"#, "2025"), []),

    // E_TYPE.
    ValidatorRuleRow("county a number", rd.with("county", "530102"), [ExpectedError(.type, "county")]),
    ValidatorRuleRow("revision a string", rd.with("revision", "\"1\""), [ExpectedError(.type, "revision")]),
    ValidatorRuleRow("status a number", rd.with("status", "1"), [ExpectedError(.type, "status")]),
    ValidatorRuleRow(
        "submitted_at a number", rd.with("submitted_at", "20260115"), [ExpectedError(.type, "submitted_at")]),
    ValidatorRuleRow("year a string", rd.with("year", "\"2025\""), [ExpectedError(.type, "year")]),
    ValidatorRuleRow("performer an array", rd.with("performer", "[\"other\"]"), [ExpectedError(.type, "performer")]),
    ValidatorRuleRow(
        "expenditure a string", rd.with("expenditure_10k_cny", "\"100\""), [ExpectedError(.type, "expenditure_10k_cny")]
    ),
    ValidatorRuleRow(
        "expenditure a boolean", rd.with("expenditure_10k_cny", "true"), [ExpectedError(.type, "expenditure_10k_cny")]),
    ValidatorRuleRow("contract_no a number", contract.with("contract_no", "12"), [ExpectedError(.type, "contract_no")]),
    ValidatorRuleRow(
        "registered_on a number", contract.with("registered_on", "20260110"), [ExpectedError(.type, "registered_on")]),
    ValidatorRuleRow(
        "buyer_country false", contract.with("buyer_country", "false"), [ExpectedError(.type, "buyer_country")]),
    ValidatorRuleRow("gdp an array", profile.with("gdp_100m_cny", "[]"), [ExpectedError(.type, "gdp_100m_cny")]),
    ValidatorRuleRow(
        "high_tech_enterprises an object", profile.with("high_tech_enterprises", "{}"),
        [ExpectedError(.type, "high_tech_enterprises")]),

    // E_COUNTY.
    ValidatorRuleRow(
        "county not in registry", rd.with("county", "\"530199\""), key: "530199", [ExpectedError(.county, "county")]),
    ValidatorRuleRow(
        "derived geography cannot submit", rd.with("county", "\"530100\""), key: "530100",
        [ExpectedError(.county, "county")]),
    ValidatorRuleRow(
        "county empty", rd.with("county", "\"\""), key: "",
        [ExpectedError(.county, "county"), ExpectedError(.keyMismatch)]),

    // E_KEY_MISMATCH.
    ValidatorRuleRow("key missing", rd, key: nil, [ExpectedError(.keyMismatch)]),
    ValidatorRuleRow("key empty", rd, key: "", [ExpectedError(.keyMismatch)]),
    ValidatorRuleRow("key differs", rd, key: "530103", [ExpectedError(.keyMismatch, "county")]),
    ValidatorRuleRow(
        "key differs and county unknown", rd.with("county", "\"999999\""), key: "530103",
        [ExpectedError(.county, "county"), ExpectedError(.keyMismatch, "county")]),
    ValidatorRuleRow(
        "county missing and key present: no mismatch", rd.with("county", nil), [ExpectedError(.fieldMissing, "county")]),
    ValidatorRuleRow(
        "county a number: no mismatch", rd.with("county", "1"), key: "530103", [ExpectedError(.type, "county")]),

    // E_PERIOD: year.
    ValidatorRuleRow("year 2000 is the first", rd.with("year", "2000"), []),
    ValidatorRuleRow("year 1999", rd.with("year", "1999"), [ExpectedError(.period, "year")]),
    ValidatorRuleRow("year this year (UTC+8)", rd.with("year", "2026"), []),
    ValidatorRuleRow("year next year", rd.with("year", "2027"), [ExpectedError(.period, "year")]),
    ValidatorRuleRow("year negative", rd.with("year", "-2025"), [ExpectedError(.period, "year")]),
    ValidatorRuleRow("year -0", rd.with("year", "-0"), [ExpectedError(.period, "year")]),
    ValidatorRuleRow("year huge", rd.with("year", String(repeating: "9", count: 40)), [ExpectedError(.period, "year")]),
    ValidatorRuleRow("profile year next year", profile.with("year", "2027"), [ExpectedError(.period, "year")]),
    // E_PERIOD: registered_on. "Today" is the day of the message's timestamp in UTC+8
    // (2026-01-15, section 3), not the validator's clock (2026-03-15).
    ValidatorRuleRow("registered_on the message's day", contract.with("registered_on", "\"2026-01-15\""), []),
    ValidatorRuleRow(
        "registered_on the day after the message's", contract.with("registered_on", "\"2026-01-16\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on the clock's today, after the message's", contract.with("registered_on", "\"2026-03-15\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow("registered_on 2000-01-01", contract.with("registered_on", "\"2000-01-01\""), []),
    ValidatorRuleRow(
        "registered_on 1999-12-31", contract.with("registered_on", "\"1999-12-31\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow("registered_on 29 Feb leap year", contract.with("registered_on", "\"2024-02-29\""), []),
    ValidatorRuleRow(
        "registered_on 29 Feb common year", contract.with("registered_on", "\"2023-02-29\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on 30 Feb", contract.with("registered_on", "\"2024-02-30\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on 31 Apr", contract.with("registered_on", "\"2025-04-31\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on month 13", contract.with("registered_on", "\"2025-13-01\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on day 00", contract.with("registered_on", "\"2025-01-00\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on unpadded", contract.with("registered_on", "\"2025-1-5\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on with time", contract.with("registered_on", "\"2025-01-05T00:00:00Z\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow(
        "registered_on slashes", contract.with("registered_on", "\"2025/01/05\""),
        [ExpectedError(.period, "registered_on")]),
    ValidatorRuleRow("registered_on escaped digits", contract.with("registered_on", #""\u0032025-01-05""#), []),
    // E_PERIOD: submitted_at.
    ValidatorRuleRow(
        "submitted_at without offset", rd.with("submitted_at", "\"2026-01-15T09:30:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at date only", rd.with("submitted_at", "\"2026-01-15\""), [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at space separator", rd.with("submitted_at", "\"2026-01-15 09:30:00+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow("submitted_at lower-case t and z", rd.with("submitted_at", "\"2026-01-15t01:30:00z\""), []),
    ValidatorRuleRow("submitted_at Z", rd.with("submitted_at", "\"2026-01-15T01:30:00Z\""), []),
    ValidatorRuleRow("submitted_at fraction", rd.with("submitted_at", "\"2026-01-15T09:30:00.123456789+08:00\""), []),
    ValidatorRuleRow(
        "submitted_at empty fraction", rd.with("submitted_at", "\"2026-01-15T09:30:00.+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at 29 Feb 2026", rd.with("submitted_at", "\"2026-02-29T09:30:00+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at hour 24", rd.with("submitted_at", "\"2026-01-15T24:00:00+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at minute 60", rd.with("submitted_at", "\"2026-01-15T09:60:00+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at second 60 mid-month", rd.with("submitted_at", "\"2026-01-15T09:30:60+08:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at leap second at month end UTC", rd.with("submitted_at", "\"2016-12-31T23:59:60Z\""), []),
    ValidatorRuleRow(
        "submitted_at leap second via offset", rd.with("submitted_at", "\"2017-01-01T07:59:60+08:00\""), []),
    ValidatorRuleRow(
        "submitted_at offset 24h", rd.with("submitted_at", "\"2026-01-15T09:30:00+24:00\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at offset without colon", rd.with("submitted_at", "\"2026-01-15T09:30:00+0800\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at offset minutes 60", rd.with("submitted_at", "\"2026-01-15T09:30:00+08:60\""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow(
        "submitted_at trailing text", rd.with("submitted_at", "\"2026-01-15T09:30:00+08:00 \""),
        [ExpectedError(.period, "submitted_at")]),
    ValidatorRuleRow("submitted_at empty", rd.with("submitted_at", "\"\""), [ExpectedError(.period, "submitted_at")]),

    // E_RANGE.
    ValidatorRuleRow("revision 1 000 000", rd.with("revision", "1000000"), []),
    ValidatorRuleRow("revision 0", rd.with("revision", "0"), [ExpectedError(.range, "revision")]),
    ValidatorRuleRow("revision 1 000 001", rd.with("revision", "1000001"), [ExpectedError(.range, "revision")]),
    ValidatorRuleRow("revision negative", rd.with("revision", "-1"), [ExpectedError(.range, "revision")]),
    ValidatorRuleRow(
        "revision 10000 digits", rd.with("revision", "1" + String(repeating: "0", count: 9_999)),
        [ExpectedError(.range, "revision")]),
    ValidatorRuleRow(
        "expenditure negative", rd.with("expenditure_10k_cny", "-0.0001"),
        [ExpectedError(.range, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "expenditure above 10^10", rd.with("expenditure_10k_cny", "10000000000.0001"),
        [ExpectedError(.range, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "expenditure 10000-digit integer", rd.with("expenditure_10k_cny", "9" + String(repeating: "0", count: 9_999)),
        [ExpectedError(.range, "expenditure_10k_cny")]),
    ValidatorRuleRow("contract_no empty", contract.with("contract_no", "\"\""), [ExpectedError(.range, "contract_no")]),
    ValidatorRuleRow(
        "contract_no 64 characters", contract.with("contract_no", "\"" + String(repeating: "A", count: 64) + "\""), []),
    ValidatorRuleRow(
        "contract_no 65 characters", contract.with("contract_no", "\"" + String(repeating: "A", count: 65) + "\""),
        [ExpectedError(.range, "contract_no")]),
    ValidatorRuleRow("contract_no all allowed characters", contract.with("contract_no", "\"AZaz09-_./\""), []),
    ValidatorRuleRow(
        "contract_no space", contract.with("contract_no", "\"HT 001\""), [ExpectedError(.range, "contract_no")]),
    ValidatorRuleRow(
        "contract_no non-ASCII", contract.with("contract_no", "\"合同001\""), [ExpectedError(.range, "contract_no")]),
    ValidatorRuleRow("contract_no escaped slash is a slash", contract.with("contract_no", #""HT\/1""#), []),
    ValidatorRuleRow(
        "contract_no escaped NUL", contract.with("contract_no", #""HT\u00001""#), [ExpectedError(.range, "contract_no")]
    ),
    ValidatorRuleRow(
        "contract value above 10^10", contract.with("contract_value_10k_cny", "20000000000"),
        [ExpectedError(.range, "contract_value_10k_cny")]),
    ValidatorRuleRow(
        "transaction value negative", contract.with("tech_transaction_value_10k_cny", "-1"),
        [ExpectedError(.range, "tech_transaction_value_10k_cny")]),
    ValidatorRuleRow("gdp 0 (must be > 0)", profile.with("gdp_100m_cny", "0"), [ExpectedError(.range, "gdp_100m_cny")]),
    ValidatorRuleRow("gdp 100 000 000", profile.with("gdp_100m_cny", "100000000"), []),
    ValidatorRuleRow(
        "gdp above 100 000 000", profile.with("gdp_100m_cny", "100000000.0001"), [ExpectedError(.range, "gdp_100m_cny")]
    ),
    ValidatorRuleRow("population 0.0001", profile.with("resident_population_10k", "0.0001"), []),
    ValidatorRuleRow(
        "population above 100 000", profile.with("resident_population_10k", "100000.0001"),
        [ExpectedError(.range, "resident_population_10k")]),
    ValidatorRuleRow("high-tech enterprises 0", profile.with("high_tech_enterprises", "0"), []),
    ValidatorRuleRow(
        "high-tech enterprises -1", profile.with("high_tech_enterprises", "-1"),
        [ExpectedError(.range, "high_tech_enterprises")]),
    ValidatorRuleRow(
        "high-tech enterprises 1 000 001", profile.with("high_tech_enterprises", "1000001"),
        [ExpectedError(.range, "high_tech_enterprises")]),
    ValidatorRuleRow(
        "patents 100 000 001", profile.with("invention_patents_held", "100000001"),
        [ExpectedError(.range, "invention_patents_held")]),
    ValidatorRuleRow(
        "industrial output negative", profile.with("industrial_output_100m_cny", "-5"),
        [ExpectedError(.range, "industrial_output_100m_cny")]),
    ValidatorRuleRow(
        "high-tech output above 10^8",
        profile.with("industrial_output_100m_cny", nil).with("high_tech_industrial_output_100m_cny", "100000001"),
        [ExpectedError(.range, "high_tech_industrial_output_100m_cny")]),

    // E_PRECISION.
    ValidatorRuleRow(
        "five fractional digits", rd.with("expenditure_10k_cny", "1.00001"),
        [ExpectedError(.precision, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "trailing zeros still count", rd.with("expenditure_10k_cny", "100.50000"),
        [ExpectedError(.precision, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "exponent form", rd.with("expenditure_10k_cny", "1e3"), [ExpectedError(.precision, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "exponent form with sign", rd.with("expenditure_10k_cny", "1.5E+3"),
        [ExpectedError(.precision, "expenditure_10k_cny")]),
    ValidatorRuleRow(
        "exponent even when zero", rd.with("expenditure_10k_cny", "0e0"),
        [ExpectedError(.precision, "expenditure_10k_cny")]),
    ValidatorRuleRow("year with .0", rd.with("year", "2025.0"), [ExpectedError(.precision, "year")]),
    ValidatorRuleRow("year fraction", rd.with("year", "2025.5"), [ExpectedError(.precision, "year")]),
    ValidatorRuleRow("year exponent", rd.with("year", "2.025e3"), [ExpectedError(.precision, "year")]),
    ValidatorRuleRow("revision fraction", rd.with("revision", "1.5"), [ExpectedError(.precision, "revision")]),
    ValidatorRuleRow("revision exponent", rd.with("revision", "1e0"), [ExpectedError(.precision, "revision")]),
    ValidatorRuleRow(
        "high-tech enterprises 12.0", profile.with("high_tech_enterprises", "12.0"),
        [ExpectedError(.precision, "high_tech_enterprises")]),
    ValidatorRuleRow(
        "patents exponent", profile.with("invention_patents_held", "9E3"),
        [ExpectedError(.precision, "invention_patents_held")]),
    ValidatorRuleRow(
        "precision before range", rd.with("expenditure_10k_cny", "-1.00001"),
        [ExpectedError(.precision, "expenditure_10k_cny")]),

    // E_ENUM.
    ValidatorRuleRow("status withdrawn", rd.with("status", "\"withdrawn\""), []),
    ValidatorRuleRow("status active", rd.with("status", "\"active\""), []),
    ValidatorRuleRow("status unknown", rd.with("status", "\"deleted\""), [ExpectedError(.enumeration, "status")]),
    ValidatorRuleRow("status upper-case", rd.with("status", "\"ACTIVE\""), [ExpectedError(.enumeration, "status")]),
    ValidatorRuleRow(
        "performer unknown", rd.with("performer", "\"enterprise\""), [ExpectedError(.enumeration, "performer")]),
    ValidatorRuleRow("performer each", rd.with("performer", "\"higher_education\""), []),
    ValidatorRuleRow(
        "contract_type unknown", contract.with("contract_type", "\"license\""),
        [ExpectedError(.enumeration, "contract_type")]),
    ValidatorRuleRow("domain unknown", contract.with("domain", "\"ai\""), [ExpectedError(.enumeration, "domain")]),
    ValidatorRuleRow("domain escaped", contract.with("domain", #""\u0062iomedicine""#), []),
    ValidatorRuleRow(
        "buyer_country lower-case", contract.with("buyer_country", "\"la\""),
        [ExpectedError(.enumeration, "buyer_country")]),
    ValidatorRuleRow(
        "buyer_country three letters", contract.with("buyer_country", "\"LAO\""),
        [ExpectedError(.enumeration, "buyer_country")]),
    ValidatorRuleRow(
        "buyer_country one letter", contract.with("buyer_country", "\"L\""),
        [ExpectedError(.enumeration, "buyer_country")]),
    ValidatorRuleRow(
        "buyer_country digit", contract.with("buyer_country", "\"1A\""), [ExpectedError(.enumeration, "buyer_country")]),
    ValidatorRuleRow(
        "buyer_country full-width letters", contract.with("buyer_country", "\"ＣＮ\""),
        [ExpectedError(.enumeration, "buyer_country")]),
    ValidatorRuleRow("buyer_country CN", contract.with("buyer_country", "\"CN\""), []),

    // E_INCONSISTENT.
    ValidatorRuleRow(
        "transaction equal to contract value", contract.with("tech_transaction_value_10k_cny", "500.0000"), []),
    ValidatorRuleRow(
        "transaction above contract value", contract.with("tech_transaction_value_10k_cny", "500.0001"),
        [ExpectedError(.inconsistent, "tech_transaction_value_10k_cny")]),
    ValidatorRuleRow(
        "high-tech output above industrial output", profile.with("high_tech_industrial_output_100m_cny", "300.5"),
        [ExpectedError(.inconsistent, "high_tech_industrial_output_100m_cny")]),
    ValidatorRuleRow("high-tech output without industrial output", profile.with("industrial_output_100m_cny", nil), []),
    ValidatorRuleRow(
        "no inconsistency from an invalid field",
        contract.with("contract_value_10k_cny", "\"5\"").with("tech_transaction_value_10k_cny", "9"),
        [ExpectedError(.type, "contract_value_10k_cny")]),
]

@Suite struct MessageValidatorTests {
    @Test(arguments: validatorRuleRows)
    func rule(_ row: ValidatorRuleRow) {
        let result = ValidatorCheck.run(row.value, topic: row.topic, key: row.key)
        #expect(ValidatorCheck.codes(result) == row.expected, "\(row.name): \(result)")
    }

    @Test func everyCodeExceptRevisionCodesHasARow() {
        let covered = Set(validatorRuleRows.flatMap { $0.expected.map(\.code) })
        // auth: KeyRingTests; partition: PartitionRuleTests.
        let decidedElsewhere: Set<ErrorCode> = [.staleRevision, .revisionConflict, .auth, .partition]
        #expect(Set(ErrorCode.allCases).subtracting(decidedElsewhere).subtracting(covered).isEmpty)
    }

    @Test func everyErrorIsReportedAtOnceInCodeOrder() throws {
        let message = rd.with([
            ("revision", "0"), ("year", "1999"), ("performer", "\"x\""),
            ("expenditure_10k_cny", "1e3"), ("note", "1"), ("status", "7"),
        ])
        let result = ValidatorCheck.run(message, key: "530103")
        #expect(
            ValidatorCheck.codes(result) == [
                ExpectedError(.fieldUnknown, "note"), ExpectedError(.type, "status"),
                ExpectedError(.keyMismatch, "county"),
                ExpectedError(.period, "year"), ExpectedError(.range, "revision"),
                ExpectedError(.precision, "expenditure_10k_cny"),
                ExpectedError(.enumeration, "performer"),
            ])
        let failure = try #require(result.rejection)
        #expect(failure.county == "530102")
        #expect(failure.codes == [.fieldUnknown, .type, .keyMismatch, .period, .range, .precision, .enumeration])
    }

    @Test func contractWithFourErrorsGetsAllFour() {
        let message = contract.with([
            ("contract_no", "\"bad no\""), ("registered_on", "\"2026-02-30\""),
            ("buyer_country", "\"cn\""), ("tech_transaction_value_10k_cny", "600"),
        ])
        #expect(
            ValidatorCheck.codes(ValidatorCheck.run(message)) == [
                ExpectedError(.period, "registered_on"), ExpectedError(.range, "contract_no"),
                ExpectedError(.enumeration, "buyer_country"),
                ExpectedError(.inconsistent, "tech_transaction_value_10k_cny"),
            ])
    }

    @Test func orderDoesNotDependOnKeyOrder() {
        let message = rd.with([("year", "1999"), ("performer", "\"x\""), ("a", "1")])
        let reversed = SampleMessage(members: message.members.reversed())
        let one = ValidatorCheck.run(message).rejection?.errors
        let other = ValidatorCheck.run(reversed).rejection?.errors
        #expect(one != nil && one == other)
    }

    @Test func messagesNameFieldAndRule() throws {
        let failure = try #require(ValidatorCheck.run(rd.with("expenditure_10k_cny", "10000000000.0001")).rejection)
        #expect(
            failure.errors == [
                FieldError(
                    .range, field: "expenditure_10k_cny", "must be between 0 and 10000000000, not 10000000000.0001")
            ])
        let year = try #require(ValidatorCheck.run(rd.with("year", "2027")).rejection)
        #expect(
            year.errors.first?.message
                == "must be between 2000 and 2026, the year of the message's Kafka timestamp in UTC+8, not 2027")
        let integer = try #require(ValidatorCheck.run(rd.with("year", "2026.0")).rejection)
        #expect(integer.errors.first?.message == "must be an integer without a decimal point, not 2026.0: write 2026")
        let type = try #require(ValidatorCheck.run(rd.with("year", "\"2025\"")).rejection)
        #expect(
            type.errors.first?.message
                == "must be an integer, not a string \"2025\": write 2025 as a number, without quotes")
        let mismatch = try #require(ValidatorCheck.run(rd, key: "530103").rejection)
        #expect(mismatch.errors.first?.message == "\"530102\" differs from the message key \"530103\"")
    }

    @Test func failureCarriesCountyOnlyWhenAString() {
        #expect(ValidatorCheck.run(rd.with("year", "1")).rejection?.county == "530102")
        #expect(ValidatorCheck.run(rd.with("county", "5")).rejection?.county == nil)
        #expect(ValidatorCheck.run(rd.with("schema", "\"x\"")).rejection?.county == "530102")
        #expect(ValidatorCheck.run(Array("{".utf8)).rejection?.county == nil)
    }

    // MARK: Exact decoding

    @Test func rdDecodesExactly() throws {
        let record = try ValidatorCheck.run(rd).get()
        #expect(
            record
                == Record(
                    county: "530102", revision: 1, status: .active, submittedAt: "2026-01-15T09:30:00+08:00",
                    body: .rd(
                        RDExpenditure(
                            year: 2025, performer: .enterpriseAboveScale,
                            expenditure: ExactAmount(scaled: 123_456_789)))))
    }

    @Test func contractDecodesExactly() throws {
        let record = try ValidatorCheck.run(contract.with("status", "\"withdrawn\"").with("revision", "7")).get()
        #expect(
            record
                == Record(
                    county: "530102", revision: 7, status: .withdrawn, submittedAt: "2026-01-15T09:30:00+08:00",
                    body: .techContract(
                        TechContract(
                            contractNo: "HT-2026/001",
                            registeredOn: CalendarDate(year: 2026, month: 1, day: 10),
                            contractType: .development, domain: .electronicInformation,
                            contractValue: ExactAmount(whole: 500),
                            techTransactionValue: ExactAmount(scaled: 4_505_000),
                            buyerCountry: "LA"))))
        #expect(record.year == 2026)
    }

    @Test func profileDecodesExactly() throws {
        let record = try ValidatorCheck.run(profile).get()
        #expect(
            record
                == Record(
                    county: "530102", revision: 1, submittedAt: "2026-01-15T09:30:00+08:00",
                    body: .countyProfile(
                        CountyProfile(
                            year: 2025, gdp: ExactAmount(scaled: 12_345_000),
                            residentPopulation: ExactAmount(scaled: 1_102_000),
                            highTechEnterprises: 420, inventionPatentsHeld: 9000,
                            industrialOutput: ExactAmount(whole: 300),
                            highTechIndustrialOutput: ExactAmount(scaled: 1_202_500)))))
        let sparse = try ValidatorCheck.run(SampleMessage(members: Array(profile.members.prefix(5)))).get()
        #expect(sparse.body == .countyProfile(CountyProfile(year: 2025)))
    }

    @Test func escapedStringsDecode() throws {
        let record = try ValidatorCheck.run(
            contract.with("contract_no", #""HT\/2026\u002D1""#).with(
                "submitted_at", #""2026-01-15T09:30:00\u002B08:00""#)
        ).get()
        guard case .techContract(let c) = record.body else {
            Issue.record("not a contract")
            return
        }
        #expect(c.contractNo == "HT/2026-1")
        #expect(record.submittedAt == "2026-01-15T09:30:00+08:00")
    }

    @Test func whitespaceAroundTokensIsAllowed() throws {
        let spaced =
            " \t\r\n{ \"schema\" : \"sti.rd/1\" ,\n\"county\":\"530102\",\"revision\" :1,\"submitted_at\":\"2026-01-15T09:30:00+08:00\",\"year\":2025,\"performer\":\"other\",\"expenditure_10k_cny\": 5 } \n"
        #expect(throws: Never.self) { try ValidatorCheck.run(Array(spaced.utf8)).get() }
    }

    static let amountRows: [(String, AmountOutcome)] = [
        ("0.0001", .scaled(1)),
        ("10000000000", .scaled(100_000_000_000_000)),
        ("10000000000.0000", .scaled(100_000_000_000_000)),
        ("10000000000.0001", .error(.range)),
        ("1e3", .error(.precision)),
        ("1E3", .error(.precision)),
        ("0.1e1", .error(.precision)),
        ("-0", .scaled(0)),
        ("-0.0", .scaled(0)),
        ("-0.0000", .scaled(0)),
        ("0", .scaled(0)),
        ("100.50", .scaled(1_005_000)),
        ("100.5", .scaled(1_005_000)),
        ("100.5000", .scaled(1_005_000)),
        ("100.50000", .error(.precision)),
        ("1.23456", .error(.precision)),
        ("-0.0001", .error(.range)),
        ("999999999999999", .error(.range)),
        ("9999999999999999", .error(.range)),
        ("12345678901234567890", .error(.range)),
        ("-12345678901234567890", .error(.range)),
        ("0.9999", .scaled(9999)),
        ("9999999999.9999", .scaled(99_999_999_999_999)),
    ]

    @Test(arguments: amountRows)
    func amountsAreExact(literal: String, expected: AmountOutcome) {
        let result = ValidatorCheck.run(rd.with("expenditure_10k_cny", literal))
        switch (result, expected) {
        case (.success(let r), .scaled(let scaled)):
            #expect(
                r.body
                    == .rd(
                        RDExpenditure(
                            year: 2025, performer: .enterpriseAboveScale, expenditure: ExactAmount(scaled: scaled))))
        case (.failure(let f), .error(let code)):
            #expect(f.errors == [FieldError(code, field: "expenditure_10k_cny", f.errors.first?.message ?? "")])
        default:
            Issue.record("\(literal): got \(result), expected \(expected)")
        }
    }

    @Test func sameValueDifferentSpellingSameKey() throws {
        let a = try ValidatorCheck.run(rd.with("expenditure_10k_cny", "100.5")).get()
        let b = try ValidatorCheck.run(
            rd.with("expenditure_10k_cny", "100.50").with("submitted_at", "\"2026-02-01T00:00:00Z\"")
        ).get()
        #expect(a.canonicalValuesKey == b.canonicalValuesKey)
        #expect(a != b)
    }

    @Test func offlineTodayComesFromTheInjectedClock() {
        // 2026-12-31T16:00:00Z is already 2027-01-01 in UTC+8. Offline checks (`sti validate`,
        // `sti submit` before sending) use the clock (section 3).
        let lateUTC = MessageValidator(
            registry: .kunming, keyRing: nil, now: { Date(timeIntervalSince1970: 1_798_732_800) })
        #expect(
            ValidatorCheck.codes(
                ValidatorCheck.run(rd.with("year", "2027").bytes, timestampSource: .localClock, validator: lateUTC))
                == [])
        let earlier = MessageValidator(
            registry: .kunming, keyRing: nil, now: { Date(timeIntervalSince1970: 1_798_732_799) })
        let failure = ValidatorCheck.run(
            rd.with("year", "2027").bytes, timestampSource: .localClock, validator: earlier)
        #expect(ValidatorCheck.codes(failure) == [ExpectedError(.period, "year")])
        #expect(
            failure.rejection?.errors.first?.message
                == "must be between 2000 and 2026 (the current year in UTC+8), not 2027")
        let date = ValidatorCheck.run(
            contract.with("registered_on", "\"2027-01-01\"").bytes, topic: .techContract,
            timestampSource: .localClock, validator: earlier)
        #expect(
            date.rejection?.errors == [
                FieldError(
                    .period, field: "registered_on", "must not be after today (2026-12-31 in UTC+8), not 2027-01-01")
            ])
    }

    @Test func otherRegistryIsUsed() throws {
        let registry = try Registry(geographies: [
            Geography(code: "X1", nameZh: "甲", nameEn: "X", kind: .county, area: .core, inTotal: true)
        ])
        let validator = MessageValidator(registry: registry, keyRing: nil, today: { ValidatorCheck.today })
        #expect(
            ValidatorCheck.codes(ValidatorCheck.run(rd.with("county", "\"X1\"").bytes, key: "X1", validator: validator))
                == [])
        #expect(
            ValidatorCheck.codes(ValidatorCheck.run(rd.bytes, validator: validator)) == [
                ExpectedError(.county, "county")
            ])
    }

    @Test func fieldLookupKnowsEveryNameAndNothingElse() {
        for field in MessageField.allCases {
            for spelling in [field.name, "\\u00" + String(field.name.utf8.first!, radix: 16) + field.name.dropFirst()] {
                let json = Array(("{\"" + spelling + "\":1}").utf8)
                json.withUnsafeBytes { buffer in
                    let scanner = JSONScanner(buffer)
                    let key = JSONSpan(
                        kind: .string, escaped: spelling.hasPrefix("\\"), start: 2, end: 2 + spelling.utf8.count)
                    #expect(MessageField.lookup(key, in: scanner) == field, "\(spelling)")
                }
            }
            for near in [field.name + "x", String(field.name.dropLast()) + "X", "X" + field.name.dropFirst()] {
                Array(near.utf8).withUnsafeBytes { buffer in
                    let key = JSONSpan(kind: .string, escaped: false, start: 0, end: buffer.count)
                    #expect(MessageField.lookup(key, in: JSONScanner(buffer)) == nil, "\(near)")
                }
            }
        }
    }

    @Test func unknownFieldsAreCappedAndCut() throws {
        var message = rd
        for k in 0..<30 { message = message.with("extra\(k)", "1") }
        let long = String(repeating: "k", count: 1000)
        message = SampleMessage(members: [(long, "1")] + message.members)
        let failure = try #require(ValidatorCheck.run(message).rejection)
        #expect(failure.errors.count == 21)
        #expect(failure.errors.first?.field == String(repeating: "k", count: 64) + "…")
        #expect(failure.errors.last == FieldError(.fieldUnknown, field: nil, "and 11 more fields not in sti.rd/1"))
    }
}

/// An amount literal's expected reading: the value × 10^4, or the error code.
enum AmountOutcome: Sendable {
    case scaled(Int64)
    case error(ErrorCode)
}

extension Result {
    var rejection: Failure? { if case .failure(let f) = self { f } else { nil } }
}
