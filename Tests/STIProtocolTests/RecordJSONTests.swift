import Testing

@testable import STIProtocol

@Suite struct RecordJSONTests {
    static let rd = Record(
        county: "530102", revision: 3, submittedAt: "2026-01-15T09:30:00+08:00",
        body: .rd(RDExpenditure(year: 2025, performer: .researchInstitute, expenditure: ExactAmount(scaled: 1_005_000)))
    )
    static let contract = Record(
        county: "KM-HTZ", revision: 1, status: .withdrawn, submittedAt: "2026-01-15T01:30:00Z",
        body: .techContract(
            TechContract(
                contractNo: "HT/2026-001", registeredOn: CalendarDate(year: 2026, month: 1, day: 9),
                contractType: .transfer, domain: .newEnergy,
                contractValue: ExactAmount(whole: 3000), techTransactionValue: ExactAmount(scaled: 1),
                buyerCountry: "VN")))
    static let profile = Record(
        county: "530181", revision: 2, submittedAt: "2026-01-15T09:30:00.5+08:00",
        body: .countyProfile(
            CountyProfile(
                year: 2024, gdp: ExactAmount(scaled: 12_345_670), residentPopulation: nil,
                highTechEnterprises: 0, inventionPatentsHeld: nil,
                industrialOutput: ExactAmount(whole: 100_000_000), highTechIndustrialOutput: ExactAmount(scaled: 0))))
    static let sparse = Record(
        county: "530102", revision: 1, submittedAt: "2026-01-15T09:30:00+08:00",
        body: .countyProfile(CountyProfile(year: 2025)))

    @Test(arguments: [
        (
            rd,
            #"{"schema":"sti.rd/1","county":"530102","revision":3,"status":"active","submitted_at":"2026-01-15T09:30:00+08:00","year":2025,"performer":"research_institute","expenditure_10k_cny":100.5}"#
        ),
        (
            contract,
            #"{"schema":"sti.tech-contract/1","county":"KM-HTZ","revision":1,"status":"withdrawn","submitted_at":"2026-01-15T01:30:00Z","contract_no":"HT/2026-001","registered_on":"2026-01-09","contract_type":"transfer","domain":"new_energy","contract_value_10k_cny":3000,"tech_transaction_value_10k_cny":0.0001,"buyer_country":"VN"}"#
        ),
        (
            profile,
            #"{"schema":"sti.county-profile/1","county":"530181","revision":2,"status":"active","submitted_at":"2026-01-15T09:30:00.5+08:00","year":2024,"gdp_100m_cny":1234.567,"high_tech_enterprises":0,"industrial_output_100m_cny":100000000,"high_tech_industrial_output_100m_cny":0}"#
        ),
        (
            sparse,
            #"{"schema":"sti.county-profile/1","county":"530102","revision":1,"status":"active","submitted_at":"2026-01-15T09:30:00+08:00","year":2025}"#
        ),
    ])
    func encodesCanonically(_ record: Record, expected: String) {
        #expect(record.canonicalJSON == expected)
    }

    @Test(arguments: [rd, contract, profile, sparse])
    func roundTripsThroughTheValidator(_ record: Record) throws {
        let json = Array(record.canonicalJSON.utf8)
        #expect(try ValidatorCheck.run(json, topic: record.kind, key: record.county).get() == record)
    }

    @Test func submittedAtCanBeReplaced() {
        #expect(
            RecordJSON.encode(Self.rd, submittedAt: "2026-03-01T00:00:00Z").contains(
                #""submitted_at":"2026-03-01T00:00:00Z""#))
    }

    @Test func valuesKeyIgnoresSubmittedAtOnly() {
        var later = Self.rd
        later.submittedAt = "2026-02-01T00:00:00Z"
        #expect(later.canonicalValuesKey == Self.rd.canonicalValuesKey)
        #expect(!Self.rd.canonicalValuesKey.contains("submitted_at"))
        var other = Self.rd
        other.body = .rd(
            RDExpenditure(year: 2025, performer: .researchInstitute, expenditure: ExactAmount(scaled: 1_005_001)))
        #expect(other.canonicalValuesKey != Self.rd.canonicalValuesKey)
        var withdrawn = Self.rd
        withdrawn.status = .withdrawn
        #expect(withdrawn.canonicalValuesKey != Self.rd.canonicalValuesKey)
        var revised = Self.rd
        revised.revision = 4
        #expect(revised.canonicalValuesKey != Self.rd.canonicalValuesKey)
    }

    @Test func valuesKeyNormalisesNumbersAndDefaults() throws {
        let base = SampleMessage.rd.with("expenditure_10k_cny", "100.5")
        let spellings = [
            base, base.with("expenditure_10k_cny", "100.50"), base.with("expenditure_10k_cny", "100.5000"),
            base.with("status", "\"active\""), base.with("status", "null"),
            base.with("submitted_at", "\"2026-03-01T00:00:00Z\""),
            SampleMessage(members: base.members.reversed()),
        ]
        let keys = try spellings.map { try ValidatorCheck.run($0).get().canonicalValuesKey }
        #expect(Set(keys).count == 1)
    }

    @Test func escapesStringsItDidNotValidate() throws {
        let odd = Record(
            county: "a\"b\\c\n\u{1}é", revision: 1, submittedAt: "2026-01-15T09:30:00+08:00",
            body: .rd(RDExpenditure(year: 2025, performer: .other, expenditure: ExactAmount(scaled: 5))))
        #expect(odd.canonicalJSON.contains(#""county":"a\"b\\c\n\u0001é""#))
        // The strict parser (the validator's rules of section 6) reads the county back unchanged.
        let parsed = try Array(odd.canonicalJSON.utf8).withUnsafeBytes { try JSONValue.parseObject($0) }
        guard case .string(let county)? = parsed["county"] else {
            Issue.record("no county in \(odd.canonicalJSON)")
            return
        }
        #expect(county == odd.county)
    }
}
