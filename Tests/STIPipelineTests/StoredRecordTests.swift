import STIProtocol
import Testing

@testable import STIPipeline

/// The state store's binary record form: exact round trips, the JSON bodies of older state
/// files, and a refusal (never a crash or a wrong record) for every damaged body.
@Suite struct StoredRecordTests {
    // The records of RecordJSONTests (STIProtocolTests), again: the stored form is the state's.
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
    // ExplanationFieldTests' record with an explanation (section 3, version 2).
    static let explained = Record(
        county: "530102", revision: 2, submittedAt: "2026-01-15T09:30:00+08:00",
        explanation: "新建研发中心投产, \"quoted\"\t", body: rd.body)

    static let records: [Record] = [
        Self.rd, Self.contract, Self.profile, Self.sparse,
        // Every profile figure, large and negative values, a withdrawn record, non-ASCII text.
        Record(
            county: "530129", revision: 1_000_000, status: .withdrawn, submittedAt: "2026-01-15T09:30:00+08:00",
            body: .countyProfile(
                CountyProfile(
                    year: 2000, gdp: ExactAmount(scaled: 1_000_000_000_000), residentPopulation: ExactAmount(scaled: 1),
                    highTechEnterprises: 1_000_000, inventionPatentsHeld: 100_000_000,
                    industrialOutput: ExactAmount(scaled: Int64.max),
                    highTechIndustrialOutput: ExactAmount(scaled: Int64.min)))),
        Record(
            county: "昆明\"\\\n", revision: 7, submittedAt: "",
            body: .techContract(
                TechContract(
                    contractNo: "", registeredOn: CalendarDate(year: 2025, month: 12, day: 31), contractType: .service,
                    domain: .other,
                    contractValue: ExactAmount(scaled: 100_000_000_000_000),
                    techTransactionValue: ExactAmount(scaled: -1), buyerCountry: "泰国"))),
    ]

    @Test(arguments: records)
    func roundTripsExactly(_ record: Record) throws {
        let bytes = StoredRecord.encode(record)
        #expect(bytes.first == StoredRecord.formatTag)
        #expect(try StoredRecord.decode(bytes).get() == record)
        var appended: [UInt8] = [9, 9]
        StoredRecord.append(record, to: &appended)
        #expect(Array(appended.dropFirst(2)) == bytes, "append adds exactly the encoding")
    }

    /// Canonical JSON bodies (state files older than the binary form, never shipped) are no
    /// longer read: the body is refused with the format tag named, as any unknown one is.
    @Test(arguments: records)
    func refusesJSONBodies(_ record: Record) {
        guard case .failure(let error) = StoredRecord.decode(Array(record.canonicalJSON.utf8)) else {
            Issue.record("a JSON body was read")
            return
        }
        #expect(error.description == "unknown format tag 123")
    }

    @Test func aContractIsAFractionOfItsJSON() {
        let contract = Record(
            county: "530102", revision: 1, submittedAt: "2026-01-05T08:00:00+08:00",
            body: .techContract(
                TechContract(
                    contractNo: "LT2024-530102-0000001", registeredOn: CalendarDate(year: 2024, month: 3, day: 15),
                    contractType: .development,
                    domain: .electronicInformation, contractValue: ExactAmount(scaled: 1_255_000),
                    techTransactionValue: ExactAmount(whole: 100),
                    buyerCountry: "CN")))
        let binary = StoredRecord.encode(contract).count
        #expect(binary < 80)
        #expect(binary * 4 < contract.canonicalJSON.utf8.count)
    }

