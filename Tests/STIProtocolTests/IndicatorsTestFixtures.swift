import Testing

@testable import STIProtocol

/// Record builders, a minimal state store and the worked example shared by the indicator,
/// aggregate and snapshot tests.
enum IndicatorFixtures {
    static let at = "2026-01-15T09:30:00+08:00"

    /// An amount from decimal text as a submitter writes it (`100.5`, `100.50`).
    static func amount(_ text: String) -> ExactAmount {
        guard let scaled = NumberFormat.parseScaled(text, fractionDigits: 4), let v = Int64(exactly: scaled) else {
            fatalError("fixture amount \(text) is not a 4-digit decimal")
        }
        return ExactAmount(scaled: v)
    }

    static func rd(
        _ county: String, _ year: Int, _ performer: Performer, _ value: String,
        rev: Int = 1, status: RecordStatus = .active, submittedAt: String = at
    ) -> Record {
        Record(
            county: county, revision: rev, status: status, submittedAt: submittedAt,
            body: .rd(RDExpenditure(year: year, performer: performer, expenditure: amount(value))))
    }

    static func contract(
        _ county: String, _ no: String, _ y: Int, _ m: Int, _ d: Int, value: String, transaction: String,
        buyer: String, type: ContractType = .development, domain: TechDomain = .biomedicine,
        rev: Int = 1, status: RecordStatus = .active, submittedAt: String = at
    ) -> Record {
        Record(
            county: county, revision: rev, status: status, submittedAt: submittedAt,
            body: .techContract(
                TechContract(
                    contractNo: no, registeredOn: CalendarDate(year: y, month: m, day: d),
                    contractType: type, domain: domain, contractValue: amount(value),
                    techTransactionValue: amount(transaction), buyerCountry: buyer)))
    }

    static func profile(
        _ county: String, _ year: Int, gdp: String? = nil, population: String? = nil,
        highTech: Int64? = nil, patents: Int64? = nil, output: String? = nil, highTechOutput: String? = nil,
        rev: Int = 1, status: RecordStatus = .active, submittedAt: String = at
    ) -> Record {
        Record(
            county: county, revision: rev, status: status, submittedAt: submittedAt,
            body: .countyProfile(
                CountyProfile(
                    year: year, gdp: gdp.map(amount), residentPopulation: population.map(amount),
                    highTechEnterprises: highTech, inventionPatentsHeld: patents,
                    industrialOutput: output.map(amount),
                    highTechIndustrialOutput: highTechOutput.map(amount))))
    }

    /// What the pipeline's state store does with a valid record: decide, then replace.
    struct MiniStore: Codable, Equatable {
        var current: [String: Record] = [:]
        var book = AggregateBook()

        @discardableResult
        mutating func apply(_ r: Record) -> RevisionOutcome {
            let old = current[r.identity]
            let outcome = decideRevision(current: old, incoming: r)
            if outcome == .applied {
                if let old { book.remove(old) }
                book.add(r)
                current[r.identity] = r
            }
            return outcome
        }
    }

    static func geo(
        _ code: String, _ zh: String, _ en: String, _ kind: Geography.Kind, _ area: Geography.Area, _ inTotal: Bool
    ) -> Geography {
        Geography(code: code, nameZh: zh, nameEn: en, kind: kind, area: area, inTotal: inTotal)
    }

    /// Two core counties, two demonstration counties and one zone.
    static let smallRegistry: Registry = try! Registry(geographies: [
        geo("530102", "五华区", "Wuhua District", .county, .core, true),
        geo("530103", "盘龙区", "Panlong District", .county, .core, true),
        geo("530113", "东川区", "Dongchuan District", .county, .demonstration, true),
        geo("530181", "安宁市", "Anning City", .county, .demonstration, true),
        geo("KM-HTZ", "昆明高新技术产业开发区", "Kunming High-tech Industrial Development Zone", .zone, .core, false),
    ])

