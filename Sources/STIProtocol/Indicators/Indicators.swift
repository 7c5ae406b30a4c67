// The indicators of section 7 and the completeness table of section 8, computed from an
// `AggregateBook`. Derived geographies (KM-CORE, KM-DEMO, 530100) are summed here from their
// constituent counties' totals; zones get their own rows and are never part of a sum.

/// The ten indicators of section 7, in table order (the order of rows in `indicators.csv`).
public enum Indicator: CaseIterable, Sendable, Hashable, Codable, RawRepresentable {
    case rdExpenditure
    case enterpriseRDShare
    case rdIntensity
    case techContracts
    case techContractValue
    case techTransactionValue
    case techContractValueSSEAsia
    case highTechEnterprises
    case inventionPatentsPer10k
    case highTechOutputShare

    /// The `indicator` column. `high_tech_enterprises` is the county-profile field it sums, so
    /// its id is that field's name in the record catalogue (spelt once, there).
    public var rawValue: String {
        switch self {
        case .rdExpenditure: "rd_expenditure"
        case .enterpriseRDShare: "enterprise_rd_share"
        case .rdIntensity: "rd_intensity"
        case .techContracts: "tech_contracts"
        case .techContractValue: "tech_contract_value"
        case .techTransactionValue: "tech_transaction_value"
        case .techContractValueSSEAsia: "tech_contract_value_s_se_asia"
        case .highTechEnterprises: MessageField.highTechEnterprises.name
        case .inventionPatentsPer10k: "invention_patents_per_10k"
        case .highTechOutputShare: "high_tech_output_share"
        }
    }

    public init?(rawValue: String) {
        guard let indicator = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = indicator
    }

    /// The `unit` column.
    public var unit: String {
        switch self {
        case .rdExpenditure, .techContractValue, .techTransactionValue, .techContractValueSSEAsia: "100m_cny"
        case .enterpriseRDShare, .rdIntensity, .highTechOutputShare: "percent"
        case .techContracts, .highTechEnterprises: "count"
        case .inventionPatentsPer10k: "per_10k_residents"
        }
    }

    /// Whether the indicator is a ratio (formed from summed numerator and denominator, only
    /// when every constituent reports both) rather than an additive sum.
    public var isRatio: Bool {
        switch self {
        case .enterpriseRDShare, .rdIntensity, .inventionPatentsPer10k, .highTechOutputShare: true
        default: false
        }
    }
}

/// The `status` column of `indicators.csv` (section 7).
public enum IndicatorStatus: String, Sendable, Hashable, Codable {
    /// Every constituent reports every input.
    case ok
    /// Some but not all constituents report (derived geographies only).
    case partial
    /// No constituent reports.
    case missing
    /// A ratio whose denominator is zero.
    case undefined
}

/// One row of `indicators.csv`: one indicator of one geography for one year.
public struct IndicatorRow: Sendable, Hashable {
    public var year: Int
    public var geoCode: String
    public var geoNameZh: String
    public var geoNameEn: String
    public var indicator: Indicator
    /// The value, exact; nil when there is none (status missing, partial or undefined).
    public var exact: IndicatorValue?
    /// The value in section 7's number format, made when written; empty when there is none.
    public var value: String { exact?.text ?? "" }
    public var status: IndicatorStatus
    public var countiesReporting: Int
    public var countiesExpected: Int

    public var unit: String { indicator.unit }

    public init(
        year: Int, geoCode: String, geoNameZh: String, geoNameEn: String, indicator: Indicator,
        exact: IndicatorValue?, status: IndicatorStatus, countiesReporting: Int, countiesExpected: Int
    ) {
        self.year = year
        self.geoCode = geoCode
        self.geoNameZh = geoNameZh
        self.geoNameEn = geoNameEn
        self.indicator = indicator
        self.exact = exact
        self.status = status
        self.countiesReporting = countiesReporting
        self.countiesExpected = countiesExpected
    }

    /// A row from value text in section 7's format (for tests and tools that write rows by
    /// hand); text that is no such number gives no value.
    public init(
        year: Int, geoCode: String, geoNameZh: String, geoNameEn: String, indicator: Indicator,
        value: String, status: IndicatorStatus, countiesReporting: Int, countiesExpected: Int
    ) {
        self.init(
            year: year, geoCode: geoCode, geoNameZh: geoNameZh, geoNameEn: geoNameEn, indicator: indicator,
            exact: IndicatorValue(text: value), status: status, countiesReporting: countiesReporting,
            countiesExpected: countiesExpected)
    }
}

