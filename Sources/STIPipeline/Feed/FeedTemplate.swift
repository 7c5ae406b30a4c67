public import Foundation
public import STIProtocol

/// `sti template`: a workbook a county clerk fills in and submits as it is. Sheet 1 holds the
/// feed: a header row with each column's Chinese and protocol name (two lines of one cell,
/// which the feed reader takes as the field), the county and year filled in (for R&D one row
/// per performer), drop-down lists for every enumerated field, 4-decimal number formats for
/// amounts, text format for codes, and an `explanation` column. Sheet 2 explains each column
/// and the plausibility rules of section 5a.
public enum FeedTemplate {
    public struct Column: Sendable {
        public var field: MessageField
        public var style: XLSXCell.Style
        public var meaning: String
    }

    public static let dataSheet = "填报 data"
    public static let notesSheet = "说明 notes"
    /// Rows carrying formats and drop-downs (for contracts, which have no prefilled rows).
    public static let formattedRows = 2_000

    public static func columns(_ kind: RecordKind) -> [Column] {
        let common = [
            Column(
                field: .revision, style: .integer,
                meaning: "修订号: 1 for a first return; the next number for a correction, which replaces the whole record"),
            Column(
                field: .explanation, style: .note,
                meaning:
                    "说明: why a figure a plausibility rule questions is right (1 to 2,000 characters); leave empty otherwise"
            ),
        ]
        let amount = "up to 4 decimals of 万元 (1 yuan); type the figure, no thousands separators"
        switch kind {
        case .rd:
            return [
                Column(field: .county, style: .text, meaning: "县区代码: the registry code, filled in"),
                Column(field: .year, style: .integer, meaning: "年份: the statistical year, filled in"),
                Column(
                    field: .performer, style: .text,
                    meaning: "执行部门: pick from the list (one row per performer is filled in)"),
                Column(field: .expenditure, style: .decimal4, meaning: "R&D经费支出 in 万元, " + amount),
            ] + common
        case .techContract:
            return [
                Column(
                    field: .county, style: .text,
                    meaning: "县区代码: the registry code of the registering county (pick it from the list)"),
                Column(
                    field: .contractNo, style: .text, meaning: "合同编号: the registration number, e.g. 530102-2025-00001"),
                Column(
                    field: .registeredOn, style: .date,
                    meaning: "登记日期: the registration date, YYYY-MM-DD; its year is the record's year"),
                Column(field: .contractType, style: .text, meaning: "合同类型: pick from the list"),
                Column(field: .domain, style: .text, meaning: "技术领域: pick from the list"),
                Column(field: .contractValue, style: .decimal4, meaning: "合同金额 in 万元, " + amount),
                Column(
                    field: .techTransactionValue, style: .decimal4,
                    meaning: "技术交易额 in 万元, at most the contract value; " + amount),
                Column(
                    field: .buyerCountry, style: .text,
                    meaning: "买方国家（地区）: ISO 3166-1 alpha-2 (CN, LA, TH …) or a name from the list"),
            ] + common.prefix(1) + [
                Column(
                    field: .status, style: .text,
                    meaning: "状态: 有效 active, or 撤回 withdrawn to cancel a registered contract (with the next revision)")
            ] + common.suffix(1)
        case .countyProfile:
            return [
                Column(field: .county, style: .text, meaning: "县区代码: the registry code, filled in"),
                Column(field: .year, style: .integer, meaning: "年份: the statistical year, filled in"),
                Column(field: .gdp, style: .decimal4, meaning: "地区生产总值 GDP in 亿元, up to 4 decimals"),
                Column(
                    field: .residentPopulation, style: .decimal4,
                    meaning: "常住人口 resident population at year end, 万人, up to 4 decimals"),
                Column(
                    field: .highTechEnterprises, style: .integer,
                    meaning: "高新技术企业数 certified high-tech enterprises (a whole number)"),
                Column(
                    field: .inventionPatentsHeld, style: .integer,
                    meaning: "有效发明专利数 invention patents in force (a whole number)"),
                Column(field: .industrialOutput, style: .decimal4, meaning: "规模以上工业总产值 in 亿元, up to 4 decimals"),
                Column(
                    field: .highTechIndustrialOutput, style: .decimal4,
                    meaning: "高新技术产业产值 in 亿元, at most the industrial output"),
            ] + common
        }
    }

    /// The header cell of a field: its Chinese name over its protocol name.
    public static func header(_ field: MessageField) -> String {
        (ChineseNames.chineseName(fieldName: field.name).map { $0 + "\n" } ?? "") + field.name
    }

    public struct TemplateError: Error, CustomStringConvertible { public var description: String }

