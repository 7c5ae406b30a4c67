// Section 9: the municipal 14th Five-Year plan's own figures, and a plain-text progress table
// comparing a year's city indicators with them (for `sti demo` and `sti aggregate`).

/// One figure the plan states: a past actual value (a baseline) or a target.
public struct PlanFigure: Sendable, Hashable {
    /// `actual`: a value the plan reports for a past year (compared as a change);
    /// `target`: a value the plan aims for (compared as the share reached).
    public enum Kind: String, Sendable, Hashable { case actual, target }
    public var indicator: Indicator
    public var year: Int
    /// Decimal text in the indicator's unit, as the plan gives it.
    public var value: String
    public var kind: Kind
    public init(indicator: Indicator, year: Int, value: String, kind: Kind) {
        self.indicator = indicator
        self.year = year
        self.value = value
        self.kind = kind
    }
}

/// The plan's figures (section 9) and the progress table built on them.
public enum PlanTargets {
    /// In the order section 9 lists them. "Technology contract turnover" (技术合同成交额) is
    /// the registered contract value, so it is compared with `tech_contract_value`.
    public static let figures: [PlanFigure] = [
        PlanFigure(indicator: .rdExpenditure, year: 2015, value: "73.73", kind: .actual),
        PlanFigure(indicator: .rdExpenditure, year: 2020, value: "120.86", kind: .actual),
        PlanFigure(indicator: .highTechEnterprises, year: 2020, value: "1166", kind: .actual),
        PlanFigure(indicator: .highTechEnterprises, year: 2025, value: "3000", kind: .target),
        PlanFigure(indicator: .techContractValue, year: 2020, value: "35.66", kind: .actual),
        PlanFigure(indicator: .inventionPatentsPer10k, year: 2020, value: "16.9", kind: .actual),
    ]

    /// Fractional digits both sides are parsed to: enough for 亿元 (8) and ratios (4).
    static let compareDigits = 8
    /// Fractional digits of the percentages in the comparison column.
    static let percentDigits = 2

    /// A plain-text table: one line per plan figure with the geography's value for `year`
    /// (from `rows`, normally the output of `computeIndicators`), its status, the plan figure,
    /// and the change against an actual (`+7.98% vs 2020`) or the share of a target reached
    /// (`66.67% of the 2025 target`). A value that is absent is shown as `-` with its status.
    public static func progressTable(year: Int, rows: [IndicatorRow], geoCode: String = "530100") -> String {
        let own = rows.filter { $0.year == year && $0.geoCode == geoCode }
        let name = own.first.map { "\($0.geoNameEn) (\($0.geoCode))" } ?? geoCode
        var lines: [[String]] = [["indicator", "unit", "\(year)", "status", "plan figure", "comparison"]]
        for f in figures {
            let row = own.first { $0.indicator == f.indicator }
            let value = row?.value ?? ""
            let status = row?.status.rawValue ?? "no data"
            lines.append([
                f.indicator.rawValue, f.indicator.unit, value.isEmpty ? "-" : value, status,
                "\(f.value) (\(f.year) \(f.kind.rawValue))", comparison(value: row?.exact, figure: f),
            ])
        }
        var widths = [Int](repeating: 0, count: lines[0].count)
        for l in lines { for (i, cell) in l.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = "\(name), \(year), against the 14th Five-Year plan (section 9)\n"
        for l in lines {
            let padded = l.enumerated().map { i, cell in
                i == l.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            out += padded.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// The comparison text for one figure; `-` when either side is missing or not a number.
    static func comparison(value: IndicatorValue?, figure: PlanFigure) -> String {
        guard let v = value?.scaled(toFractionDigits: compareDigits),
            let p = NumberFormat.parseScaled(figure.value, fractionDigits: compareDigits), p != 0,
            let scaled = NumberFormat.scaledQuotient(
                figure.kind == .target ? v * 100 : (v - p) * 100, p, fractionDigits: percentDigits)
        else { return "-" }
        let percent = DecimalText.format(scaled, fractionDigits: percentDigits)
        switch figure.kind {
        case .target: return "\(percent)% of the \(figure.year) target"
        case .actual: return "\(scaled >= 0 ? "+" : "")\(percent)% vs \(figure.year)"
        }
    }
}
