// The record catalogue: every field and record kind of protocol section 3, described once.
//
// This is the one place that spells the contract's field names, their JSON types, units,
// scales, bounds, rule texts, Chinese names and enumerated values with their Chinese labels,
// and each kind's schema, topic, identity and feed column order. Everything else derives from
// it: the validator's bounds and messages (`MessageValidator`), the JSON writer (`RecordJSON`),
// the feed reader's numeric fields and the feed writer's columns (STIPipeline), the generator,
// and `sti status`'s per-kind columns. `MessageField.lookup` keeps a hand-tuned name match for
// speed; a test checks it against this table.
//
// Public lookup API (for feeds with Chinese headers and labels, issue 15):
//
//     RecordCatalogue.field(forHeader: " R&D经费支出(万元) ")   // → the spec of expenditure_10k_cny
//     RecordCatalogue.field(forHeader: "performer")             // English names work too
//     RecordCatalogue.code(forLabel: "技术服务", field: "contract_type")  // → "service"
//     RecordCatalogue.code(forLabel: "中国", field: "buyer_country")      // → "CN"
//     RecordCatalogue.record(.rd).feedColumns                    // CSV column order of a kind
//     RecordCatalogue.spec(.performer).values                    // codes with Chinese labels
//
// `match(header:)` (and `field(forHeader:)`) is the one header matcher: it ignores white space
// (inside Chinese names too), reads full-width ASCII forms (`（`, `）`, `＆`, letters, digits)
// as their half-width ones, accepts a Chinese name without its unit and the two-line cells of
// `sti template`, so `R&D经费支出（万元）`, `R&D经费支出(万元)` and `R&D经费支出` name one field.
// `code(forLabel:field:)` gives the protocol code for a Chinese label (or for the code itself),
// nil when the text is neither; the wire always carries the codes.
//
// Adding a field: a `MessageField` case, one `FieldSpec` entry below, the kind's `fields` and
// `feedColumns`, the typed record field in `Records.swift`, and the validator's and writers'
// `switch` arms that the compiler then points at.

/// How a field's value is written in JSON and what it holds.
public enum FieldType: Sendable, Hashable {
    /// Free text or a code with a pattern (`county`, `contract_no`, `buyer_country`, `explanation`).
    case text
    /// One of `FieldSpec.values`.
    case enumeration
    /// A JSON number without a decimal point.
    case integer
    /// A JSON number with at most `FieldSpec.scale` fractional digits (an exact decimal).
    case decimal
    /// A string `YYYY-MM-DD`.
    case date
    /// A string RFC 3339 date-time with offset.
    case timestamp

    /// Whether the JSON value is a number (else a string).
    public var isNumber: Bool { self == .integer || self == .decimal }
}

/// An inclusive upper bound and a lower bound, both as integers scaled by 10^scale.
public struct FieldBounds: Sendable, Hashable {
    /// The lower bound × 10^scale.
    public var lower: Int64
    /// Whether `lower` itself is excluded (`0 < x`).
    public var lowerExclusive: Bool
    /// The inclusive upper bound × 10^scale.
    public var upper: Int64

    public func contains(_ scaled: Int64) -> Bool {
        (lowerExclusive ? scaled > lower : scaled >= lower) && scaled <= upper
    }
}

/// One value of an enumerated field: the protocol code and its Chinese label.
public struct EnumValue: Sendable, Hashable {
    public var code: String
    public var label: String
}

/// One field of section 3.
public struct FieldSpec: Sendable {
    public let field: MessageField
    /// The protocol's name, e.g. `expenditure_10k_cny`.
    public let name: String
    /// The Chinese column header, e.g. `R&D经费支出（万元）`.
    public let chineseName: String
    public let type: FieldType
    /// 万元, 亿元, 万人, 家, 件; nil for codes and text.
    public let unit: String?
    /// Fractional digits allowed (0 for integers and strings).
    public let scale: Int
    /// Range of a number (nil: none, or a rule of its own such as `year`'s).
    public let bounds: FieldBounds?
    /// The rule as error messages state it, e.g. "must be between 0 and 10000000000".
    public let rule: String
    /// Whether a record of a kind that has this field may leave it out.
    public let optional: Bool
    /// The values of an enumerated field (codes with Chinese labels); for `buyer_country` the
    /// labels a spreadsheet may carry (`中国` for `CN`), the code being free (two letters).
    public let values: [EnumValue]
}

