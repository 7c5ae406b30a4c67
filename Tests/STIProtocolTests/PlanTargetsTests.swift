import Testing

@testable import STIProtocol

@Suite struct PlanTargetsTests {
    @Test func figuresAreSection9s() {
        let f = PlanTargets.figures.map { "\($0.indicator.rawValue) \($0.year) \($0.value) \($0.kind.rawValue)" }
        #expect(
            f == [
                "rd_expenditure 2015 73.73 actual",
                "rd_expenditure 2020 120.86 actual",
                "high_tech_enterprises 2020 1166 actual",
                "high_tech_enterprises 2025 3000 target",
                "tech_contract_value 2020 35.66 actual",
                "invention_patents_per_10k 2020 16.9 actual",
            ])
    }

    static func row(_ year: Int, _ geo: String, _ indicator: Indicator, _ value: String, _ status: IndicatorStatus)
        -> IndicatorRow
    {
        IndicatorRow(
            year: year, geoCode: geo, geoNameZh: geo == "530100" ? "昆明市" : "五华区",
            geoNameEn: geo == "530100" ? "Kunming" : "Wuhua District", indicator: indicator,
            value: value, status: status, countiesReporting: 14, countiesExpected: 14)
    }

    @Test func progressTable() {
        // Changes by hand: (130.5 − 73.73) ÷ 73.73 = 76.997…% → +77%; (130.5 − 120.86) ÷ 120.86 =
        // 7.976…% → +7.98%; 834 ÷ 1166 = 71.526…% → +71.53%; 2000 ÷ 3000 = 66.666…% → 66.67%;
        // (15.21 − 16.9) ÷ 16.9 = −10%.
        let rows = [
            Self.row(2024, "530100", .rdExpenditure, "130.5", .ok),
            Self.row(2024, "530100", .highTechEnterprises, "2000", .ok),
            Self.row(2024, "530100", .techContractValue, "", .partial),
            Self.row(2024, "530100", .inventionPatentsPer10k, "15.21", .ok),
            Self.row(2024, "530102", .rdExpenditure, "999", .ok),  // another geography: ignored
            Self.row(2023, "530100", .highTechEnterprises, "1", .ok),  // another year: ignored
        ]
        #expect(
            PlanTargets.progressTable(year: 2024, rows: rows)
                == [
                    "Kunming (530100), 2024, against the 14th Five-Year plan (section 9)",
                    "indicator                  unit               2024   status   plan figure           comparison",
                    "rd_expenditure             100m_cny           130.5  ok       73.73 (2015 actual)   +77% vs 2015",
                    "rd_expenditure             100m_cny           130.5  ok       120.86 (2020 actual)  +7.98% vs 2020",
                    "high_tech_enterprises      count              2000   ok       1166 (2020 actual)    +71.53% vs 2020",
                    "high_tech_enterprises      count              2000   ok       3000 (2025 target)    66.67% of the 2025 target",
                    "tech_contract_value        100m_cny           -      partial  35.66 (2020 actual)   -",
                    "invention_patents_per_10k  per_10k_residents  15.21  ok       16.9 (2020 actual)    -10% vs 2020",
                ].map { $0 + "\n" }.joined())
    }

    @Test func yearWithoutRowsSaysNoData() {
        let table = PlanTargets.progressTable(year: 2030, rows: [])
        let lines = table.split(separator: "\n")
        #expect(lines.first == "530100, 2030, against the 14th Five-Year plan (section 9)")
        #expect(lines.count == 2 + PlanTargets.figures.count)
        #expect(lines.dropFirst(2).allSatisfy { $0.contains("no data") && $0.hasSuffix("  -") })
    }

    @Test func fromComputedIndicators() {
        var store = IndicatorFixtures.MiniStore()
        store.apply(IndicatorFixtures.rd("530102", 2025, .enterpriseAboveScale, "1208600"))  // 120.86 亿元
        let table = PlanTargets.progressTable(
            year: 2025, rows: computeIndicators(book: store.book, registry: IndicatorFixtures.smallRegistry))
        #expect(
            table.contains(
                "rd_expenditure             100m_cny           120.86  partial  120.86 (2020 actual)  +0% vs 2020"))
    }
}
