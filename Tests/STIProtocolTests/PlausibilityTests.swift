import Testing

@testable import STIProtocol

/// A warning as a row expects it: code, field, and both figures as section 7 writes them.
struct ExpectedWarning: Hashable, Sendable, CustomStringConvertible {
    var code: WarningCode
    var field: String
    var value: String
    var comparedWith: String?
    init(_ code: WarningCode, _ field: String, _ value: String, _ comparedWith: String?) {
        self.code = code
        self.field = field
        self.value = value
        self.comparedWith = comparedWith
    }
    init(_ w: PlausibilityWarning) { self.init(w.code, w.field, w.value.description, w.comparedWith?.description) }
    var description: String { "\(code.rawValue)(\(field) \(value) vs \(comparedWith ?? "-"))" }
}

/// One plausibility case: the incoming record, the previous year's record, the warnings.
struct PlausibilityRow: Sendable, CustomTestStringConvertible {
    var name: String
    var record: Record
    var previous: Record?
    var expected: [ExpectedWarning]
    var testDescription: String { name }
    init(_ name: String, _ record: Record, previous: Record? = nil, _ expected: [ExpectedWarning]) {
        self.name = name
        self.record = record
        self.previous = previous
        self.expected = expected
    }
}

private typealias F = IndicatorFixtures

private func rd(
    _ year: Int, _ value: String, status: RecordStatus = .active, performer: Performer = .enterpriseAboveScale
) -> Record {
    F.rd("530102", year, performer, value, status: status)
}

private func contract(_ value: String, _ transaction: String, status: RecordStatus = .active) -> Record {
    F.contract("530102", "HT-1", 2025, 6, 1, value: value, transaction: transaction, buyer: "CN", status: status)
}

/// A 2025 (or `year`) profile holding one figure, named by its protocol field.
private func profile(_ field: String, _ text: String, year: Int = 2025, status: RecordStatus = .active) -> Record {
    switch field {
    case "gdp_100m_cny": F.profile("530102", year, gdp: text, status: status)
    case "resident_population_10k": F.profile("530102", year, population: text, status: status)
    case "high_tech_enterprises": F.profile("530102", year, highTech: Int64(text)!, status: status)
    case "invention_patents_held": F.profile("530102", year, patents: Int64(text)!, status: status)
    case "industrial_output_100m_cny": F.profile("530102", year, output: text, status: status)
    case "high_tech_industrial_output_100m_cny": F.profile("530102", year, highTechOutput: text, status: status)
    default: fatalError("no profile field \(field)")
    }
}

private let yoy = WarningCode.yoyChange
private let rdField = "expenditure_10k_cny"

let rdRows: [PlausibilityRow] = [
    PlausibilityRow("exactly twice: does not fire", rd(2025, "2000"), previous: rd(2024, "1000"), []),
    PlausibilityRow(
        "just over twice: fires", rd(2025, "2000.0001"), previous: rd(2024, "1000"),
        [ExpectedWarning(yoy, rdField, "2000.0001", "1000")]),
    PlausibilityRow("exactly half: does not fire", rd(2025, "500"), previous: rd(2024, "1000"), []),
    PlausibilityRow(
        "just under half: fires", rd(2025, "499.9999"), previous: rd(2024, "1000"),
        [ExpectedWarning(yoy, rdField, "499.9999", "1000")]),
    PlausibilityRow("odd previous, exactly half", rd(2025, "0.0001"), previous: rd(2024, "0.0002"), []),
    PlausibilityRow(
        "odd previous, just under half", rd(2025, "0.0001"), previous: rd(2024, "0.0003"),
        [ExpectedWarning(yoy, rdField, "0.0001", "0.0003")]),
    PlausibilityRow("unchanged", rd(2025, "1000"), previous: rd(2024, "1000"), []),
    PlausibilityRow(
        "zero now", rd(2025, "0"), previous: rd(2024, "1000"), [ExpectedWarning(yoy, rdField, "0", "1000")]),
    PlausibilityRow(
        "zero before", rd(2025, "0.0001"), previous: rd(2024, "0"), [ExpectedWarning(yoy, rdField, "0.0001", "0")]),
    PlausibilityRow("zero both years: does not fire", rd(2025, "0"), previous: rd(2024, "0"), []),
    PlausibilityRow("largest figures, exactly twice", rd(2025, "10000000000"), previous: rd(2024, "5000000000"), []),
    PlausibilityRow(
        "largest figures, just over twice", rd(2025, "10000000000"), previous: rd(2024, "4999999999.9999"),
        [ExpectedWarning(yoy, rdField, "10000000000", "4999999999.9999")]),
    PlausibilityRow("no previous year's record", rd(2025, "99999"), []),
    PlausibilityRow(
        "previous year's record withdrawn", rd(2025, "99999"), previous: rd(2024, "1", status: .withdrawn), []),
    PlausibilityRow(
        "incoming withdrawn: not checked", rd(2025, "99999", status: .withdrawn), previous: rd(2024, "1"), []),
]