    /// The worked example's messages, per county (= per partition) in log order. Includes a
    /// withdrawal, a revised profile that drops figures, a duplicate written `1000.00`, a
    /// stale revision and a conflicting one, which must all leave the hand-computed result.
    static let workedExampleByCounty: [String: [Record]] = [
        "530102": [
            rd("530102", 2023, .enterpriseAboveScale, "100"),
            rd("530102", 2023, .enterpriseAboveScale, "100", rev: 2, status: .withdrawn),
            rd("530102", 2023, .other, "0"),
            rd("530102", 2024, .enterpriseAboveScale, "60000"),
            rd("530102", 2024, .researchInstitute, "15000.5"),
            profile(
                "530102", 2024, gdp: "1100", population: "120.3", highTech: 480, patents: 2900, output: "800",
                highTechOutput: "200"),
            profile(
                "530102", 2024, gdp: "1200.5", population: "120.3", highTech: 500, patents: 3000, output: "800",
                highTechOutput: "200", rev: 2),
            contract("530102", "HT-2024-001", 2024, 5, 6, value: "1000", transaction: "800", buyer: "VN"),
            contract("530102", "HT-2024-002", 2024, 7, 1, value: "500.25", transaction: "0", buyer: "CN"),
            contract(
                "530102", "HT-2024-001", 2024, 5, 6, value: "1000.00", transaction: "800.0", buyer: "VN",
                submittedAt: "2026-02-01T10:00:00+08:00"),  // duplicate
            profile("530102", 2024, gdp: "1", rev: 1),  // stale
            rd("530102", 2024, .researchInstitute, "99", rev: 1),  // conflict: the first one stands
        ],
        "530103": [
            rd("530103", 2023, .other, "0"),
            rd("530103", 2024, .medical, "0"),
            profile(
                "530103", 2024, gdp: "500", population: "80", highTech: 7, patents: 50, output: "0", highTechOutput: "0"
            ),
            profile("530103", 2024, gdp: "500", population: "80", output: "0", highTechOutput: "0", rev: 2),
            contract("530103", "PL/9", 2024, 3, 1, value: "10", transaction: "5", buyer: "CN"),
            contract(
                "530103", "PL/9", 2024, 3, 1, value: "10", transaction: "5", buyer: "CN", rev: 2, status: .withdrawn),
        ],
        "530113": [
            rd("530113", 2023, .other, "0"),
            rd("530113", 2024, .other, "1234.5678"),
            profile(
                "530113", 2024, gdp: "300", population: "30", highTech: 20, patents: 100, output: "0",
                highTechOutput: "0"),
        ],
        "530181": [
            rd("530181", 2023, .other, "0"),
            profile("530181", 2024, population: "45.5", highTech: 0, patents: 91, output: "0", highTechOutput: "0"),
        ],
        "KM-HTZ": [
            rd("KM-HTZ", 2024, .enterpriseAboveScale, "5000"),
            profile("KM-HTZ", 2024, gdp: "100", output: "0", highTechOutput: "0"),
            contract("KM-HTZ", "Z-1", 2024, 9, 9, value: "2000", transaction: "1500", buyer: "TH"),
        ],
    ]

    static let countyOrder = ["530102", "530103", "530113", "530181", "KM-HTZ"]

    /// All messages, county after county.
    static var workedExampleInOrder: [Record] { countyOrder.flatMap { workedExampleByCounty[$0]! } }

    static func workedExampleStore() -> MiniStore {
        var s = MiniStore()
        for r in workedExampleInOrder { s.apply(r) }
        return s
    }

    /// CSV text from lines written without line ends.
    static func csv(_ lines: [String]) -> String { lines.map { $0 + "\r\n" }.joined() }
}