    /// Stored bytes name enumerations by index: the tables must hold every case once, so that
    /// a new case or a reordered Swift enum cannot silently change what stored bytes mean.
    @Test func enumerationTablesHoldEveryCaseOnce() {
        #expect(
            Set(StoredRecord.kinds) == Set(RecordKind.allCases) && StoredRecord.kinds.count == RecordKind.allCases.count
        )
        #expect(StoredRecord.statuses == [.active, .withdrawn])
        #expect(
            Set(StoredRecord.performers) == Set(Performer.allCases)
                && StoredRecord.performers.count == Performer.allCases.count)
        #expect(
            Set(StoredRecord.contractTypes) == Set(ContractType.allCases)
                && StoredRecord.contractTypes.count == ContractType.allCases.count)
        #expect(
            Set(StoredRecord.domains) == Set(TechDomain.allCases)
                && StoredRecord.domains.count == TechDomain.allCases.count)
        // The first stored meanings, pinned: changing them would misread existing state files.
        #expect(StoredRecord.kinds == [.rd, .techContract, .countyProfile])
        #expect(
            StoredRecord.performers.first == .enterpriseAboveScale
                && StoredRecord.domains.first == .electronicInformation)
    }

    @Test(arguments: records)
    func everyTruncationIsRefused(_ record: Record) {
        let bytes = StoredRecord.encode(record)
        for length in 0..<bytes.count {
            #expect(throws: StoredRecord.DecodingError.self, "truncated to \(length) bytes") {
                try StoredRecord.decode(Array(bytes.prefix(length))).get()
            }
        }
    }

    static let damaged: [(String, [UInt8], String)] = {
        let rd = StoredRecord.encode(Self.rd)
        let contract = StoredRecord.encode(Self.contract)
        let profile = StoredRecord.encode(Self.sparse)
        func with(_ bytes: [UInt8], _ index: Int, _ value: UInt8) -> [UInt8] {
            var b = bytes
            b[index] = value
            return b
        }
        // The R&D body ends with the performer and a three-byte expenditure. Offsets in the
        // contract: tag, kind, status, revision, county (1 + 6), submitted_at
        // (1 + 20), contract_no (1 + 11), year (2), then month and day.
        let monthAt = 3 + 1 + 7 + 21 + 12 + 2
        return [
            ("empty", [], "empty body"),
            ("unknown tag", with(rd, 0, 0x03), "unknown format tag 3"),
            ("unknown kind", with(rd, 1, 3), "malformed"),
            ("unknown status", with(rd, 2, 2), "malformed"),
            ("trailing byte", rd + [0], "1 byte(s) after the record"),
            ("county not UTF-8", with(rd, 5, 0xFF), "malformed"),
            ("county longer than the body", with(rd, 4, 0x7F), "malformed"),
            ("unknown performer", with(rd, rd.count - 4, 6), "malformed"),
            ("month 13", with(contract, monthAt, 13), "malformed"),
            ("day 0", with(contract, monthAt + 1, 0), "malformed"),
            ("unknown contract type", with(contract, monthAt + 2, 4), "malformed"),
            ("unknown domain", with(contract, monthAt + 3, 8), "malformed"),
            ("unknown profile figure", with(profile, profile.count - 1, 0x40), "malformed"),
            (
                "varint longer than 64 bits",
                [StoredRecord.formatTag, 0, 0] + [UInt8](repeating: 0xFF, count: 9) + [0x02], "malformed"
            ),
            ("varint without end", [StoredRecord.formatTag, 0, 0, 0x80, 0x80], "malformed"),
            ("JSON, no longer read", Array(#"{"schema":"sti.rd/1"}"#.utf8), "unknown format tag 123"),
        ]
    }()

    @Test(arguments: damaged)
    func aDamagedBodyIsRefusedWithItsReason(_ name: String, _ bytes: [UInt8], _ reason: String) {
        switch StoredRecord.decode(bytes) {
        case .success(let record): Issue.record("\(name): decoded as \(record)")
        case .failure(let error): #expect(error.description.contains(reason), "\(name): \(error)")
        }
    }

    static let storedRecords: [Record] = [
        explained,
        Record(
            county: "530129", revision: 3, submittedAt: "", explanation: String(repeating: "😀", count: 2000),
            body: StoredRecordTests.profile.body),
        Record(
            county: "530102", revision: 1, status: .withdrawn, submittedAt: "x", explanation: "x",
            body: StoredRecordTests.contract.body),
    ]

    @Test(arguments: storedRecords)
    func storedRecordsWithAnExplanationRoundTrip(_ record: Record) throws {
        let bytes = StoredRecord.encode(record)
        #expect(bytes.first == StoredRecord.formatTagWithExplanation)
        #expect(try StoredRecord.decode(bytes).get() == record)
        for length in 0..<bytes.count {
            #expect(throws: StoredRecord.DecodingError.self, "truncated to \(length) bytes") {
                try StoredRecord.decode(Array(bytes.prefix(length))).get()
            }
        }
    }

    /// A record without an explanation is stored exactly as before version 2 (tag 1), so a state
    /// file written by an older build reads back, and an older build reads what this one writes
    /// for such records.
    @Test func aRecordWithoutAnExplanationIsStoredAsBefore() throws {
        var plain = StoredRecordTests.explained
        plain.explanation = nil
        let bytes = StoredRecord.encode(plain)
        // The pre-version-2 layout, written out: tag, kind rd, active, revision 2, county,
        // submitted_at, year 2025 (zigzag varint 4050), performer research_institute (2),
        // expenditure 1,005,000 (zigzag 2,010,000).
        let expected: [UInt8] =
            [0x01, 0, 0, 2, 6] + Array("530102".utf8) + [25] + Array("2026-01-15T09:30:00+08:00".utf8)
            + [0xD2, 0x1F, 2, 0x90, 0xD7, 0x7A]
        #expect(bytes == expected)
        #expect(try StoredRecord.decode(expected).get() == plain)
        // Tag 2 with the same bytes after it misreads nothing: the explanation string is missing.
        var asTwo = expected
        asTwo[0] = StoredRecord.formatTagWithExplanation
        #expect(throws: StoredRecord.DecodingError.self) { try StoredRecord.decode(asTwo).get() }
    }
}