/// Each county-profile figure at and just past its bound, both ways, with the previous year at
/// 1000 (a count) or 1000 (an amount, so one step is 0.0001).
let profileBoundRows: [PlausibilityRow] = {
    let bounds: [(String, Int, Bool)] = [
        ("gdp_100m_cny", 30, false), ("resident_population_10k", 10, false), ("high_tech_enterprises", 50, true),
        ("invention_patents_held", 50, true), ("industrial_output_100m_cny", 40, false),
        ("high_tech_industrial_output_100m_cny", 50, false),
    ]
    var rows: [PlausibilityRow] = []
    for (field, percent, isCount) in bounds {
        let up = 1000 + 10 * percent
        let down = 1000 - 10 * percent
        let step = isCount ? "1" : "0.0001"
        let past: (Int, Int) -> String = { at, sign in
            isCount ? String(at + sign) : (sign > 0 ? "\(at).0001" : "\(at - 1).9999")
        }
        let previous = profile(field, "1000", year: 2024)
        rows += [
            PlausibilityRow(
                "\(field) +\(percent) %: does not fire", profile(field, String(up)), previous: previous, []),
            PlausibilityRow(
                "\(field) +\(percent) % + \(step): fires", profile(field, past(up, 1)), previous: previous,
                [ExpectedWarning(yoy, field, past(up, 1), "1000")]),
            PlausibilityRow(
                "\(field) −\(percent) %: does not fire", profile(field, String(down)), previous: previous, []),
            PlausibilityRow(
                "\(field) −\(percent) % − \(step): fires", profile(field, past(down, -1)), previous: previous,
                [ExpectedWarning(yoy, field, past(down, -1), "1000")]),
        ]
    }
    return rows
}()