/// One record kind of section 3.
public struct RecordSpec: Sendable {
    public let kind: RecordKind
    /// The `schema` value, e.g. `sti.rd/1`.
    public let schema: String
    /// The topic after the prefix (`rd` in `sti.rd`, section 2).
    public let topicSuffix: String
    /// The identity fields besides `county` (section 3).
    public let identity: [MessageField]
    /// The schema's own fields, in the order of the spec's table (common fields excluded).
    public let fields: [MessageField]
    /// The columns of a CSV feed the project writes, in order: `county`, the schema's fields,
    /// then `revision` (and `status` for contracts, the only kind the samples withdraw).
    /// `schema` and `submitted_at` are left to `sti submit`.
    public let feedColumns: [MessageField]
    /// The column head of `sti status`'s completeness table.
    public let statusColumn: String
}

/// The catalogue (see the top of this file for the lookup API).
public enum RecordCatalogue {
    /// Section 3's fields common to every record, in the table's order.
    public static let commonFields: [MessageField] = [.schema, .county, .revision, .status, .submittedAt, .explanation]

    /// The spec of one field.
    @inline(__always)
    public static func spec(_ field: MessageField) -> FieldSpec { specs[field.rawValue] }

    /// The spec of the field a protocol name names.
    public static func spec(named name: String) -> FieldSpec? { byName[name].map { specs[$0.rawValue] } }

    /// The description of one record kind.
    public static func record(_ kind: RecordKind) -> RecordSpec { records[kind.index] }

    /// Every field of a kind: the common ones, then the schema's own.
    public static func allFields(of kind: RecordKind) -> [MessageField] { commonFields + record(kind).fields }

    /// The protocol names of fields whose JSON value is a number, across all kinds.
    public static let numberFieldNames: Set<String> = Set(specs.filter { $0.type.isNumber }.map(\.name))

    /// The field a column header names, or nil (see `match(header:)`).
    public static func field(forHeader header: String) -> FieldSpec? {
        if case .field(let field) = match(header: header) { return spec(field) }
        return nil
    }

