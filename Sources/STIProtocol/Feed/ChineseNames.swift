// The Chinese names of the protocol's fields and the Chinese labels of its enumerated values,
// as county bureaus write them in their spreadsheets (issue 15). They are read in feeds only:
// a feed's header or cell written in Chinese is mapped to the protocol's field name or code
// before validation and before signing, so what crosses the wire is exactly what an English
// file gives (section 3 of docs/protocol.md does not change).
//
// This file is the one table of these names. The record catalogue (issue 12) is to hold them;
// when it does, `protocolField(forHeader:)` and `protocolCode(forLabel:field:)` read from it and
// the table below goes.

/// Chinese field names and value labels, and their protocol equivalents.
public enum ChineseNames {
    /// Each field's Chinese column header (the unit in brackets where it has one).
    static let fieldNames: [(MessageField, String)] = [
        (.county, "县区代码"),
        (.year, "年份"),
        (.performer, "执行部门"),
        (.expenditure, "R&D经费支出（万元）"),
        (.contractNo, "合同编号"),
        (.registeredOn, "登记日期"),
        (.contractType, "合同类型"),
        (.domain, "技术领域"),
        (.contractValue, "合同金额（万元）"),
        (.techTransactionValue, "技术交易额（万元）"),
        (.buyerCountry, "买方国家（地区）"),
        (.gdp, "地区生产总值（亿元）"),
        (.residentPopulation, "常住人口（万人）"),
        (.highTechEnterprises, "高新技术企业数（家）"),
        (.inventionPatentsHeld, "有效发明专利数（件）"),
        (.industrialOutput, "规模以上工业总产值（亿元）"),
        (.highTechIndustrialOutput, "高新技术产业产值（亿元）"),
        (.revision, "修订号"),
        (.status, "状态"),
        (.submittedAt, "提交时间"),
        (.explanation, "说明"),
    ]

    /// Each enumerated field's labels: Chinese label → protocol code.
    static let labels: [MessageField: [(String, String)]] = [
        .performer: [
            ("规模以上企业", "enterprise_above_scale"), ("其他企业", "enterprise_other"),
            ("科研院所", "research_institute"), ("高等学校", "higher_education"),
            ("医疗机构", "medical"), ("其他", "other"),
        ],
        .contractType: [
            ("技术开发", "development"), ("技术转让", "transfer"), ("技术咨询", "consulting"), ("技术服务", "service"),
        ],
        .domain: [
            ("电子信息", "electronic_information"), ("生物医药", "biomedicine"), ("新材料", "new_materials"),
            ("先进制造", "advanced_manufacturing"), ("新能源", "new_energy"), ("农业", "agriculture"),
            ("生态环境", "environment"), ("其他", "other"),
        ],
        .status: [("有效", "active"), ("撤回", "withdrawn")],
        .buyerCountry: [
            ("中国", "CN"), ("老挝", "LA"), ("缅甸", "MM"), ("泰国", "TH"), ("越南", "VN"), ("柬埔寨", "KH"),
            ("马来西亚", "MY"), ("新加坡", "SG"), ("孟加拉国", "BD"), ("斯里兰卡", "LK"), ("尼泊尔", "NP"), ("印度", "IN"),
        ],
    ]

    private static let fieldByName: [String: MessageField] = {
        var table: [String: MessageField] = [:]
        for (field, name) in fieldNames {
            let key = normalized(name)
            table[key] = field
            // The name without its unit too: 合同金额 for 合同金额（万元）.
            if let open = key.firstIndex(of: "(") { table[String(key[..<open])] = field }
        }
        return table
    }()

    private static let englishByName: [String: MessageField] =
        Dictionary(uniqueKeysWithValues: MessageField.allCases.map { ($0.name, $0) })

    private static let codeByLabel: [MessageField: [String: String]] =
        labels.mapValues { Dictionary(uniqueKeysWithValues: $0.map { (normalized($0.0), $0.1) }) }

    /// A header with white space (ASCII, ideographic) dropped and full-width brackets made
    /// half-width: `合同金额 （万元） ` → `合同金额(万元)`.
    static func normalized(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "（": out.append("(")
            case "）": out.append(")")
            case " ", "\t", "\n", "\r", "\u{3000}", "\u{A0}": continue
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// The field a column header names: a protocol field name (`performer`), its Chinese name
    /// (`执行部门`, `R&D经费支出(万元)`, brackets full- or half-width, spaces around or inside
    /// ignored), or both on separate lines of one header cell (`执行部门` / `performer`, as
    /// `sti template` writes them). Nil for anything else.
    static func protocolField(forHeader header: String) -> MessageField? {
        func one(_ text: String) -> MessageField? {
            let trimmed = text.trimmingWhiteSpace
            return englishByName[trimmed] ?? fieldByName[normalized(trimmed)]
        }
        if let field = one(header) { return field }
        let lines = header.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
        guard lines.count > 1 else { return nil }
        let fields = lines.compactMap { one(String($0)) }
        guard fields.count == lines.count, let first = fields.first, fields.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    /// The protocol code a Chinese label stands for in `field` (`技术服务` → `service` for
    /// `contract_type`; `其他` is `other` for both `performer` and `domain`), spaces around it
    /// ignored. Nil when the field has no labels or the text is not one of them (a code written
    /// in English is left as it is).
    static func protocolCode(forLabel label: String, field: MessageField) -> String? {
        guard let table = codeByLabel[field] else { return nil }
        return table[normalized(label)]
    }

    // MARK: For the feed readers and `sti template` (STIPipeline), by field name.

    /// The protocol field name a column header names (see `protocolField(forHeader:)`).
    public static func protocolFieldName(forHeader header: String) -> String? { protocolField(forHeader: header)?.name }

    /// Whether the field (by protocol name) has Chinese labels for its values.
    public static func hasLabels(fieldName: String) -> Bool {
        MessageField.allCases.first { $0.name == fieldName }.map { labels[$0] != nil } ?? false
    }

    /// The protocol code for a label of the field named `fieldName` (see `protocolCode(forLabel:field:)`).
    public static func protocolCode(forLabel label: String, fieldName: String) -> String? {
        guard let field = MessageField.allCases.first(where: { $0.name == fieldName }) else { return nil }
        return protocolCode(forLabel: label, field: field)
    }

    /// The Chinese header of a field (by protocol name), as in the table above.
    public static func chineseName(fieldName: String) -> String? {
        fieldNames.first { $0.0.name == fieldName }?.1
    }

    /// The labels of a field (by protocol name): (Chinese label, protocol code), in table order.
    public static func labels(fieldName: String) -> [(label: String, code: String)] {
        guard let field = MessageField.allCases.first(where: { $0.name == fieldName }) else { return [] }
        return (labels[field] ?? []).map { (label: $0.0, code: $0.1) }
    }
}

extension String {
    /// Without white space (ASCII, no-break, ideographic) at either end.
    var trimmingWhiteSpace: String {
        let space: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{3000}" || $0 == "\u{A0}" }
        guard let start = firstIndex(where: { !space($0) }), let end = lastIndex(where: { !space($0) }) else { return "" }
        return String(self[start...end])
    }
}