/// An indicator value, exact: `scaled ÷ 10^fractionDigits` (money in 亿元 has 8 digits, a
/// ratio 4, a count 0). Formatted only by `text`, when written.
public struct IndicatorValue: Sendable, Hashable {
    public private(set) var scaled: Int128
    public private(set) var fractionDigits: Int

    /// Kept in lowest terms (trailing fractional zeros dropped), so equal values are equal.
    public init(scaled: Int128, fractionDigits: Int) {
        var v = scaled
        var d = fractionDigits
        while d > 0, v % 10 == 0 {
            v /= 10
            d -= 1
        }
        self.scaled = v
        self.fractionDigits = d
    }

    /// Parses section 7 decimal text (`120.86`, `3000`, `-0.5`).
    public init?(text: String) {
        let digits = text.split(separator: ".", maxSplits: 1).dropFirst().first?.count ?? 0
        guard let v = NumberFormat.parseScaled(text, fractionDigits: digits) else { return nil }
        self.init(scaled: v, fractionDigits: digits)
    }

    /// Section 7's number format: no exponent, trailing zeros dropped.
    public var text: String { DecimalText.format(scaled, fractionDigits: fractionDigits) }

    /// The value × 10^digits, exactly; nil when it has more significant fractional digits.
    public func scaled(toFractionDigits digits: Int) -> Int128? {
        var v = scaled
        var d = fractionDigits
        while d > digits {
            guard v % 10 == 0 else { return nil }
            v /= 10
            d -= 1
        }
        while d < digits {
            v *= 10
            d += 1
        }
        return v
    }
}

/// The `status` column of `completeness.csv`.
public enum CompletenessStatus: String, Sendable, Hashable, Codable {
    case received
    case missing
}

/// One row of `completeness.csv`: how many current active records of one kind a registry
/// geography has for a year.
public struct CompletenessRow: Sendable, Hashable {
    public var year: Int
    public var geoCode: String
    public var geoNameZh: String
    public var kind: RecordKind
    public var records: Int
    public var status: CompletenessStatus { records >= 1 ? .received : .missing }

    public init(year: Int, geoCode: String, geoNameZh: String, kind: RecordKind, records: Int) {
        self.year = year
        self.geoCode = geoCode
        self.geoNameZh = geoNameZh
        self.kind = kind
        self.records = records
    }
}

/// What one geography reports for one indicator: an additive amount, or a ratio's parts.
/// nil (at the call sites) means the geography does not report every input.
enum IndicatorInput {
    case additive(Int128)
    case ratio(numerator: Int128, denominator: Int128)
}

extension Indicator {
    /// The multiplier of a ratio: `× 100` for percentages; for patents per 10,000 residents
    /// the denominator is held in persons (population 万人 × 10,000), so `× 10,000`.
    var ratioMultiplier: Int128 {
        switch self {
        case .inventionPatentsPer10k: 10_000
        default: 100
        }
    }

    /// The inputs one county or zone reports for this indicator, nil unless it reports all
    /// of them (section 7 "reports").
    func input(_ t: CountyYearTotals?) -> IndicatorInput? {
        guard let t else { return nil }
        let hasRD = t.activeRD >= 1
        let hasContracts = t.activeContracts >= 1
        let p = t.profile
        switch self {
        case .rdExpenditure:
            return hasRD ? .additive(t.rdExpenditureYuan) : nil
        case .enterpriseRDShare:
            return hasRD ? .ratio(numerator: t.enterpriseAboveScaleYuan, denominator: t.rdExpenditureYuan) : nil
        case .rdIntensity:
            // GDP is in 亿元, scaled by 10^4, so one scaled unit is 10,000 yuan.
            guard hasRD, let gdp = p?.gdp else { return nil }
            return .ratio(numerator: t.rdExpenditureYuan, denominator: Int128(gdp.scaled) * 10_000)
        case .techContracts:
            return hasContracts ? .additive(Int128(t.activeContracts)) : nil
        case .techContractValue:
            return hasContracts ? .additive(t.contractValueYuan) : nil
        case .techTransactionValue:
            return hasContracts ? .additive(t.techTransactionValueYuan) : nil
        case .techContractValueSSEAsia:
            return hasContracts ? .additive(t.contractValueSSEAsiaYuan) : nil
        case .highTechEnterprises:
            guard let n = p?.highTechEnterprises else { return nil }
            return .additive(Int128(n))
        case .inventionPatentsPer10k:
            // Population 万人 scaled by 10^4 is a count of persons.
            guard let patents = p?.inventionPatentsHeld, let population = p?.residentPopulation else { return nil }
            return .ratio(numerator: Int128(patents), denominator: Int128(population.scaled))
        case .highTechOutputShare:
            guard let ht = p?.highTechIndustrialOutput, let output = p?.industrialOutput else { return nil }
            return .ratio(numerator: Int128(ht.scaled), denominator: Int128(output.scaled))
        }
    }