    public static func sheets(kind: RecordKind, county: String, year: Int, registry: Registry = .kunming)
        throws(TemplateError) -> [XLSXSheetSpec]
    {
        guard registry[county] != nil else {
            throw TemplateError(description: "--county \(county) is not in the registry (codes such as 530102, KM-HTZ)")
        }
        guard (2000...2100).contains(year) else {
            throw TemplateError(description: "--year \(year) must be a year such as 2025")
        }
        let columns = columns(kind)
        var rows: [[XLSXCell]] = [columns.map { .text(header($0.field), .header) }]
        func row(_ given: [MessageField: XLSXCell.Value]) -> [XLSXCell] {
            columns.map { XLSXCell(given[$0.field] ?? .empty, style: $0.style) }
        }
        switch kind {
        case .rd:
            for (label, _) in ChineseNames.labels(fieldName: MessageField.performer.name) {
                rows.append(
                    row([
                        .county: .text(county), .year: .number(String(year)), .performer: .text(label),
                        .revision: .number("1"),
                    ]))
            }
        case .countyProfile:
            rows.append(row([.county: .text(county), .year: .number(String(year)), .revision: .number("1")]))
        case .techContract:
            break  // a clerk adds one row per contract; the columns carry the formats and lists
        }
        let last = formattedRows + 1
        var validations: [XLSXSheetSpec.ListValidation] = []
        for (index, column) in columns.enumerated() {
            let letter = SheetPlace.columnLetters(index)
            let range = "\(letter)2:\(letter)\(last)"
            let labels = ChineseNames.labels(fieldName: column.field.name).map(\.label)
            switch column.field {
            case .county:
                validations.append(
                    .init(range: range, values: [county], prompt: "\(county) \(registry[county]?.nameZh ?? "")"))
            case .buyerCountry:
                validations.append(
                    .init(
                        range: range,
                        values: ChineseNames.labels(fieldName: MessageField.buyerCountry.name).map(\.code),
                        strict: false,
                        prompt: "ISO 3166-1 alpha-2, e.g. CN 中国"))
            case _ where !labels.isEmpty:
                validations.append(.init(range: range, values: labels))
            default: break
            }
        }
        let widths = columns.map { $0.field == .explanation ? 40.0 : max(14, Double($0.field.name.count) * 0.9) }
        let data = XLSXSheetSpec(
            name: dataSheet, rows: rows, widths: widths, columnStyles: columns.map(\.style),
            validations: validations, frozenRows: 1)
        return [data, notes(kind: kind, columns: columns, county: county, year: year, registry: registry)]
    }

    static func notes(kind: RecordKind, columns: [Column], county: String, year: Int, registry: Registry)
        -> XLSXSheetSpec
    {
        var rows: [[XLSXCell]] = [
            [.text("\(kind.schema) — \(county) \(registry[county]?.nameZh ?? "") — \(year)", .header)],
            [
                .text(
                    "Fill in sheet \(dataSheet), save as .xlsx, then: sti submit --kind \(kind.rawValue) FILE.xlsx (check first with sti validate). "
                        + "Headers may stay as they are; labels (规模以上企业 …) and codes (enterprise_above_scale …) are both accepted. "
                        + "Delete a prefilled row the county has nothing to report for; type values, not formulas.",
                    .note)
            ],
            [],
            ["列 column", "field", "说明 meaning", "可选值 values"].map { .text($0, .header) },
        ]
        for column in columns {
            let values = ChineseNames.labels(fieldName: column.field.name).map { "\($0.label) = \($0.code)" }.joined(
                separator: "; ")
            rows.append([
                .text(ChineseNames.chineseName(fieldName: column.field.name) ?? column.field.name),
                .text(column.field.name),
                .text(column.meaning, .note), .text(values, .note),
            ])
        }
        rows.append([])
        rows.append([
            .text(
                "合理性检查 plausibility rules (section 5a): a row that trips one is held by the aggregator until it carries an explanation",
                .header)
        ])
        switch kind {
        case .rd:
            rows.append([
                .text("W_YOY_CHANGE"), .text(MessageField.expenditure.name),
                .text(
                    "more than twice, or less than half, of the previous year's figure of the same performer, or zero one year and not the other",
                    .note),
            ])
        case .countyProfile:
            for bound in Plausibility.profileBounds {
                rows.append([
                    .text("W_YOY_CHANGE"), .text(bound.field),
                    .text("changes by more than \(bound.percent) % from the previous year", .note),
                ])
            }
        case .techContract:
            rows.append([
                .text("W_LARGE_CONTRACT"), .text(MessageField.contractValue.name),
                .text("\(Plausibility.largeContractThreshold) 万元 (1 亿元) or more", .note),
            ])
            rows.append([
                .text("W_LOW_TRANSACTION_SHARE"), .text(MessageField.techTransactionValue.name),
                .text(
                    "below \(Plausibility.lowSharePercent) % of a contract value of \(Plausibility.lowShareMinimumContract) 万元 or more",
                    .note),
            ])
        }
        rows.append([.text("If the figure is right, write why in the explanation column (说明), e.g. 新建研发中心投产.", .note)])
        return XLSXSheetSpec(name: notesSheet, rows: rows, widths: [22, 30, 70, 50])
    }

    public static func write(kind: RecordKind, county: String, year: Int, to url: URL, registry: Registry = .kunming)
        throws(TemplateError)
    {
        let sheets = try sheets(kind: kind, county: county, year: year, registry: registry)
        do throws(XLSXWriter.WriteError) { try XLSXWriter.write(sheets: sheets, to: url) } catch {
            throw TemplateError(description: error.description)
        }
    }
}
