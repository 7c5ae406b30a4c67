// The generator's feeds against the project's own reader and validator: every Samples/ row,
// read by `FeedReader` as `sti submit` reads it, passes `MessageValidator`; every load-feed
// message the generator calls valid passes, and every one it calls invalid is rejected with
// exactly the one code the summary announced.

import Foundation
import STIProtocol
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

@Suite struct FeedValidatorAgreementTests {
    /// A fixed "today" (UTC+8) after every date the feeds carry.
    static let validator = MessageValidator(
        registry: .kunming, keyRing: nil,
        today: { CalendarDate(year: 2026, month: 1, day: 15) })

    static func codes(kind: RecordKind, key: String?, value: [UInt8]) -> Set<ErrorCode> {
        let keyBytes = key.map { Array($0.utf8) }
        let result = value.withUnsafeBytes { v in
            if let keyBytes {
                return keyBytes.withUnsafeBytes { k in
                    validator.validate(
                        InboundMessage(topicKind: kind, key: k, value: v, timestampMillis: 1_768_440_600_000))
                }
            }
            return validator.validate(
                InboundMessage(topicKind: kind, key: nil, value: v, timestampMillis: 1_768_440_600_000))
        }
        switch result {
        case .success: return []
        case .failure(let failure): return Set(failure.errors.map(\.code))
        }
    }

    @Test func everySampleRowPassesTheReaderAndTheValidator() throws {
        let dir = try FeedTestRepo.root().appendingPathComponent("Samples")
        var messages = 0
        for year in FeedGenerator.sampleYears {
            for (kind, stem) in [
                (RecordKind.countyProfile, "county-profiles"), (.rd, "rd"), (.techContract, "tech-contracts"),
            ] {
                let reader = FeedReader(kind: kind, submittedAt: "2026-01-15T09:30:00+08:00")
                let rows = try reader.read(path: dir.appendingPathComponent("\(stem)-\(year).csv").path)
                #expect(!rows.isEmpty)
                for row in rows {
                    let codes = Self.codes(kind: kind, key: row.key, value: row.value)
                    #expect(codes.isEmpty, "\(stem)-\(year).csv line \(row.line): \(codes.map(\.rawValue).sorted())")
                    messages += 1
                }
            }
        }
        #expect(messages > 8_000)
    }

    @Test func loadFeedIsJudgedAsItsSummarySays() throws {
        let dir = try FeedTestRepo.temporaryDirectory("agree-jsonl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 17).writeLoad(to: dir, messages: 10_000, invalidFraction: 0.03)
        var byCode: [ErrorCode: Int] = [:]
        for topic in summary.topics {
            let text = try String(contentsOf: dir.appendingPathComponent("\(topic.topic).keyed"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                let codes = Self.codes(kind: topic.kind, key: String(parts[0]), value: Array(parts[1].utf8))
                #expect(codes.count <= 1, "\(codes) for \(parts[1])")
                if let code = codes.first { byCode[code, default: 0] += 1 }
            }
        }
        #expect(byCode == summary.invalidByCode)
        #expect(byCode.values.reduce(0, +) == 300)
    }

    @Test func csvLoadFeedThroughTheReaderIsJudgedAsItsSummarySays() throws {
        let dir = try FeedTestRepo.temporaryDirectory("agree-csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: 19).writeLoad(
            to: dir, messages: 5_000, invalidFraction: 0.04, format: .csv)
        var byCode: [ErrorCode: Int] = [:]
        for topic in summary.topics {
            let reader = FeedReader(kind: topic.kind, submittedAt: "2026-01-15T09:30:00+08:00")
            let rows = try reader.read(path: dir.appendingPathComponent(topic.files[0]).path)
            #expect(rows.count == topic.messages)
            for row in rows {
                let codes = Self.codes(kind: topic.kind, key: row.key, value: row.value)
                #expect(codes.count <= 1, "\(codes) line \(row.line) of \(topic.files[0])")
                if let code = codes.first { byCode[code, default: 0] += 1 }
            }
        }
        #expect(byCode == summary.invalidByCode)
        #expect(byCode.values.reduce(0, +) == 200)
    }
}