extension IndicatorFixtures {
    /// indicators.csv of the worked example (the derivation is in IndicatorsTests' comment).
    static let expectedIndicators = csv([
        "year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected",
        "2023,530102,五华区,Wuhua District,rd_expenditure,0,100m_cny,ok,1,1",
        "2023,530102,五华区,Wuhua District,enterprise_rd_share,,percent,undefined,1,1",
        "2023,530102,五华区,Wuhua District,rd_intensity,,percent,missing,0,1",
        "2023,530102,五华区,Wuhua District,tech_contracts,,count,missing,0,1",
        "2023,530102,五华区,Wuhua District,tech_contract_value,,100m_cny,missing,0,1",
        "2023,530102,五华区,Wuhua District,tech_transaction_value,,100m_cny,missing,0,1",
        "2023,530102,五华区,Wuhua District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2023,530102,五华区,Wuhua District,high_tech_enterprises,,count,missing,0,1",
        "2023,530102,五华区,Wuhua District,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2023,530102,五华区,Wuhua District,high_tech_output_share,,percent,missing,0,1",
        "2023,530103,盘龙区,Panlong District,rd_expenditure,0,100m_cny,ok,1,1",
        "2023,530103,盘龙区,Panlong District,enterprise_rd_share,,percent,undefined,1,1",
        "2023,530103,盘龙区,Panlong District,rd_intensity,,percent,missing,0,1",
        "2023,530103,盘龙区,Panlong District,tech_contracts,,count,missing,0,1",
        "2023,530103,盘龙区,Panlong District,tech_contract_value,,100m_cny,missing,0,1",
        "2023,530103,盘龙区,Panlong District,tech_transaction_value,,100m_cny,missing,0,1",
        "2023,530103,盘龙区,Panlong District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2023,530103,盘龙区,Panlong District,high_tech_enterprises,,count,missing,0,1",
        "2023,530103,盘龙区,Panlong District,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2023,530103,盘龙区,Panlong District,high_tech_output_share,,percent,missing,0,1",
        "2023,530113,东川区,Dongchuan District,rd_expenditure,0,100m_cny,ok,1,1",
        "2023,530113,东川区,Dongchuan District,enterprise_rd_share,,percent,undefined,1,1",
        "2023,530113,东川区,Dongchuan District,rd_intensity,,percent,missing,0,1",
        "2023,530113,东川区,Dongchuan District,tech_contracts,,count,missing,0,1",
        "2023,530113,东川区,Dongchuan District,tech_contract_value,,100m_cny,missing,0,1",
        "2023,530113,东川区,Dongchuan District,tech_transaction_value,,100m_cny,missing,0,1",
        "2023,530113,东川区,Dongchuan District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2023,530113,东川区,Dongchuan District,high_tech_enterprises,,count,missing,0,1",
        "2023,530113,东川区,Dongchuan District,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2023,530113,东川区,Dongchuan District,high_tech_output_share,,percent,missing,0,1",
        "2023,530181,安宁市,Anning City,rd_expenditure,0,100m_cny,ok,1,1",
        "2023,530181,安宁市,Anning City,enterprise_rd_share,,percent,undefined,1,1",
        "2023,530181,安宁市,Anning City,rd_intensity,,percent,missing,0,1",
        "2023,530181,安宁市,Anning City,tech_contracts,,count,missing,0,1",
        "2023,530181,安宁市,Anning City,tech_contract_value,,100m_cny,missing,0,1",
        "2023,530181,安宁市,Anning City,tech_transaction_value,,100m_cny,missing,0,1",
        "2023,530181,安宁市,Anning City,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2023,530181,安宁市,Anning City,high_tech_enterprises,,count,missing,0,1",
        "2023,530181,安宁市,Anning City,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2023,530181,安宁市,Anning City,high_tech_output_share,,percent,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_expenditure,,100m_cny,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,enterprise_rd_share,,percent,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_intensity,,percent,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contracts,,count,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value,,100m_cny,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_transaction_value,,100m_cny,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_enterprises,,count,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_output_share,,percent,missing,0,1",
        "2023,KM-CORE,科技创新核心区,Core area,rd_expenditure,0,100m_cny,ok,2,2",
        "2023,KM-CORE,科技创新核心区,Core area,enterprise_rd_share,,percent,undefined,2,2",
        "2023,KM-CORE,科技创新核心区,Core area,rd_intensity,,percent,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,tech_contracts,,count,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,tech_contract_value,,100m_cny,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,tech_transaction_value,,100m_cny,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,tech_contract_value_s_se_asia,,100m_cny,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,high_tech_enterprises,,count,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,invention_patents_per_10k,,per_10k_residents,missing,0,2",
        "2023,KM-CORE,科技创新核心区,Core area,high_tech_output_share,,percent,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,0,100m_cny,ok,2,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,enterprise_rd_share,,percent,undefined,2,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,rd_intensity,,percent,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contracts,,count,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value,,100m_cny,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,tech_transaction_value,,100m_cny,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value_s_se_asia,,100m_cny,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,high_tech_enterprises,,count,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,invention_patents_per_10k,,per_10k_residents,missing,0,2",
        "2023,KM-DEMO,科技创新示范区,Demonstration area,high_tech_output_share,,percent,missing,0,2",
        "2023,530100,昆明市,Kunming,rd_expenditure,0,100m_cny,ok,4,4",
        "2023,530100,昆明市,Kunming,enterprise_rd_share,,percent,undefined,4,4",
        "2023,530100,昆明市,Kunming,rd_intensity,,percent,missing,0,4",
        "2023,530100,昆明市,Kunming,tech_contracts,,count,missing,0,4",
        "2023,530100,昆明市,Kunming,tech_contract_value,,100m_cny,missing,0,4",
        "2023,530100,昆明市,Kunming,tech_transaction_value,,100m_cny,missing,0,4",
        "2023,530100,昆明市,Kunming,tech_contract_value_s_se_asia,,100m_cny,missing,0,4",
        "2023,530100,昆明市,Kunming,high_tech_enterprises,,count,missing,0,4",
        "2023,530100,昆明市,Kunming,invention_patents_per_10k,,per_10k_residents,missing,0,4",
        "2023,530100,昆明市,Kunming,high_tech_output_share,,percent,missing,0,4",
        "2024,530102,五华区,Wuhua District,rd_expenditure,7.50005,100m_cny,ok,1,1",
        "2024,530102,五华区,Wuhua District,enterprise_rd_share,79.9995,percent,ok,1,1",
        "2024,530102,五华区,Wuhua District,rd_intensity,0.6247,percent,ok,1,1",
        "2024,530102,五华区,Wuhua District,tech_contracts,2,count,ok,1,1",
        "2024,530102,五华区,Wuhua District,tech_contract_value,0.150025,100m_cny,ok,1,1",
        "2024,530102,五华区,Wuhua District,tech_transaction_value,0.08,100m_cny,ok,1,1",
        "2024,530102,五华区,Wuhua District,tech_contract_value_s_se_asia,0.1,100m_cny,ok,1,1",
        "2024,530102,五华区,Wuhua District,high_tech_enterprises,500,count,ok,1,1",
        "2024,530102,五华区,Wuhua District,invention_patents_per_10k,24.9377,per_10k_residents,ok,1,1",
        "2024,530102,五华区,Wuhua District,high_tech_output_share,25,percent,ok,1,1",
        "2024,530103,盘龙区,Panlong District,rd_expenditure,0,100m_cny,ok,1,1",
        "2024,530103,盘龙区,Panlong District,enterprise_rd_share,,percent,undefined,1,1",
        "2024,530103,盘龙区,Panlong District,rd_intensity,0,percent,ok,1,1",
        "2024,530103,盘龙区,Panlong District,tech_contracts,,count,missing,0,1",
        "2024,530103,盘龙区,Panlong District,tech_contract_value,,100m_cny,missing,0,1",
        "2024,530103,盘龙区,Panlong District,tech_transaction_value,,100m_cny,missing,0,1",
        "2024,530103,盘龙区,Panlong District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2024,530103,盘龙区,Panlong District,high_tech_enterprises,,count,missing,0,1",
        "2024,530103,盘龙区,Panlong District,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2024,530103,盘龙区,Panlong District,high_tech_output_share,,percent,undefined,1,1",
        "2024,530113,东川区,Dongchuan District,rd_expenditure,0.12345678,100m_cny,ok,1,1",
        "2024,530113,东川区,Dongchuan District,enterprise_rd_share,0,percent,ok,1,1",
        "2024,530113,东川区,Dongchuan District,rd_intensity,0.0412,percent,ok,1,1",
        "2024,530113,东川区,Dongchuan District,tech_contracts,,count,missing,0,1",
        "2024,530113,东川区,Dongchuan District,tech_contract_value,,100m_cny,missing,0,1",
        "2024,530113,东川区,Dongchuan District,tech_transaction_value,,100m_cny,missing,0,1",
        "2024,530113,东川区,Dongchuan District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2024,530113,东川区,Dongchuan District,high_tech_enterprises,20,count,ok,1,1",
        "2024,530113,东川区,Dongchuan District,invention_patents_per_10k,3.3333,per_10k_residents,ok,1,1",
        "2024,530113,东川区,Dongchuan District,high_tech_output_share,,percent,undefined,1,1",
        "2024,530181,安宁市,Anning City,rd_expenditure,,100m_cny,missing,0,1",
        "2024,530181,安宁市,Anning City,enterprise_rd_share,,percent,missing,0,1",
        "2024,530181,安宁市,Anning City,rd_intensity,,percent,missing,0,1",
        "2024,530181,安宁市,Anning City,tech_contracts,,count,missing,0,1",
        "2024,530181,安宁市,Anning City,tech_contract_value,,100m_cny,missing,0,1",
        "2024,530181,安宁市,Anning City,tech_transaction_value,,100m_cny,missing,0,1",
        "2024,530181,安宁市,Anning City,tech_contract_value_s_se_asia,,100m_cny,missing,0,1",
        "2024,530181,安宁市,Anning City,high_tech_enterprises,0,count,ok,1,1",
        "2024,530181,安宁市,Anning City,invention_patents_per_10k,2,per_10k_residents,ok,1,1",
        "2024,530181,安宁市,Anning City,high_tech_output_share,,percent,undefined,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_expenditure,0.5,100m_cny,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,enterprise_rd_share,100,percent,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_intensity,0.5,percent,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contracts,1,count,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value,0.2,100m_cny,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_transaction_value,0.15,100m_cny,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value_s_se_asia,0.2,100m_cny,ok,1,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_enterprises,,count,missing,0,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,invention_patents_per_10k,,per_10k_residents,missing,0,1",
        "2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_output_share,,percent,undefined,1,1",
        "2024,KM-CORE,科技创新核心区,Core area,rd_expenditure,7.50005,100m_cny,ok,2,2",
        "2024,KM-CORE,科技创新核心区,Core area,enterprise_rd_share,79.9995,percent,ok,2,2",
        "2024,KM-CORE,科技创新核心区,Core area,rd_intensity,0.441,percent,ok,2,2",
        "2024,KM-CORE,科技创新核心区,Core area,tech_contracts,2,count,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,tech_contract_value,0.150025,100m_cny,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,tech_transaction_value,0.08,100m_cny,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,tech_contract_value_s_se_asia,0.1,100m_cny,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,high_tech_enterprises,500,count,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,invention_patents_per_10k,,per_10k_residents,partial,1,2",
        "2024,KM-CORE,科技创新核心区,Core area,high_tech_output_share,25,percent,ok,2,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,0.12345678,100m_cny,partial,1,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,enterprise_rd_share,,percent,partial,1,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,rd_intensity,,percent,partial,1,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contracts,,count,missing,0,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value,,100m_cny,missing,0,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,tech_transaction_value,,100m_cny,missing,0,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value_s_se_asia,,100m_cny,missing,0,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,high_tech_enterprises,20,count,ok,2,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,invention_patents_per_10k,2.5298,per_10k_residents,ok,2,2",
        "2024,KM-DEMO,科技创新示范区,Demonstration area,high_tech_output_share,,percent,undefined,2,2",
        "2024,530100,昆明市,Kunming,rd_expenditure,7.62350678,100m_cny,partial,3,4",
        "2024,530100,昆明市,Kunming,enterprise_rd_share,,percent,partial,3,4",
        "2024,530100,昆明市,Kunming,rd_intensity,,percent,partial,3,4",
        "2024,530100,昆明市,Kunming,tech_contracts,2,count,partial,1,4",
        "2024,530100,昆明市,Kunming,tech_contract_value,0.150025,100m_cny,partial,1,4",
        "2024,530100,昆明市,Kunming,tech_transaction_value,0.08,100m_cny,partial,1,4",
        "2024,530100,昆明市,Kunming,tech_contract_value_s_se_asia,0.1,100m_cny,partial,1,4",
        "2024,530100,昆明市,Kunming,high_tech_enterprises,520,count,partial,3,4",
        "2024,530100,昆明市,Kunming,invention_patents_per_10k,,per_10k_residents,partial,3,4",
        "2024,530100,昆明市,Kunming,high_tech_output_share,25,percent,ok,4,4",
    ])