let profileRows: [PlausibilityRow] = [
    // gdp and population are > 0 by section 3; the others may be 0.
    PlausibilityRow(
        "enterprises zero now", profile("high_tech_enterprises", "0"),
        previous: profile("high_tech_enterprises", "1", year: 2024),
        [ExpectedWarning(yoy, "high_tech_enterprises", "0", "1")]),
    PlausibilityRow(
        "enterprises zero before", profile("high_tech_enterprises", "1"),
        previous: profile("high_tech_enterprises", "0", year: 2024),
        [ExpectedWarning(yoy, "high_tech_enterprises", "1", "0")]),
    PlausibilityRow(
        "enterprises zero both years", profile("high_tech_enterprises", "0"),
        previous: profile("high_tech_enterprises", "0", year: 2024), []),
    PlausibilityRow(
        "patents zero now", profile("invention_patents_held", "0"),
        previous: profile("invention_patents_held", "7", year: 2024),
        [ExpectedWarning(yoy, "invention_patents_held", "0", "7")]),
    PlausibilityRow(
        "industrial output zero now", profile("industrial_output_100m_cny", "0"),
        previous: profile("industrial_output_100m_cny", "0.0001", year: 2024),
        [ExpectedWarning(yoy, "industrial_output_100m_cny", "0", "0.0001")]),
    PlausibilityRow(
        "high-tech output zero before", profile("high_tech_industrial_output_100m_cny", "0.0001"),
        previous: profile("high_tech_industrial_output_100m_cny", "0", year: 2024),
        [ExpectedWarning(yoy, "high_tech_industrial_output_100m_cny", "0.0001", "0")]),
    PlausibilityRow(
        "high-tech output zero both years", profile("high_tech_industrial_output_100m_cny", "0"),
        previous: profile("high_tech_industrial_output_100m_cny", "0", year: 2024), []),
    PlausibilityRow(
        "figure absent last year", profile("gdp_100m_cny", "9000"),
        previous: profile("resident_population_10k", "50", year: 2024), []),
    PlausibilityRow(
        "figure absent this year", profile("resident_population_10k", "50"),
        previous: profile("gdp_100m_cny", "1", year: 2024), []),
    PlausibilityRow("no previous year's profile", profile("gdp_100m_cny", "9000"), []),
    PlausibilityRow(
        "previous profile withdrawn", profile("gdp_100m_cny", "9000"),
        previous: profile("gdp_100m_cny", "1", year: 2024, status: .withdrawn), []),
    PlausibilityRow(
        "incoming profile withdrawn", profile("gdp_100m_cny", "9000", status: .withdrawn),
        previous: profile("gdp_100m_cny", "1", year: 2024), []),
    PlausibilityRow(
        "every figure fires, in section 3 order",
        F.profile(
            "530102", 2025, gdp: "2000", population: "200", highTech: 0, patents: 2000, output: "2000",
            highTechOutput: "2000"),
        previous: F.profile(
            "530102", 2024, gdp: "1000", population: "100", highTech: 10, patents: 1000, output: "1000",
            highTechOutput: "1000"),
        [
            ExpectedWarning(yoy, "gdp_100m_cny", "2000", "1000"),
            ExpectedWarning(yoy, "resident_population_10k", "200", "100"),
            ExpectedWarning(yoy, "high_tech_enterprises", "0", "10"),
            ExpectedWarning(yoy, "invention_patents_held", "2000", "1000"),
            ExpectedWarning(yoy, "industrial_output_100m_cny", "2000", "1000"),
            ExpectedWarning(yoy, "high_tech_industrial_output_100m_cny", "2000", "1000"),
        ]),
    PlausibilityRow(
        "some figures fire, others within bounds or absent",
        F.profile("530102", 2025, gdp: "1300", population: "111", patents: 1500, highTechOutput: "1"),
        previous: F.profile("530102", 2024, gdp: "1000", population: "100", highTech: 10, patents: 1000, output: "5"),
        [ExpectedWarning(yoy, "resident_population_10k", "111", "100")]),
]

private let large = WarningCode.largeContract
private let low = WarningCode.lowTransactionShare

let contractRows: [PlausibilityRow] = [
    PlausibilityRow("just under 1 亿元: does not fire", contract("9999.9999", "9999.9999"), []),
    PlausibilityRow(
        "1 亿元 exactly: fires (≥)", contract("10000", "10000"),
        [ExpectedWarning(large, "contract_value_10k_cny", "10000", nil)]),
    PlausibilityRow(
        "largest contract", contract("10000000000", "10000000000"),
        [ExpectedWarning(large, "contract_value_10k_cny", "10000000000", nil)]),
    PlausibilityRow("transaction exactly 10 %: does not fire", contract("100", "10"), []),
    PlausibilityRow(
        "transaction just under 10 %: fires", contract("100", "9.9999"),
        [ExpectedWarning(low, "tech_transaction_value_10k_cny", "9.9999", "100")]),
    PlausibilityRow(
        "transaction 0 of 100: fires", contract("100", "0"),
        [ExpectedWarning(low, "tech_transaction_value_10k_cny", "0", "100")]),
    PlausibilityRow("contract just under 100: low share does not apply", contract("99.9999", "0"), []),
    PlausibilityRow("odd contract value, exactly 10 %", contract("123.457", "12.3457"), []),
    PlausibilityRow(
        "odd contract value, just under 10 %", contract("123.457", "12.3456"),
        [ExpectedWarning(low, "tech_transaction_value_10k_cny", "12.3456", "123.457")]),
    PlausibilityRow(
        "both, in section 5a order", contract("20000", "1999.9999"),
        [
            ExpectedWarning(large, "contract_value_10k_cny", "20000", nil),
            ExpectedWarning(low, "tech_transaction_value_10k_cny", "1999.9999", "20000"),
        ]),
    PlausibilityRow(
        "large, transaction exactly 10 %", contract("20000", "2000"),
        [ExpectedWarning(large, "contract_value_10k_cny", "20000", nil)]),
    PlausibilityRow("withdrawn contract: not checked", contract("20000", "0", status: .withdrawn), []),
]

