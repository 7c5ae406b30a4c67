// The load feeds: every line one protocol message, keyed lines the same message behind its
// key, exactly the announced invalid messages each breaking the one rule announced, no
// duplicate or stale revision among the valid ones, same seed same bytes; and the generator's
// building blocks (PRNG, calendar, JSON and CSV emitters) on known values.

import Foundation
import STIProtocol
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

@Suite struct FeedGeneratorTests {
    struct Line {
        var kind: RecordKind
        var key: String
        var text: String
        var fields: [String: WireValue]
    }

    static func readJSONL(_ dir: URL, _ summary: FeedGenerator.LoadSummary) throws -> [Line] {
        var lines: [Line] = []
        for topic in summary.topics {
            let values = try String(contentsOf: dir.appendingPathComponent("\(topic.topic).jsonl"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            let keyed = try String(contentsOf: dir.appendingPathComponent("\(topic.topic).keyed"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            #expect(values.last == "" && keyed.last == "", "\(topic.topic): files end with a newline")
            #expect(
                values.count == topic.messages + 1 && keyed.count == topic.messages + 1, "\(topic.topic) line count")
            for (value, keyedLine) in zip(values.dropLast(), keyed.dropLast()) {
                let parts = keyedLine.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                #expect(parts.count == 2 && parts[1] == value, "keyed line carries the same value: \(keyedLine)")
                let object = try JSONSerialization.jsonObject(with: Data(value.utf8))
                #expect(object is [String: Any], "one JSON object: \(value)")
                let pairs = try FlatJSON.parse(String(value))
                #expect(Set(pairs.map(\.0)).count == pairs.count, "no duplicate key: \(value)")
                let fields = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
                #expect(fields["county"].map(ProtocolRules.text) == String(parts[0]), "key = county: \(keyedLine)")
                lines.append(Line(kind: topic.kind, key: String(parts[0]), text: String(value), fields: fields))
            }
        }
        return lines
    }

    @Test func jsonlFeedHoldsExactlyTheAnnouncedMistakes() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-jsonl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let messages = 12_000
        let summary = try FeedGenerator(seed: 7).writeLoad(
            to: dir, messages: messages, invalidFraction: 0.01, format: .jsonl)
        let lines = try Self.readJSONL(dir, summary)

        #expect(lines.count == messages)
        #expect(summary.invalid == 120)
        #expect(summary.topics.map(\.topic) == ["sti.rd", "sti.tech-contracts", "sti.county-profiles"])
        var byCode: [ErrorCode: Int] = [:]
        var invalidPerKind: [RecordKind: Int] = [:]
        for line in lines {
            let codes = ProtocolRules.check(kind: line.kind, line.fields)
            #expect(codes.count <= 1, "one broken rule at most: \(codes) in \(line.text)")
            if let code = codes.first {
                byCode[code, default: 0] += 1
                invalidPerKind[line.kind, default: 0] += 1
            }
            #expect(line.text.utf8.count <= 65_536)
        }
        #expect(byCode == summary.invalidByCode)
        for topic in summary.topics {
            #expect(invalidPerKind[topic.kind, default: 0] == topic.invalid, "\(topic.topic)")
        }
        // A realistic mix: mostly contracts, and every kind of mistake present.
        let contracts = lines.filter { $0.kind == .techContract }.count
        #expect(contracts > messages * 85 / 100 && contracts < messages * 95 / 100)
        #expect(lines.contains { $0.kind == .rd } && lines.contains { $0.kind == .countyProfile })
        #expect(
            Set(byCode.keys) == [
                .range, .period, .fieldUnknown, .type, .inconsistent, .precision, .enumeration, .county,
            ])
    }

    /// Valid messages must all be accepted: no identity repeats a revision, revisions only grow
    /// in file order (which is partition order: the key is the county), contract numbers unique.
    @Test func validMessagesAreNeitherDuplicatesNorStale() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-revisions")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 11).writeLoad(to: dir, messages: 8_000, invalidFraction: 0.02)
        var lastRevision: [String: Int] = [:]
        var repeated = 0
        for line in try Self.readJSONL(dir, summary) where ProtocolRules.check(kind: line.kind, line.fields).isEmpty {
            let id = ProtocolRules.identity(kind: line.kind, line.fields)
            let revision = Int(ProtocolRules.text(line.fields["revision"]!))!
            if let last = lastRevision[id] {
                repeated += 1
                #expect(revision > last, "\(id): revision \(revision) after \(last)")
            }
            lastRevision[id] = revision
        }
        #expect(repeated > 0, "R&D and profile identities do recur, with growing revisions")
        #expect(!lastRevision.keys.contains { $0.hasPrefix("tech-contract|") && lastRevision[$0] != 1 })
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = try FeedTestRepo.temporaryDirectory("load-a")
        let b = try FeedTestRepo.temporaryDirectory("load-b")
        let c = try FeedTestRepo.temporaryDirectory("load-c")
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(at: d) } }
        try FeedGenerator(seed: 3).writeLoad(to: a, messages: 3_000)
        try FeedGenerator(seed: 3).writeLoad(to: b, messages: 3_000)
        try FeedGenerator(seed: 4).writeLoad(to: c, messages: 3_000)
        for name in ["sti.rd.jsonl", "sti.tech-contracts.keyed", "sti.county-profiles.jsonl", "load-summary.json"] {
            #expect(
                try Data(contentsOf: a.appendingPathComponent(name))
                    == Data(contentsOf: b.appendingPathComponent(name)), "\(name)")
        }
        #expect(
            try Data(contentsOf: a.appendingPathComponent("sti.tech-contracts.jsonl"))
                != Data(contentsOf: c.appendingPathComponent("sti.tech-contracts.jsonl")))
    }

    @Test func csvFeedCarriesOnlyMistakesACellCanHold() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 5).writeLoad(
            to: dir, messages: 6_000, invalidFraction: 0.05, format: .csv)
        #expect(summary.topics.map(\.files) == [["rd.csv"], ["tech-contracts.csv"], ["county-profiles.csv"]])
        var byCode: [ErrorCode: Int] = [:]
        var total = 0
        for topic in summary.topics {
            let (header, rows) = try SimpleCSV.parse(
                String(contentsOf: dir.appendingPathComponent(topic.files[0]), encoding: .utf8))
            #expect(header == FeedRow.csvColumns(topic.kind))
            #expect(rows.count == topic.messages)
            for row in SimpleCSV.wireRows(kind: topic.kind, header: header, rows: rows) {
                let codes = ProtocolRules.check(kind: topic.kind, row, fromCSV: true)
                #expect(codes.count <= 1, "\(codes) in \(row)")
                if let code = codes.first { byCode[code, default: 0] += 1 }
            }
            total += rows.count
        }
        #expect(total == 6_000)
        #expect(summary.invalid == 300)
        #expect(byCode == summary.invalidByCode)
        #expect(byCode[.type] == nil && byCode[.fieldUnknown] == nil)
    }

    @Test(arguments: [(0.0, 0), (1.0, 500), (0.25, 125)])
    func invalidFractionIsExact(fraction: Double, expected: Int) throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-fraction")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 9).writeLoad(to: dir, messages: 500, invalidFraction: fraction)
        #expect(summary.invalid == expected)
        let invalid = try Self.readJSONL(dir, summary).filter { !ProtocolRules.check(kind: $0.kind, $0.fields).isEmpty }
        #expect(invalid.count == expected)
    }

    @Test func zeroMessagesWritesEmptyFilesAndASummary() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator().writeLoad(to: dir.appendingPathComponent("nested/feed"), messages: 0)
        #expect(summary.messages == 0 && summary.invalid == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("nested/feed").path)
        #expect(files.count == 7)
        #expect(try Data(contentsOf: dir.appendingPathComponent("nested/feed/sti.rd.jsonl")).isEmpty)
    }

    @Test func summaryFileMatchesTheSummary() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-summary")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 21).writeLoad(to: dir, messages: 2_000, invalidFraction: 0.03)
        let data = try Data(contentsOf: dir.appendingPathComponent(FeedGenerator.LoadSummary.fileName))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["messages"] as? Int == 2_000)
        #expect(object["invalid"] as? Int == 60)
        #expect(object["valid"] as? Int == 1_940)
        #expect(object["seed"] as? Int == 21)
        let byCode = try #require(object["invalid_by_code"] as? [String: Int])
        #expect(byCode == Dictionary(uniqueKeysWithValues: summary.invalidByCode.map { ($0.key.rawValue, $0.value) }))
        let topics = try #require(object["topics"] as? [[String: Any]])
        #expect(topics.compactMap { $0["messages"] as? Int } == summary.topics.map(\.messages))
    }

    @Test(arguments: [(-1, 0.01), (10, -0.1), (10, 1.5), (10, Double.nan), (10, Double.infinity)])
    func badArgumentsAreRefused(messages: Int, fraction: Double) throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: FeedGeneratorError.self) {
            try FeedGenerator().writeLoad(to: dir, messages: messages, invalidFraction: fraction)
        }
        #expect(error?.code == .badArgument)
    }

    @Test func writeLoadReportsADirectoryItCannotCreate() throws {
        let dir = try FeedTestRepo.temporaryDirectory("load-blocked")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let error = #expect(throws: FeedGeneratorError.self) {
            try FeedGenerator().writeLoad(to: file.appendingPathComponent("feed"), messages: 10)
        }
        #expect(error?.description.contains("cannot create directory") == true)
        #expect(error?.code == .cannotWrite)
    }

    @Test func writerReportsAFileItCannotCreate() throws {
        let dir = try FeedTestRepo.temporaryDirectory("writer-blocked")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A directory where the file should go: creating the file fails even for root.
        let url = dir.appendingPathComponent("sti.rd.jsonl")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        #expect(throws: FeedGeneratorError.self) { try FeedFileWriter(url: url) }
        #expect(throws: FeedGeneratorError.self) { try FeedGenerator().writeLoad(to: dir, messages: 1) }
    }

    // MARK: building blocks

    @Test func splitMix64MatchesItsReferenceSequence() {
        // The published first outputs of SplitMix64 from state 0.
        var rng = FeedRandom(state: 0)
        #expect(rng.next() == 0xe220_a839_7b1d_cdaf)
        #expect(rng.next() == 0x6e78_9e6a_a1b9_65f4)
        #expect(rng.next() == 0x06c4_5d18_8009_454f)
    }

    @Test func boundedDrawsStayInRangeAndCoverIt() {
        var rng = FeedRandom(seed: 42, stream: "test")
        var seen = Set<Int64>()
        for _ in 0..<2_000 {
            let v = rng.int(in: Int64(-3)...Int64(3))
            #expect((-3...3).contains(v))
            seen.insert(v)
        }
        #expect(seen.count == 7)
        var a = FeedRandom(seed: 42, stream: "x")
        var b = FeedRandom(seed: 42, stream: "y")
        #expect(a.next() != b.next(), "streams are independent")
    }

    @Test(arguments: [
        (CalendarDate(year: 1970, month: 1, day: 1), 0),
        (CalendarDate(year: 2000, month: 2, day: 29), 11_016),
        (CalendarDate(year: 2024, month: 12, day: 31), 20_088),
        (CalendarDate(year: 2026, month: 1, day: 5), 20_458),
    ])
    func calendarRoundTrips(date: CalendarDate, days: Int) {
        #expect(FeedCalendar.dayNumber(date) == days)
        #expect(FeedCalendar.date(dayNumber: days) == date)
    }

    @Test func timestampsAreRFC3339WithOffset() {
        let base = FeedCalendar.dayNumber(CalendarDate(year: 2026, month: 1, day: 5)) * 86_400
        #expect(FeedCalendar.timestampUTC8(seconds: base + 8 * 3600) == "2026-01-05T08:00:00+08:00")
        #expect(FeedCalendar.timestampUTC8(seconds: base + 86_399) == "2026-01-05T23:59:59+08:00")
        #expect(FeedCalendar.timestampUTC8(seconds: base + 86_400 + 61) == "2026-01-06T00:01:01+08:00")
    }

    @Test func jsonEmitterEscapesAndKeepsFieldOrder() throws {
        var row = FeedRow()
        row.append("a", .string("quote \" back \\ tab \t nl \n bell \u{7} 中"))
        row.append("n", .number("12.5"))
        let json = row.json
        #expect(json == #"{"a":"quote \" back \\ tab \t nl \n bell \u0007 中","n":12.5}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["a"] as? String == "quote \" back \\ tab \t nl \n bell \u{7} 中")
    }

    @Test func recordsBecomeProtocolJSON() {
        let record = Record(
            county: "530102", revision: 2, status: .withdrawn, submittedAt: "2026-01-15T09:30:00+08:00",
            body: .techContract(
                TechContract(
                    contractNo: "HT-001", registeredOn: CalendarDate(year: 2025, month: 3, day: 9),
                    contractType: .development, domain: .biomedicine,
                    contractValue: ExactAmount(scaled: 1_005_000), techTransactionValue: ExactAmount(scaled: 1_000_001),
                    buyerCountry: "LA")))
        #expect(
            FeedRow(record: record).json
                == #"{"schema":"sti.tech-contract/1","county":"530102","revision":2,"status":"withdrawn","submitted_at":"2026-01-15T09:30:00+08:00","contract_no":"HT-001","registered_on":"2025-03-09","contract_type":"development","domain":"biomedicine","contract_value_10k_cny":100.5,"tech_transaction_value_10k_cny":100.0001,"buyer_country":"LA"}"#
        )
        let profile = Record(
            county: "KM-HTZ", revision: 1, submittedAt: "",
            body: .countyProfile(
                CountyProfile(year: 2024, gdp: ExactAmount(scaled: 7_250_400), highTechEnterprises: 411)))
        #expect(
            FeedRow(record: profile).json
                == #"{"schema":"sti.county-profile/1","county":"KM-HTZ","revision":1,"year":2024,"gdp_100m_cny":725.04,"high_tech_enterprises":411}"#
        )
    }

    @Test func csvCellsAreQuotedOnlyWhenNeeded() {
        var row = FeedRow()
        row.append("a", .string("plain"))
        row.append("b", .string("has,comma"))
        row.append("c", .string("has \"quote\""))
        var out: [UInt8] = []
        row.appendCSV(columns: ["a", "b", "c", "missing"], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "plain,\"has,comma\",\"has \"\"quote\"\"\",\r\n")
    }

    @Test(arguments: [("12.3456", "12.34567", "12.34557"), ("7", "7.00007", "6.99997"), ("0.5", "0.50007", "0.49997")])
    func exactDecimalEdits(text: String, above: String, below: String) {
        #expect(FeedDecimal.fiveDigitsAbove(text) == above)
        #expect(FeedDecimal.fiveDigitsBelow(text) == below)
        #expect(
            FeedDecimal.add(text, oneUnitIn4: 1)
                == DecimalText.format(Int128(FeedDecimal.scaled(text) + 1), fractionDigits: 4))
    }
}