    /// completeness.csv of the worked example.
    static let expectedCompleteness = csv([
        "year,geo_code,geo_name_zh,kind,records,status",
        "2023,530102,五华区,rd,1,received",
        "2023,530102,五华区,tech-contract,0,missing",
        "2023,530102,五华区,county-profile,0,missing",
        "2023,530103,盘龙区,rd,1,received",
        "2023,530103,盘龙区,tech-contract,0,missing",
        "2023,530103,盘龙区,county-profile,0,missing",
        "2023,530113,东川区,rd,1,received",
        "2023,530113,东川区,tech-contract,0,missing",
        "2023,530113,东川区,county-profile,0,missing",
        "2023,530181,安宁市,rd,1,received",
        "2023,530181,安宁市,tech-contract,0,missing",
        "2023,530181,安宁市,county-profile,0,missing",
        "2023,KM-HTZ,昆明高新技术产业开发区,rd,0,missing",
        "2023,KM-HTZ,昆明高新技术产业开发区,tech-contract,0,missing",
        "2023,KM-HTZ,昆明高新技术产业开发区,county-profile,0,missing",
        "2024,530102,五华区,rd,2,received",
        "2024,530102,五华区,tech-contract,2,received",
        "2024,530102,五华区,county-profile,1,received",
        "2024,530103,盘龙区,rd,1,received",
        "2024,530103,盘龙区,tech-contract,0,missing",
        "2024,530103,盘龙区,county-profile,1,received",
        "2024,530113,东川区,rd,1,received",
        "2024,530113,东川区,tech-contract,0,missing",
        "2024,530113,东川区,county-profile,1,received",
        "2024,530181,安宁市,rd,0,missing",
        "2024,530181,安宁市,tech-contract,0,missing",
        "2024,530181,安宁市,county-profile,1,received",
        "2024,KM-HTZ,昆明高新技术产业开发区,rd,1,received",
        "2024,KM-HTZ,昆明高新技术产业开发区,tech-contract,1,received",
        "2024,KM-HTZ,昆明高新技术产业开发区,county-profile,1,received",
    ])
}