@Suite struct PlausibilityTests {
    @Test(arguments: rdRows + profileBoundRows + profileRows + contractRows)
    func rule(_ row: PlausibilityRow) {
        let warnings = Plausibility.warnings(for: row.record, previousYear: row.previous)
        #expect(warnings.map(ExpectedWarning.init) == row.expected, "\(row.name)")
        for w in warnings {
            // The message names both figures and the fix.
            #expect(w.message.contains(w.field) && w.message.contains(w.value.description), "\(row.name): \(w.message)")
            if let other = w.comparedWith {
                #expect(w.message.contains(other.description), "\(row.name): \(w.message)")
            }
            #expect(
                w.message.hasSuffix("send the record again with an `explanation` saying why (section 5a)"),
                "\(row.name)")
        }
    }

    @Test func boundRowsCoverEveryProfileFigure() {
        #expect(
            Plausibility.profileBounds.map(\.field) == [
                "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises",
                "invention_patents_held", "industrial_output_100m_cny",
                "high_tech_industrial_output_100m_cny",
            ])
        #expect(Plausibility.profileBounds.map(\.percent) == [30, 10, 50, 50, 40, 50])
        #expect(
            Set(profileBoundRows.flatMap { $0.expected.map(\.field) }) == Set(Plausibility.profileBounds.map(\.field)))
    }

    @Test func messagesReadAsAnalystsWouldWriteThem() {
        let more = Plausibility.warnings(for: rd(2025, "2500.5"), previousYear: rd(2024, "1000"))
        #expect(
            more.map(\.message) == [
                "expenditure_10k_cny 2500.5 is more than twice 2024's 1000; "
                    + "if it is right, send the record again with an `explanation` saying why (section 5a)"
            ])
        #expect(
            Plausibility.warnings(for: rd(2025, "400"), previousYear: rd(2024, "1000")).map(\.finding)
                == ["expenditure_10k_cny 400 is less than half of 2024's 1000"])
        #expect(
            Plausibility.warnings(for: rd(2025, "0"), previousYear: rd(2024, "1000")).map(\.finding)
                == ["expenditure_10k_cny 0 where 2024's was 1000"])
        #expect(
            Plausibility.warnings(
                for: profile("gdp_100m_cny", "1300.0001"), previousYear: profile("gdp_100m_cny", "1000", year: 2024)
            ).map(\.finding)
                == ["gdp_100m_cny 1300.0001 differs from 2024's 1000 by more than 30 %"])
        #expect(
            Plausibility.warnings(for: contract("20000", "1000"), previousYear: nil).map(\.finding)
                == [
                    "contract_value_10k_cny 20000 is 10000 万元 (1 亿元) or more",
                    "tech_transaction_value_10k_cny 1000 is less than 10 % of contract_value_10k_cny 20000",
                ])
        #expect(
            Plausibility.warnings(for: contract("20000", "1000"), previousYear: nil).first?.description
                == "W_LARGE_CONTRACT contract_value_10k_cny: contract_value_10k_cny 20000 is 10000 万元 (1 亿元) or more; "
                + "if it is right, send the record again with an `explanation` saying why (section 5a)")
    }

    @Test func figuresAreExactValues() throws {
        let w = try #require(
            Plausibility.warnings(
                for: profile("high_tech_enterprises", "16"),
                previousYear: profile("high_tech_enterprises", "10", year: 2024)
            ).first)
        #expect(w.value == .count(16) && w.comparedWith == .count(10))
        let a = try #require(Plausibility.warnings(for: rd(2025, "2000.0001"), previousYear: rd(2024, "1000")).first)
        #expect(
            a.value == .amount(ExactAmount(scaled: 20_000_001)) && a.comparedWith == .amount(ExactAmount(whole: 1000)))
    }

    /// Figures beyond every protocol range (a damaged state file) neither overflow nor trap.
    @Test func extremeFiguresDoNotOverflow() {
        let maxRD = Record(
            county: "530102", revision: 1, submittedAt: "",
            body: .rd(RDExpenditure(year: 2025, performer: .other, expenditure: ExactAmount(scaled: .max))))
        let minRD = Record(
            county: "530102", revision: 1, submittedAt: "",
            body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: .min))))
        #expect(Plausibility.warnings(for: maxRD, previousYear: minRD).map(\.code) == [.yoyChange])
        let maxProfile = F.profile("530102", 2025, highTech: Int64.max, patents: Int64.min)
        let minProfile = F.profile("530102", 2024, highTech: Int64.min, patents: Int64.max)
        #expect(
            Plausibility.warnings(for: maxProfile, previousYear: minProfile).map(\.field) == [
                "high_tech_enterprises", "invention_patents_held",
            ])
        let huge = Record(
            county: "530102", revision: 1, submittedAt: "",
            body: .techContract(
                TechContract(
                    contractNo: "X", registeredOn: CalendarDate(year: 2025, month: 1, day: 1), contractType: .service,
                    domain: .other,
                    contractValue: ExactAmount(scaled: .max), techTransactionValue: ExactAmount(scaled: .max / 11),
                    buyerCountry: "CN")))
        #expect(
            Plausibility.warnings(for: huge, previousYear: nil).map(\.code) == [.largeContract, .lowTransactionShare])
    }

    @Test func thePreviousYearsIdentity() {
        #expect(Plausibility.previousYearIdentity(of: rd(2025, "1", performer: .medical)) == "rd|530102|2024|medical")
        #expect(
            Plausibility.previousYearIdentity(of: rd(2025, "1", performer: .medical))
                == rd(2024, "7", performer: .medical).identity)
        #expect(Plausibility.previousYearIdentity(of: profile("gdp_100m_cny", "1")) == "county-profile|530102|2024")
        #expect(Plausibility.previousYearIdentity(of: contract("1", "1")) == nil)
        #expect(Plausibility.previousYearIdentity(of: F.rd("KM-HTZ", 2000, .other, "1")) == "rd|KM-HTZ|1999|other")
    }

    @Test func warningsLookThePreviousYearUp() {
        let store = [
            rd(2024, "1000"), rd(2024, "5", performer: .medical), profile("gdp_100m_cny", "1000", year: 2024),
            rd(2023, "1"),
        ]
        let byIdentity = Dictionary(uniqueKeysWithValues: store.map { ($0.identity, $0) })
        var asked: [String] = []
        let lookup: (String) -> Record? = {
            asked.append($0)
            return byIdentity[$0]
        }
        #expect(
            Plausibility.warnings(for: rd(2025, "3000"), current: lookup).map(ExpectedWarning.init)
                == [ExpectedWarning(yoy, rdField, "3000", "1000")])
        #expect(
            Plausibility.warnings(for: rd(2025, "3000", performer: .other), current: lookup).isEmpty,
            "another performer's figure is not compared")
        #expect(
            Plausibility.warnings(for: profile("gdp_100m_cny", "1301"), current: lookup).map(\.field) == [
                "gdp_100m_cny"
            ])
        #expect(
            Plausibility.warnings(for: contract("10000", "0"), current: lookup).map(\.code) == [
                .largeContract, .lowTransactionShare,
            ])
        #expect(
            asked == ["rd|530102|2024|enterprise_above_scale", "rd|530102|2024|other", "county-profile|530102|2024"],
            "contracts look nothing up")
    }

    @Test func codesKeepSection5aOrder() {
        #expect(
            WarningCode.allCases.map(\.rawValue) == ["W_YOY_CHANGE", "W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"])
        #expect(WarningCode.allCases.sorted() == WarningCode.allCases)
        #expect(WarningCode.lowTransactionShare > .yoyChange)
    }
}
