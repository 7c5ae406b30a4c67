import Foundation
import STIProtocol
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

/// Section 3's `explanation` through the feed files a county bureau sends: a CSV or JSON Lines
/// column `explanation` reaches the record unchanged, Chinese text included, in UTF-8 and in
/// GB18030 exports; an empty cell is no explanation.
@Suite struct FeedExplanationTests {
    static let validator = MessageValidator(
        registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2026, month: 1, day: 15) })

    func write(_ bytes: [UInt8], ext: String) throws -> String {
        let path = NSTemporaryDirectory() + "sti-feed-explanation-\(UUID().uuidString).\(ext)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every row read, then validated as `sti validate` does (offline: the clock decides).
    func records(_ reader: FeedReader, path: String) throws -> [Record] {
        try reader.read(path: path).map { row in
            let key = Array((row.key ?? "").utf8)
            return try row.value.withUnsafeBytes { v in
                try key.withUnsafeBytes { k in
                    try Self.validator.validate(
                        InboundMessage(
                            topicKind: reader.kind, key: k, value: v, timestampMillis: 0,
                            timestampSource: .localClock)
                    ).get()
                }
            }
        }
    }

    @Test func aCSVColumnPassesThroughWithChineseText() throws {
        let csv =
            "county,year,performer,expenditure_10k_cny,explanation\r\n"
            + "530102,2025,enterprise_above_scale,25000,新建研发中心投产\r\n"
            + "530102,2025,medical,10,\"引进重大技术转让项目, \"\"二期\"\"\r\n第二行\"\r\n"
            + "530102,2025,other,1,\r\n"
        let reader = FeedReader(kind: .rd, submittedAt: "2026-01-15T09:30:00+08:00")
        let path = try write(Array(csv.utf8), ext: "csv")
        let rows = try reader.read(path: path)
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""explanation":"新建研发中心投产""#))
        let got = try records(reader, path: path)
        #expect(got.map(\.explanation) == ["新建研发中心投产", "引进重大技术转让项目, \"二期\"\r\n第二行", nil])
    }

    @Test func aGB18030ExportIsConverted() throws {
        // 新建研发中心投产
        let text: [UInt8] = [208, 194, 189, 168, 209, 208, 183, 162, 214, 208, 208, 196, 205, 182, 178, 250]
        let bytes =
            Array("county,year,performer,expenditure_10k_cny,explanation\n530102,2025,other,1,".utf8) + text + [0x0A]
        let reader = FeedReader(kind: .rd, encoding: .gb18030, submittedAt: "2026-01-15T09:30:00+08:00")
        #expect(try records(reader, path: try write(bytes, ext: "csv")).map(\.explanation) == ["新建研发中心投产"])
    }

    @Test func aBlankOrOverlongCellIsTheValidatorsError() throws {
        let csv =
            "county,contract_no,registered_on,contract_type,domain,contract_value_10k_cny,tech_transaction_value_10k_cny,buyer_country,explanation\n"
            + "530102,HT-1,2025-06-01,transfer,other,20000,0,CN,\u{3000}\n"
            + "530102,HT-2,2025-06-01,transfer,other,20000,0,CN,\(String(repeating: "研", count: 2001))\n"
        let reader = FeedReader(kind: .techContract, submittedAt: "2026-01-15T09:30:00+08:00")
        let rows = try reader.read(path: try write(Array(csv.utf8), ext: "csv"))
        for row in rows {
            let result = row.value.withUnsafeBytes { v in
                Self.validator.validate(
                    InboundMessage(
                        topicKind: .techContract, key: nil, value: v, timestampMillis: 0, timestampSource: .localClock))
            }
            guard case .failure(let failure) = result else {
                Issue.record("line \(row.line) accepted")
                continue
            }
            #expect(
                failure.errors.contains { $0.code == .range && $0.field == "explanation" },
                "line \(row.line): \(failure)")
        }
    }

    @Test func aJSONLinesMemberPassesThrough() throws {
        let line =
            #"{"county":"530102","year":2025,"performer":"other","expenditure_10k_cny":1,"explanation":"新厂投产\u3002"}"#
        let reader = FeedReader(kind: .rd, submittedAt: "2026-01-15T09:30:00+08:00")
        #expect(
            try records(reader, path: try write(Array((line + "\n").utf8), ext: "jsonl")).map(\.explanation) == [
                "新厂投产。"
            ])
    }

    /// The generator's writer (`FeedRow`) carries a record's explanation into JSON, and the
    /// validator reads the same record back.
    @Test func theFeedWriterWritesTheExplanation() throws {
        let record = Record(
            county: "530102", revision: 2, submittedAt: "2026-01-15T09:30:00+08:00", explanation: "新建研发中心投产\n\"A\"",
            body: .rd(RDExpenditure(year: 2025, performer: .other, expenditure: ExactAmount(whole: 7))))
        let json = FeedRow(record: record).json
        #expect(json.contains(#""submitted_at":"2026-01-15T09:30:00+08:00","explanation":"新建研发中心投产\n\"A\"","year""#))
        let back = try Array(json.utf8).withUnsafeBytes { v in
            try Array("530102".utf8).withUnsafeBytes { k in
                try Self.validator.validate(
                    InboundMessage(topicKind: .rd, key: k, value: v, timestampMillis: 0, timestampSource: .localClock)
                ).get()
            }
        }
        #expect(back == record)
    }
}
