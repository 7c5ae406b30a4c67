import Foundation
import Testing

@testable import STIProtocol

@Suite struct AggregatesTests {
    typealias F = IndicatorFixtures

    static let records: [Record] = [
        F.rd("530102", 2024, .enterpriseAboveScale, "60000"),
        F.rd("530102", 2024, .researchInstitute, "15000.5"),
        F.rd("530102", 2024, .medical, "3", status: .withdrawn),
        F.contract("530102", "A-1", 2024, 5, 6, value: "1000", transaction: "800", buyer: "VN"),
        F.contract("530102", "A-2", 2024, 5, 6, value: "500.25", transaction: "0", buyer: "CN"),
        F.contract("530102", "A-3", 2024, 5, 6, value: "7", transaction: "7", buyer: "AF", status: .withdrawn),
        F.profile("530102", 2024, gdp: "1200.5", population: "120.3", highTech: 500),
        F.profile("530103", 2024, status: .withdrawn),
        F.rd("KM-HTZ", 2023, .other, "0.0001"),
    ]

    @Test func addCountsExactlyWhatTheIndicatorsNeed() throws {
        var book = AggregateBook()
        for r in Self.records { book.add(r) }
        let t = try #require(book[year: 2024, geo: "530102"])
        #expect(t.currentRecords == 7)
        #expect(t.activeRD == 2)
        #expect(t.activeContracts == 2)
        #expect(t.activeProfiles == 1)
        #expect(t.rdExpenditureYuan == 750_005_000)
        #expect(t.enterpriseAboveScaleYuan == 600_000_000)
        #expect(t.contractValueYuan == 15_002_500)
        #expect(t.techTransactionValueYuan == 8_000_000)
        #expect(t.contractValueSSEAsiaYuan == 10_000_000)
        #expect(t.profile?.gdp == ExactAmount(scaled: 12_005_000))
        #expect(t.profile?.highTechEnterprises == 500)
        #expect(t.profile?.inventionPatentsHeld == nil)
        let withdrawnOnly = try #require(book[year: 2024, geo: "530103"])
        #expect(withdrawnOnly.currentRecords == 1 && withdrawnOnly.activeProfiles == 0 && withdrawnOnly.profile == nil)
        #expect(book[year: 2023, geo: "KM-HTZ"]?.rdExpenditureYuan == 1)
        #expect(book.years == [2023, 2024])
        #expect(
            t.activeRecords(of: .rd) == 2 && t.activeRecords(of: .techContract) == 2
                && t.activeRecords(of: .countyProfile) == 1)
    }

    @Test func addThenRemoveRestoresTheBookExactly() {
        var book = AggregateBook()
        for r in Self.records.prefix(4) { book.add(r) }
        let before = book
        for r in Self.records.dropFirst(4) {
            let key = book.add(r)
            #expect(key == AggregateBook.key(for: r))
        }
        for r in Self.records.dropFirst(4).reversed() { book.remove(r) }
        #expect(book == before)
        for r in Self.records.prefix(4) { book.remove(r) }
        #expect(book == AggregateBook())
        #expect(book.entries.isEmpty)
        #expect(book.years.isEmpty)
    }

    @Test func removeReturnsTheTouchedKeyAndDropsEmptyEntries() {
        var book = AggregateBook()
        let r = F.rd("530181", 2021, .other, "5")
        #expect(book.add(r) == AggregateKey(year: 2021, geo: "530181"))
        #expect(book.remove(r) == AggregateKey(year: 2021, geo: "530181"))
        #expect(book[AggregateKey(year: 2021, geo: "530181")] == nil)
    }

    @Test func aRevisionThatMovesAContractToAnotherYearEmptiesTheOldYear() {
        var store = IndicatorFixtures.MiniStore()
        store.apply(F.contract("530102", "Y-1", 2023, 12, 31, value: "5", transaction: "1", buyer: "LA"))
        #expect(store.book.years == [2023])
        #expect(
            store.apply(F.contract("530102", "Y-1", 2024, 1, 2, value: "5", transaction: "1", buyer: "LA", rev: 2))
                == .applied)
        #expect(store.book.years == [2024])
        #expect(store.book[year: 2023, geo: "530102"] == nil)
        #expect(store.book[year: 2024, geo: "530102"]?.contractValueSSEAsiaYuan == 50_000)
    }

    @Test func codableRoundTripKeepsInt128Exactly() throws {
        var book = AggregateBook()
        for r in Self.records { book.add(r) }
        var huge = CountyYearTotals()
        huge.currentRecords = 3
        huge.activeContracts = 3
        huge.contractValueYuan = Int128.max
        huge.techTransactionValueYuan = Int128(Int64.max) * 1_000 + 7
        huge.contractValueSSEAsiaYuan = Int128(Int64.max) + 1
        huge.profile = CountyProfile(
            year: 2030, industrialOutput: ExactAmount(scaled: 1_000_000_000_000),
            highTechIndustrialOutput: ExactAmount(scaled: 0))
        huge.activeProfiles = 1
        book.setEntry(huge, for: AggregateKey(year: 2030, geo: "530111"))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(book)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"contract_value_yuan\":\"170141183460469231731687303715884105727\""))
        #expect(text.contains("\"tech_transaction_value_yuan\":\"9223372036854775807007\""))
        let decoded = try JSONDecoder().decode(AggregateBook.self, from: data)
        #expect(decoded == book)
        #expect(try encoder.encode(decoded) == data)
    }

    @Test func sumsBeyondInt64StayExact() {
        // 100,000 contracts at the protocol maximum of 10^10 万元 = 10^14 yuan each.
        var book = AggregateBook()
        for i in 0..<100_000 {
            book.add(
                F.contract(
                    "530102", "MAX-\(i)", 2024, 1, 1, value: "10000000000", transaction: "10000000000", buyer: "MM"))
        }
        let t = book[year: 2024, geo: "530102"]
        #expect(t?.contractValueYuan == 10_000_000_000_000_000_000)
        #expect(t?.contractValueSSEAsiaYuan == 10_000_000_000_000_000_000)
        let row = computeIndicators(book: book, registry: F.smallRegistry).first {
            $0.geoCode == "530100" && $0.indicator == .techContractValue
        }
        #expect(row?.value == "100000000000")
        #expect(row?.status == .partial)
    }

    @Test(arguments: [
        #"[{"year":2024,"geo":"530102","totals":{"current_records":1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"+5","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
        #"[{"year":2024,"geo":"530102","totals":{"current_records":1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"05","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
        #"[{"year":2024,"geo":"530102","totals":{"current_records":1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":5,"enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
        #"[{"year":2024,"geo":"530102","totals":{"current_records":-1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"0","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
        #"[{"year":2024,"geo":"530102","totals":{"current_records":0,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"0","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
        #"[{"year":2024,"geo":"530102","totals":{"current_records":1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"0","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}},{"year":2024,"geo":"530102","totals":{"current_records":1,"active_rd":0,"active_contracts":0,"active_profiles":0,"rd_expenditure_yuan":"0","enterprise_above_scale_yuan":"0","contract_value_yuan":"0","tech_transaction_value_yuan":"0","contract_value_s_se_asia_yuan":"0"}}]"#,
    ])
    func decodingRejectsCorruptBooks(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AggregateBook.self, from: Data(json.utf8)) }
    }

    @Test func persistedEntriesRebuildAnEqualBook() {
        var book = AggregateBook()
        for r in Self.records { book.add(r) }
        var loaded = AggregateBook()
        for (key, totals) in book.entries { loaded.setEntry(totals, for: key) }
        loaded.setEntry(CountyYearTotals(), for: AggregateKey(year: 1999, geo: "530102"))  // empty: ignored
        #expect(loaded == book)
        #expect(
            AggregateBook(
                entries: book.entries.merging([AggregateKey(year: 1, geo: "x"): CountyYearTotals()]) { a, _ in a })
                == book)
        loaded.setEntry(nil, for: AggregateKey(year: 2023, geo: "KM-HTZ"))
        #expect(loaded.years == [2024])
    }

    // MARK: Order independence (section 5, last paragraph; section 8 rebuild rule)

    /// Applies the worked example split into runs at `cuts` (message indexes), persisting the
    /// store as JSON between runs as the pipeline does.
    static func incremental(_ messages: [Record], cuts: [Int]) throws -> IndicatorFixtures.MiniStore {
        var store = IndicatorFixtures.MiniStore()
        var start = 0
        for end in cuts + [messages.count] {
            for r in messages[start..<end] { store.apply(r) }
            store = try JSONDecoder().decode(IndicatorFixtures.MiniStore.self, from: JSONEncoder().encode(store))
            start = end
        }
        return store
    }

    /// Interleaves partitions (counties) in another order while keeping each one's own order.
    static func interleaved(_ order: [String]) -> [Record] {
        var queues = order.map { F.workedExampleByCounty[$0]! }
        var out: [Record] = []
        while queues.contains(where: { !$0.isEmpty }) {
            for i in queues.indices where !queues[i].isEmpty { out.append(queues[i].removeFirst()) }
        }
        return out
    }

    @Test(arguments: [[], [1], [5, 6, 7], [3, 12, 13, 20], Array(1..<26)])
    func splitsGiveEqualBooksAndIdenticalCSV(cuts: [Int]) throws {
        let messages = F.workedExampleInOrder
        let rebuilt = F.workedExampleStore()
        let store = try Self.incremental(messages, cuts: cuts.filter { $0 < messages.count })
        #expect(store.book == rebuilt.book)
        #expect(
            CSVWriter.indicators(computeIndicators(book: store.book, registry: F.smallRegistry))
                == IndicatorsTests.expectedIndicators)
        #expect(
            CSVWriter.completeness(computeCompleteness(book: store.book, registry: F.smallRegistry))
                == IndicatorsTests.expectedCompleteness)
    }

    @Test(arguments: [
        ["KM-HTZ", "530181", "530113", "530103", "530102"],
        ["530103", "530102", "KM-HTZ", "530113", "530181"],
    ])
    func partitionInterleavingDoesNotMatter(order: [String]) {
        var store = IndicatorFixtures.MiniStore()
        for r in Self.interleaved(order) { store.apply(r) }
        #expect(store.book == F.workedExampleStore().book)
        #expect(
            CSVWriter.indicators(computeIndicators(book: store.book, registry: F.smallRegistry))
                == IndicatorsTests.expectedIndicators)
    }

    @Test func replayingEverythingChangesNothing() {
        var store = F.workedExampleStore()
        let before = store
        var outcomes: [RevisionOutcome] = []
        for r in F.workedExampleInOrder { outcomes.append(store.apply(r)) }
        #expect(store == before)
        #expect(!outcomes.contains(.applied))
    }

    @Test func removingWhatWasNeverAddedIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) {
            var book = AggregateBook()
            book.remove(
                Record(
                    county: "530102", revision: 1, submittedAt: "x",
                    body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: 1)))))
        }
    }

    @Test func twoActiveProfilesForOneCountyYearIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) {
            var book = AggregateBook()
            let p = Record(
                county: "530102", revision: 1, submittedAt: "x", body: .countyProfile(CountyProfile(year: 2024)))
            book.add(p)
            book.add(p)
        }
    }
}
