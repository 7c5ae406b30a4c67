import Foundation
import Testing

@testable import STIProtocol

/// The worked example (IndicatorFixtures.workedExampleByCounty), computed by hand:
///
/// 2023: every county has one active `other` R&D record of 0 万元 (530102 also a withdrawn
/// `enterprise_above_scale`), so rd_expenditure is 0 (ok) and enterprise_rd_share is 0 ÷ 0
/// (undefined) everywhere, all else missing; the zone has no 2023 record.
///
/// 2024, yuan:
/// - 530102: R&D 600,000,000 + 150,005,000 = 750,005,000 → 7.50005 亿元; enterprise share
///   600,000,000 ÷ 750,005,000 × 100 = 79.99946… → 79.9995; intensity 750,005,000 ÷
///   (1200.5 × 10^8) × 100 = 0.62474… → 0.6247; contracts 2 (HT-2024-001 to VN 10,000,000,
///   HT-2024-002 to CN 5,002,500): 0.150025, transactions 0.08, S/SE Asia 0.1; 500
///   enterprises; patents 3000 ÷ 120.3 = 24.93765… → 24.9377; high-tech output 200 ÷ 800 → 25.
/// - 530103: R&D 0 (ok), share 0 ÷ 0 undefined, intensity 0 ÷ 500 亿 = 0; its only contract
///   is withdrawn (missing); revision 2 of the profile dropped enterprises and patents
///   (missing); output 0 ÷ 0 undefined.
/// - 530113: R&D 12,345,678 → 0.12345678; share 0; intensity 12,345,678 ÷ 3 × 10^10 × 100 =
///   0.041152… → 0.0412; 20 enterprises; patents 100 ÷ 30 → 3.3333; output 0 ÷ 0 undefined.
/// - 530181: no R&D; 0 enterprises; patents 91 ÷ 45.5 = 2; output 0 ÷ 0 undefined.
/// - KM-HTZ (zone, in no total): R&D 50,000,000 → 0.5, share 100, intensity 0.5 ÷ 100 亿 →
///   0.5; one contract to TH of 20,000,000 (transaction 15,000,000).
/// - KM-CORE: intensity 750,005,000 ÷ 1700.5 × 10^8 × 100 = 0.44104… → 0.441; contracts and
///   enterprises from 530102 only (partial); patents partial (530103 lacks them);
///   output (200 + 0) ÷ (800 + 0) → 25.
/// - KM-DEMO: R&D partial 0.12345678; patents (100 + 91) ÷ (30 + 45.5) = 2.52980… → 2.5298;
///   output 0 ÷ 0 undefined; no contracts (missing).
/// - 530100: R&D 7.50005 + 0 + 0.12345678 = 7.62350678 (3 of 4); 2 contracts (the zone's
///   is not added); 520 enterprises (3 of 4); output 25 (4 of 4).
@Suite struct IndicatorsTests {
    typealias F = IndicatorFixtures

    // The expected tables live beside the worked example (IndicatorsTestFixtures.swift), which the
    // snapshot writer's tests in STIPipelineTests share.
    static let expectedIndicators = F.expectedIndicators

    static let expectedCompleteness = F.expectedCompleteness