    /// What a column header names. The one header matcher: the feed reader (CSV, JSON, xlsx),
    /// `sti template`'s two-line headers and the tests all use it. Accepted spellings:
    /// - the protocol name (`performer`), exact but for white space around it and full-width
    ///   letters (`ｐｅｒｆｏｒｍｅｒ`); `per former` names nothing;
    /// - the Chinese name (`R&D经费支出(万元)`), with white space anywhere in it dropped (ASCII,
    ///   ideographic U+3000, no-break) and full-width ASCII forms read as half-width
    ///   (`（` `）` `＆`, letters, digits: `Ｒ＆Ｄ经费支出（万元）`);
    /// - the Chinese name without its unit (`R&D经费支出`, `合同金额`), unless two fields share it;
    /// - two or more of these on the lines of one cell naming the same field (`执行部门` /
    ///   `performer`, as `sti template` writes them).
    public static func match(header: String) -> HeaderMatch {
        let lines = header.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).map(String.init)
        let matches = (lines.isEmpty ? [header] : lines).map(matchLine)
        var fields: [MessageField] = []
        for match in matches {
            switch match {
            case .unknown: return .unknown
            case .ambiguous(let some): fields += some
            case .field(let field): fields.append(field)
            }
        }
        var distinct: [MessageField] = []
        for field in fields where !distinct.contains(field) { distinct.append(field) }
        return distinct.count == 1 && !matches.contains(where: { if case .ambiguous = $0 { true } else { false } })
            ? .field(distinct[0]) : .ambiguous(distinct)
    }

    /// For a header that names no single field, the sentence saying so (it quotes the header and
    /// says what a header may be); nil for a header `match(header:)` accepts.
    public static func headerRefusal(_ header: String) -> String? {
        let shown =
            "\"" + header.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).joined(separator: " / ")
            + "\""
        switch match(header: header) {
        case .field: return nil
        case .unknown:
            return
                "column header \(shown) names no field: write the protocol's field name (performer) or its Chinese name (执行部门, R&D经费支出(万元)), as in Samples/README.md"
        case .ambiguous(let fields):
            return
                "column header \(shown) is ambiguous: it could name \(fields.map(\.name).joined(separator: " or ")); write the full name of one field"
        }
    }

    /// One line of a header cell.
    private static func matchLine(_ line: String) -> HeaderMatch {
        if let field = byName[normalizedHeader(line)] { return .field(field) }
        switch byChineseHeader[headerKey(line)] {
        case .none: return .unknown
        case .some(let fields) where fields.count == 1: return .field(fields[0])
        case .some(let fields): return .ambiguous(fields)
        }
    }

    /// A Chinese header or label as it is compared: `normalizedHeader` with the white space
    /// inside dropped too (`合同金额 （万元）` → `合同金额(万元)`).
    public static func headerKey(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in normalizedHeader(text).unicodeScalars {
            switch scalar {
            case " ", "\t", "\n", "\r", "\u{3000}", "\u{A0}": continue
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// The protocol code of an enumerated value given by its Chinese label (`技术服务` →
    /// `service`, `中国` → `CN`) or by its code; nil for neither, or a field with no values.
    public static func code(forLabel label: String, field: MessageField) -> String? {
        let text = normalizedHeader(label)
        for v in spec(field).values where v.label == text || v.code == text { return v.code }
        return nil
    }

    /// `code(forLabel:field:)` with the field given by its protocol name.
    public static func code(forLabel label: String, field name: String) -> String? {
        guard let f = byName[name] else { return nil }
        return code(forLabel: label, field: f)
    }

    /// Trims white space and maps full-width ASCII forms (U+FF01…U+FF5E) to ASCII.
    public static func normalizedHeader(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if (0xFF01...0xFF5E).contains(scalar.value), let ascii = Unicode.Scalar(scalar.value - 0xFEE0) {
                out.append(ascii)
            } else if scalar.value == 0x3000 {
                out.append(" ")
            } else {
                out.append(scalar)
            }
        }
        return String(out).trimmingWhiteSpace()
    }

    // MARK: The tables

    // 万元 amounts: 0…10,000,000,000; 亿元 and 万人 figures: up to 100,000,000 and 100,000.
    private static func amount(upTo upper: Int64, positive: Bool = false) -> FieldBounds {
        FieldBounds(lower: 0, lowerExclusive: positive, upper: upper * 10_000)
    }
    private static func count(_ range: ClosedRange<Int64>) -> FieldBounds {
        FieldBounds(lower: range.lowerBound, lowerExclusive: false, upper: range.upperBound)
    }

    /// "must be between 0 and 10000000000", "must be greater than 0 and at most 100000".
    static func rangeRule(_ b: FieldBounds, scale: Int) -> String {
        let low = DecimalText.format(Int128(b.lower), fractionDigits: scale)
        let high = DecimalText.format(Int128(b.upper), fractionDigits: scale)
        return b.lowerExclusive
            ? "must be greater than \(low) and at most \(high)" : "must be between \(low) and \(high)"
    }

    private static func entry(
        _ field: MessageField, _ name: String, _ chinese: String, _ type: FieldType,
        unit: String? = nil, bounds: FieldBounds? = nil, rule: String? = nil,
        optional: Bool = false, values: [(String, String)] = []
    ) -> FieldSpec {
        let scale = type == .decimal ? 4 : 0
        let enumValues = values.map { EnumValue(code: $0.0, label: $0.1) }
        let text =
            rule ?? bounds.map { rangeRule($0, scale: scale) }
            ?? (type == .enumeration ? "must be one of " + enumValues.map(\.code).joined(separator: ", ") : "")
        return FieldSpec(
            field: field, name: name, chineseName: chinese, type: type, unit: unit, scale: scale,
            bounds: bounds, rule: text, optional: optional, values: enumValues)
    }

    /// Indexed by `MessageField.rawValue` (checked by a test).
    static let specs: [FieldSpec] = [
        entry(.schema, "schema", "数据类型", .text),
        entry(.county, "county", "县区代码", .text),
        entry(.revision, "revision", "修订号", .integer, bounds: count(1...1_000_000)),
        entry(.status, "status", "状态", .enumeration, optional: true, values: [("active", "有效"), ("withdrawn", "撤回")]),
        entry(
            .submittedAt, "submitted_at", "提交时间", .timestamp,
            rule: "must be a real RFC 3339 date-time with offset, e.g. 2026-01-15T09:30:00+08:00"),
        entry(.explanation, "explanation", "说明", .text, optional: true),
        entry(.year, "year", "年份", .integer),
        entry(
            .performer, "performer", "执行部门", .enumeration,
            values: [
                ("enterprise_above_scale", "规模以上企业"), ("enterprise_other", "其他企业"), ("research_institute", "科研院所"),
                ("higher_education", "高等学校"), ("medical", "医疗机构"), ("other", "其他"),
            ]),
        entry(
            .expenditure, "expenditure_10k_cny", "R&D经费支出（万元）", .decimal, unit: "万元",
            bounds: amount(upTo: 10_000_000_000)),
        entry(.contractNo, "contract_no", "合同编号", .text, rule: "must be 1 to 64 characters of A-Z a-z 0-9 - _ . /"),
        entry(.registeredOn, "registered_on", "登记日期", .date, rule: "must be a real date YYYY-MM-DD"),
        entry(
            .contractType, "contract_type", "合同类型", .enumeration,
            values: [
                ("development", "技术开发"), ("transfer", "技术转让"), ("consulting", "技术咨询"), ("service", "技术服务"),
            ]),
        entry(
            .domain, "domain", "技术领域", .enumeration,
            values: [
                ("electronic_information", "电子信息"), ("biomedicine", "生物医药"), ("new_materials", "新材料"),
                ("advanced_manufacturing", "先进制造"), ("new_energy", "新能源"), ("agriculture", "农业"),
                ("environment", "生态环境"), ("other", "其他"),
            ]),
        entry(
            .contractValue, "contract_value_10k_cny", "合同金额（万元）", .decimal, unit: "万元",
            bounds: amount(upTo: 10_000_000_000)),
        entry(
            .techTransactionValue, "tech_transaction_value_10k_cny", "技术交易额（万元）", .decimal, unit: "万元",
            bounds: amount(upTo: 10_000_000_000)),
        entry(
            .buyerCountry, "buyer_country", "买方国家（地区）", .text,
            rule: "must be two upper-case letters (ISO 3166-1 alpha-2, CN for domestic buyers)",
            values: [
                ("CN", "中国"), ("LA", "老挝"), ("MM", "缅甸"), ("TH", "泰国"), ("VN", "越南"), ("KH", "柬埔寨"),
                ("MY", "马来西亚"), ("SG", "新加坡"), ("BD", "孟加拉国"), ("LK", "斯里兰卡"), ("NP", "尼泊尔"), ("IN", "印度"),
            ]),
        entry(
            .gdp, "gdp_100m_cny", "地区生产总值（亿元）", .decimal, unit: "亿元", bounds: amount(upTo: 100_000_000, positive: true),
            optional: true),
        entry(
            .residentPopulation, "resident_population_10k", "常住人口（万人）", .decimal, unit: "万人",
            bounds: amount(upTo: 100_000, positive: true), optional: true),
        entry(
            .highTechEnterprises, "high_tech_enterprises", "高新技术企业数（家）", .integer, unit: "家",
            bounds: count(0...1_000_000), optional: true),
        entry(
            .inventionPatentsHeld, "invention_patents_held", "有效发明专利数（件）", .integer, unit: "件",
            bounds: count(0...100_000_000), optional: true),
        entry(
            .industrialOutput, "industrial_output_100m_cny", "规模以上工业总产值（亿元）", .decimal, unit: "亿元",
            bounds: amount(upTo: 100_000_000), optional: true),
        entry(
            .highTechIndustrialOutput, "high_tech_industrial_output_100m_cny", "高新技术产业产值（亿元）", .decimal, unit: "亿元",
            bounds: amount(upTo: 100_000_000), optional: true),
    ]

    /// Indexed by `RecordKind.index`.
    static let records: [RecordSpec] = [
        RecordSpec(
            kind: .rd, schema: "sti.rd/1", topicSuffix: "rd", identity: [.year, .performer],
            fields: [.year, .performer, .expenditure],
            feedColumns: [.county, .year, .performer, .expenditure, .revision], statusColumn: "rd"),
        RecordSpec(
            kind: .techContract, schema: "sti.tech-contract/1", topicSuffix: "tech-contracts", identity: [.contractNo],
            fields: [
                .contractNo, .registeredOn, .contractType, .domain, .contractValue, .techTransactionValue,
                .buyerCountry,
            ],
            feedColumns: [
                .county, .contractNo, .registeredOn, .contractType, .domain, .contractValue,
                .techTransactionValue, .buyerCountry, .revision, .status,
            ], statusColumn: "contracts"),
        RecordSpec(
            kind: .countyProfile, schema: "sti.county-profile/1", topicSuffix: "county-profiles", identity: [.year],
            fields: [
                .year, .gdp, .residentPopulation, .highTechEnterprises, .inventionPatentsHeld, .industrialOutput,
                .highTechIndustrialOutput,
            ],
            feedColumns: [
                .county, .year, .gdp, .residentPopulation, .highTechEnterprises, .inventionPatentsHeld,
                .industrialOutput, .highTechIndustrialOutput, .revision,
            ], statusColumn: "profile"),
    ]

    private static let byName: [String: MessageField] = Dictionary(
        uniqueKeysWithValues: specs.map { ($0.name, $0.field) })

    /// Chinese names (`headerKey`) and their unit-less stems → the fields they may name (more
    /// than one: ambiguous). A full name always names its own field alone.
    private static let byChineseHeader: [String: [MessageField]] = {
        var full: [String: [MessageField]] = [:]
        var stems: [String: [MessageField]] = [:]
        for s in specs where !s.chineseName.isEmpty {
            let key = headerKey(s.chineseName)
            full[key, default: []].append(s.field)
            // The name without its unit: 合同金额 for 合同金额(万元).
            if let open = key.firstIndex(of: "("), open != key.startIndex {
                stems[String(key[..<open]), default: []].append(s.field)
            }
        }
        return full.merging(stems) { name, _ in name }
    }()
}

/// What a column header names (`RecordCatalogue.match(header:)`).
public enum HeaderMatch: Sendable, Hashable {
    case field(MessageField)
    /// No field has this name.
    case unknown
    /// The header could name several fields (lines of one cell naming different fields, or a
    /// unit-less name two fields share).
    case ambiguous([MessageField])
}

extension RecordKind {
    /// Position in `RecordCatalogue.records` (the case order).
    var index: Int {
        switch self {
        case .rd: 0
        case .techContract: 1
        case .countyProfile: 2
        }
    }
}

extension String {
    /// Without leading and trailing Unicode white space.
    func trimmingWhiteSpace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