    /// Formats an additive amount in this indicator's unit.
    /// A sum as a value: a count as it is, money (integer yuan) in 亿元 with 8 digits.
    func additiveValue(_ v: Int128) -> IndicatorValue {
        unit == "count" ? IndicatorValue(scaled: v, fractionDigits: 0) : IndicatorValue(scaled: v, fractionDigits: 8)
    }
}

/// A row's value, status and reporting count for a geography with `constituents` (one for a
/// county or zone row: its own totals).
private func evaluate(_ indicator: Indicator, constituents: [CountyYearTotals?], derived: Bool)
    -> (value: IndicatorValue?, status: IndicatorStatus, reporting: Int)
{
    let inputs = constituents.compactMap { indicator.input($0) }
    let reporting = inputs.count
    let expected = constituents.count
    // Zero constituents (possible only with a custom registry) is reported as missing: there
    // is nothing a value could be formed from.
    guard reporting > 0 else { return (nil, .missing, 0) }
    if indicator.isRatio {
        guard reporting == expected else { return (nil, .partial, reporting) }
        var numerator: Int128 = 0
        var denominator: Int128 = 0
        for case .ratio(let n, let d) in inputs {
            numerator += n
            denominator += d
        }
        guard
            let scaled = NumberFormat.scaledQuotient(
                numerator * indicator.ratioMultiplier, denominator,
                fractionDigits: NumberFormat.ratioDigits)
        else {
            return (nil, .undefined, reporting)
        }
        return (IndicatorValue(scaled: scaled, fractionDigits: NumberFormat.ratioDigits), .ok, reporting)
    }
    var sum: Int128 = 0
    for case .additive(let v) in inputs { sum += v }
    let status: IndicatorStatus = reporting == expected ? .ok : (derived ? .partial : .missing)
    return (indicator.additiveValue(sum), status, reporting)
}

/// Every row of `indicators.csv`, in the order of section 8: each year with any current
/// record (ascending) × each geography (registry order, then KM-CORE, KM-DEMO, 530100) × each
/// indicator (table order).
public func computeIndicators(book: AggregateBook, registry: Registry) -> [IndicatorRow] {
    var rows: [IndicatorRow] = []
    let derived = registry.derived
    for year in book.years {
        for g in registry.geographies {
            let t = book[year: year, geo: g.code]
            for indicator in Indicator.allCases {
                let e = evaluate(indicator, constituents: [t], derived: false)
                rows.append(
                    IndicatorRow(
                        year: year, geoCode: g.code, geoNameZh: g.nameZh, geoNameEn: g.nameEn,
                        indicator: indicator, exact: e.value, status: e.status,
                        countiesReporting: e.reporting, countiesExpected: 1))
            }
        }
        for d in derived {
            let totals = d.constituents.map { book[year: year, geo: $0] }
            for indicator in Indicator.allCases {
                let e = evaluate(indicator, constituents: totals, derived: true)
                rows.append(
                    IndicatorRow(
                        year: year, geoCode: d.code, geoNameZh: d.nameZh, geoNameEn: d.nameEn,
                        indicator: indicator, exact: e.value, status: e.status,
                        countiesReporting: e.reporting, countiesExpected: totals.count))
            }
        }
    }
    return rows
}

/// Every row of `completeness.csv`: each year of `indicators.csv` × each registry geography
/// (registry order) × kind (`rd`, `tech-contract`, `county-profile`).
public func computeCompleteness(book: AggregateBook, registry: Registry) -> [CompletenessRow] {
    var rows: [CompletenessRow] = []
    for year in book.years {
        for g in registry.geographies {
            let t = book[year: year, geo: g.code]
            for kind in RecordKind.allCases {
                rows.append(
                    CompletenessRow(
                        year: year, geoCode: g.code, geoNameZh: g.nameZh, kind: kind,
                        records: t?.activeRecords(of: kind) ?? 0))
            }
        }
    }
    return rows
}
