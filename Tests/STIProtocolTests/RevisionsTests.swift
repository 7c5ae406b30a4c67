import Testing

@testable import STIProtocol

@Suite struct RevisionsTests {
    typealias F = IndicatorFixtures

    static func explained(_ record: Record, _ text: String) -> Record {
        var copy = record
        copy.explanation = text
        return copy
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var current: Record?
        var incoming: Record
        var expected: RevisionOutcome
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "no current record", current: nil,
            incoming: F.rd("530102", 2024, .medical, "1"), expected: .applied),
        Case(
            name: "higher revision", current: F.rd("530102", 2024, .medical, "1"),
            incoming: F.rd("530102", 2024, .medical, "2", rev: 2), expected: .applied),
        Case(
            name: "much higher revision with equal values", current: F.rd("530102", 2024, .medical, "1"),
            incoming: F.rd("530102", 2024, .medical, "1", rev: 1_000_000), expected: .applied),
        Case(
            name: "100.5 equals 100.50, submitted_at aside",
            current: F.rd("530102", 2024, .medical, "100.5", submittedAt: "2026-01-15T09:30:00+08:00"),
            incoming: F.rd("530102", 2024, .medical, "100.50", submittedAt: "2026-03-01T00:00:00Z"),
            expected: .duplicate),
        Case(
            name: "contract amounts 1000 vs 1000.0000",
            current: F.contract("530102", "A-1", 2024, 1, 2, value: "1000", transaction: "0", buyer: "VN"),
            incoming: F.contract("530102", "A-1", 2024, 1, 2, value: "1000.0000", transaction: "0.0", buyer: "VN"),
            expected: .duplicate),
        Case(
            name: "absent status equals active",
            current: Record(
                county: "530102", revision: 3, submittedAt: F.at,
                body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: 5)))),
            incoming: Record(
                county: "530102", revision: 3, status: .active, submittedAt: F.at,
                body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: 5)))),
            expected: .duplicate),
        // Section 5: `explanation`, like `submitted_at`, is left out of the comparison.
        Case(
            name: "same values, the incoming one with an explanation",
            current: F.rd("530102", 2024, .medical, "100.5"),
            incoming: explained(
                F.rd("530102", 2024, .medical, "100.50", submittedAt: "2026-03-01T00:00:00Z"), "新建研发中心投产"),
            expected: .duplicate),
        Case(
            name: "same values, the current one with an explanation",
            current: explained(F.rd("530102", 2024, .medical, "1"), "新建研发中心投产"),
            incoming: F.rd("530102", 2024, .medical, "1"), expected: .duplicate),
        Case(
            name: "same values, other explanations",
            current: explained(
                F.contract("530102", "A-1", 2024, 1, 2, value: "20000", transaction: "0", buyer: "VN"), "a"),
            incoming: explained(
                F.contract("530102", "A-1", 2024, 1, 2, value: "20000", transaction: "0", buyer: "VN"), "b"),
            expected: .duplicate),
        Case(
            name: "an explanation does not excuse other values",
            current: F.rd("530102", 2024, .medical, "100.5"),
            incoming: explained(F.rd("530102", 2024, .medical, "201"), "新建研发中心投产"),
            expected: .conflict(currentRevision: 1)),
        Case(
            name: "lower revision", current: F.rd("530102", 2024, .medical, "1", rev: 5),
            incoming: F.rd("530102", 2024, .medical, "1", rev: 4), expected: .stale(currentRevision: 5)),
        Case(
            name: "same revision, other amount", current: F.rd("530102", 2024, .medical, "100.5"),
            incoming: F.rd("530102", 2024, .medical, "100.51"), expected: .conflict(currentRevision: 1)),
        Case(
            name: "same revision, other status", current: F.rd("530102", 2024, .medical, "1", rev: 2),
            incoming: F.rd("530102", 2024, .medical, "1", rev: 2, status: .withdrawn),
            expected: .conflict(currentRevision: 2)),
        Case(
            name: "same revision, other buyer",
            current: F.contract("530102", "A-1", 2024, 1, 2, value: "1", transaction: "0", buyer: "VN"),
            incoming: F.contract("530102", "A-1", 2024, 1, 2, value: "1", transaction: "0", buyer: "TH"),
            expected: .conflict(currentRevision: 1)),
        Case(
            name: "same revision, other registration date in the same year",
            current: F.contract("530102", "A-1", 2024, 1, 2, value: "1", transaction: "0", buyer: "VN"),
            incoming: F.contract("530102", "A-1", 2024, 1, 3, value: "1", transaction: "0", buyer: "VN"),
            expected: .conflict(currentRevision: 1)),
        Case(
            name: "same revision, a profile figure left out",
            current: F.profile("530102", 2024, gdp: "10", highTech: 3),
            incoming: F.profile("530102", 2024, gdp: "10"), expected: .conflict(currentRevision: 1)),
        Case(
            name: "withdrawn current, same withdrawal again",
            current: F.rd("530102", 2024, .medical, "1", rev: 2, status: .withdrawn),
            incoming: F.rd(
                "530102", 2024, .medical, "1", rev: 2, status: .withdrawn, submittedAt: "2027-01-01T00:00:00Z"),
            expected: .duplicate),
        Case(
            name: "withdrawn current, older active revision",
            current: F.rd("530102", 2024, .medical, "1", rev: 2, status: .withdrawn),
            incoming: F.rd("530102", 2024, .medical, "1", rev: 1), expected: .stale(currentRevision: 2)),
        Case(
            name: "withdrawn current, later revision revives",
            current: F.rd("530102", 2024, .medical, "1", rev: 2, status: .withdrawn),
            incoming: F.rd("530102", 2024, .medical, "3", rev: 3), expected: .applied),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) {
        #expect(decideRevision(current: c.current, incoming: c.incoming) == c.expected)
    }

    @Test func errorCodes() {
        #expect(RevisionOutcome.applied.errorCode == nil)
        #expect(RevisionOutcome.duplicate.errorCode == nil)
        #expect(RevisionOutcome.stale(currentRevision: 2).errorCode == .staleRevision)
        #expect(RevisionOutcome.conflict(currentRevision: 2).errorCode == .revisionConflict)
    }

    @Test func withdrawnThenRevivedThroughTheBook() {
        var store = IndicatorFixtures.MiniStore()
        #expect(store.apply(F.rd("530102", 2024, .medical, "100")) == .applied)
        #expect(store.book[year: 2024, geo: "530102"]?.rdExpenditureYuan == 1_000_000)
        #expect(store.apply(F.rd("530102", 2024, .medical, "100", rev: 2, status: .withdrawn)) == .applied)
        let withdrawn = store.book[year: 2024, geo: "530102"]
        #expect(withdrawn?.activeRD == 0)
        #expect(withdrawn?.rdExpenditureYuan == 0)
        #expect(withdrawn?.currentRecords == 1)  // the year still exists
        #expect(store.apply(F.rd("530102", 2024, .medical, "999", rev: 1)) == .stale(currentRevision: 2))
        #expect(store.apply(F.rd("530102", 2024, .medical, "250.5", rev: 3)) == .applied)
        #expect(store.book[year: 2024, geo: "530102"]?.rdExpenditureYuan == 2_505_000)
        #expect(store.book[year: 2024, geo: "530102"]?.activeRD == 1)
    }

    @Test func mismatchedIdentityIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) {
            let a = Record(
                county: "530102", revision: 1, submittedAt: "x",
                body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: 1))))
            let b = Record(
                county: "530103", revision: 1, submittedAt: "x",
                body: .rd(RDExpenditure(year: 2024, performer: .other, expenditure: ExactAmount(scaled: 1))))
            _ = decideRevision(current: a, incoming: b)
        }
    }
}