    @Test func workedExampleIndicatorsMatchHandComputedCSV() {
        let store = F.workedExampleStore()
        let text = CSVWriter.indicators(computeIndicators(book: store.book, registry: F.smallRegistry))
        let got = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let want = Self.expectedIndicators.split(separator: "\r\n", omittingEmptySubsequences: false)
        #expect(got.count == want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("line \(i + 1): got \(g), want \(w)")
        }
        #expect(text == Self.expectedIndicators)
    }

    @Test func workedExampleCompletenessMatchesHandComputedCSV() {
        let store = F.workedExampleStore()
        #expect(
            CSVWriter.completeness(computeCompleteness(book: store.book, registry: F.smallRegistry))
                == Self.expectedCompleteness)
    }

    @Test func workedExampleDecisions() {
        var store = IndicatorFixtures.MiniStore()
        var outcomes: [RevisionOutcome] = []
        for r in F.workedExampleByCounty["530102"]! { outcomes.append(store.apply(r)) }
        #expect(
            outcomes == [
                .applied, .applied, .applied, .applied, .applied, .applied, .applied, .applied, .applied,
                .duplicate, .stale(currentRevision: 2), .conflict(currentRevision: 1),
            ])
    }

    @Test func everyStatusOccursAtEveryLevel() {
        // Guards the worked example itself: it must keep covering the statuses the brief names.
        let rows = computeIndicators(book: F.workedExampleStore().book, registry: F.smallRegistry)
        func statuses(_ geo: String) -> Set<IndicatorStatus> { Set(rows.filter { $0.geoCode == geo }.map(\.status)) }
        for geo in ["530102", "530103", "KM-HTZ"] { #expect(statuses(geo) == [.ok, .missing, .undefined]) }
        for geo in ["KM-CORE", "KM-DEMO", "530100"] { #expect(statuses(geo) == [.ok, .partial, .missing, .undefined]) }
    }

    @Test func yearWithOnlyWithdrawnRecordsStillHasRows() {
        // One core county and one zone: KM-DEMO has no constituent at all (counties_expected 0,
        // reported as missing).
        let registry = try! Registry(geographies: [
            F.geo("530102", "五华区", "Wuhua District", .county, .core, true),
            F.geo("KM-HTZ", "昆明高新技术产业开发区", "Kunming High-tech Industrial Development Zone", .zone, .core, false),
        ])
        var store = IndicatorFixtures.MiniStore()
        store.apply(
            F.contract("KM-HTZ", "W-1", 2022, 1, 2, value: "5", transaction: "5", buyer: "CN", status: .withdrawn))
        let rows = computeIndicators(book: store.book, registry: registry)
        let text = CSVWriter.indicators(
            rows.filter { $0.indicator == .rdExpenditure || $0.indicator == .highTechOutputShare })
        #expect(
            text
                == F.csv([
                    "year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected",
                    "2022,530102,五华区,Wuhua District,rd_expenditure,,100m_cny,missing,0,1",
                    "2022,530102,五华区,Wuhua District,high_tech_output_share,,percent,missing,0,1",
                    "2022,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_expenditure,,100m_cny,missing,0,1",
                    "2022,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_output_share,,percent,missing,0,1",
                    "2022,KM-CORE,科技创新核心区,Core area,rd_expenditure,,100m_cny,missing,0,1",
                    "2022,KM-CORE,科技创新核心区,Core area,high_tech_output_share,,percent,missing,0,1",
                    "2022,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,,100m_cny,missing,0,0",
                    "2022,KM-DEMO,科技创新示范区,Demonstration area,high_tech_output_share,,percent,missing,0,0",
                    "2022,530100,昆明市,Kunming,rd_expenditure,,100m_cny,missing,0,1",
                    "2022,530100,昆明市,Kunming,high_tech_output_share,,percent,missing,0,1",
                ]))
        #expect(rows.count == 5 * Indicator.allCases.count)
        #expect(rows.allSatisfy { $0.status == .missing && $0.value.isEmpty })
        #expect(
            CSVWriter.completeness(computeCompleteness(book: store.book, registry: registry))
                == F.csv([
                    "year,geo_code,geo_name_zh,kind,records,status",
                    "2022,530102,五华区,rd,0,missing",
                    "2022,530102,五华区,tech-contract,0,missing",
                    "2022,530102,五华区,county-profile,0,missing",
                    "2022,KM-HTZ,昆明高新技术产业开发区,rd,0,missing",
                    "2022,KM-HTZ,昆明高新技术产业开发区,tech-contract,0,missing",
                    "2022,KM-HTZ,昆明高新技术产业开发区,county-profile,0,missing",
                ]))
    }

    /// The `indicator` ids of section 7, byte for byte; `high_tech_enterprises` now comes from
    /// the record catalogue's field name, and must not change with it silently.
    @Test func indicatorIdsAreSectionSevens() throws {
        #expect(
            Indicator.allCases.map(\.rawValue) == [
                "rd_expenditure", "enterprise_rd_share", "rd_intensity", "tech_contracts", "tech_contract_value",
                "tech_transaction_value", "tech_contract_value_s_se_asia", "high_tech_enterprises",
                "invention_patents_per_10k", "high_tech_output_share",
            ])
        for indicator in Indicator.allCases { #expect(Indicator(rawValue: indicator.rawValue) == indicator) }
        #expect(Indicator(rawValue: "high_tech") == nil)
        let encoded = try JSONEncoder().encode([Indicator.highTechEnterprises])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"high_tech_enterprises\"]")
        #expect(try JSONDecoder().decode([Indicator].self, from: encoded) == [.highTechEnterprises])
    }

    @Test func emptyBookHasNoRows() {
        #expect(computeIndicators(book: AggregateBook(), registry: .kunming).isEmpty)
        #expect(
            CSVWriter.indicators([])
                == "year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected\r\n"
        )
        #expect(computeCompleteness(book: AggregateBook(), registry: .kunming).isEmpty)
    }

    @Test func kunmingRegistryOrderAndConstituentCounts() {
        var store = IndicatorFixtures.MiniStore()
        store.apply(F.rd("530129", 2025, .enterpriseAboveScale, "100"))
        store.apply(F.rd("KM-DZNA", 2025, .other, "7"))
        let rows = computeIndicators(book: store.book, registry: .kunming)
        #expect(rows.count == 20 * 10)
        let codes = stride(from: 0, to: rows.count, by: 10).map { rows[$0].geoCode }
        #expect(
            codes == [
                "530102", "530103", "530111", "530112", "530114", "530115", "530113", "530181", "530124",
                "530125", "530126", "530127", "530128", "530129", "KM-HTZ", "KM-ETDZ", "KM-DZNA",
                "KM-CORE", "KM-DEMO", "530100",
            ])
        let rd = rows.filter {
            $0.indicator == .rdExpenditure
                && ["530129", "KM-DZNA", "KM-CORE", "KM-DEMO", "530100"].contains($0.geoCode)
        }
        #expect(
            CSVWriter.indicators(rd)
                == F.csv([
                    "year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected",
                    "2025,530129,寻甸回族彝族自治县,Xundian Hui and Yi Autonomous County,rd_expenditure,0.01,100m_cny,ok,1,1",
                    "2025,KM-DZNA,滇中新区,Dianzhong New Area,rd_expenditure,0.0007,100m_cny,ok,1,1",
                    "2025,KM-CORE,科技创新核心区,Core area,rd_expenditure,,100m_cny,missing,0,6",
                    "2025,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,0.01,100m_cny,partial,1,8",
                    "2025,530100,昆明市,Kunming,rd_expenditure,0.01,100m_cny,partial,1,14",
                ]))
    }

    @Test func ratiosAreFormedFromSumsNeverFromAveragedRatios() {
        // 530102: 1 of 2 = 50 %; 530103: 99 of 100 = 99 %. Average of ratios 74.5; the
        // protocol's ratio of sums (1 + 99) ÷ (2 + 100) × 100 = 98.0392… → 98.0392.
        var store = IndicatorFixtures.MiniStore()
        store.apply(F.rd("530102", 2024, .enterpriseAboveScale, "1"))
        store.apply(F.rd("530102", 2024, .other, "1"))
        store.apply(F.rd("530103", 2024, .enterpriseAboveScale, "99"))
        store.apply(F.rd("530103", 2024, .medical, "1"))
        let rows = computeIndicators(book: store.book, registry: F.smallRegistry)
        let core = rows.first { $0.geoCode == "KM-CORE" && $0.indicator == .enterpriseRDShare }
        #expect(core?.value == "98.0392")
        #expect(core?.status == .ok)
    }

    @Test func southAndSoutheastAsiaListIsTheSpecsNineteen() {
        #expect(
            southAndSoutheastAsia
                == Set(
                    "BN KH ID LA MY MM PH SG TH VN TL IN PK BD LK NP BT MV AF".split(separator: " ").map(String.init)))
        for buyer in ["CN", "US", "JP", "KR", "HK"] { #expect(!southAndSoutheastAsia.contains(buyer)) }
    }

    @Test func unitsFollowTheTable() {
        #expect(
            Indicator.allCases.map(\.rawValue) == [
                "rd_expenditure", "enterprise_rd_share", "rd_intensity", "tech_contracts", "tech_contract_value",
                "tech_transaction_value", "tech_contract_value_s_se_asia", "high_tech_enterprises",
                "invention_patents_per_10k", "high_tech_output_share",
            ])
        #expect(
            Indicator.allCases.map(\.unit) == [
                "100m_cny", "percent", "percent", "count", "100m_cny", "100m_cny", "100m_cny", "count",
                "per_10k_residents", "percent",
            ])
    }
}
