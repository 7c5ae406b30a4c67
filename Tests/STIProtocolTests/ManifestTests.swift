import Foundation
import Testing

@testable import STIProtocol

@Suite struct ManifestTests {
    @Test(arguments: [
        (1_768_440_600.0, "20260115T013000Z", "2026-01-15T01:30:00Z"),
        (1_768_440_600.999, "20260115T013000Z", "2026-01-15T01:30:00Z"),
        (1_709_251_199.0, "20240229T235959Z", "2024-02-29T23:59:59Z"),
        (951_868_800.0, "20000301T000000Z", "2000-03-01T00:00:00Z"),
        (0.0, "19700101T000000Z", "1970-01-01T00:00:00Z"),
        (-1.0, "19691231T235959Z", "1969-12-31T23:59:59Z"),
        (-0.5, "19691231T235959Z", "1969-12-31T23:59:59Z"),
        (4_133_937_600.0, "21001231T120000Z", "2100-12-31T12:00:00Z"),
    ])
    func utcTexts(seconds: Double, runId: String, rfc3339: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(UTCTime.runIdBase(date) == runId)
        #expect(UTCTime.rfc3339(date) == rfc3339)
    }

    static let sample = Manifest(
        runId: "20260115T013000Z-2", startedAt: "2026-01-15T01:30:00Z", finishedAt: "2026-01-15T01:30:07Z",
        programVersion: "0.1.0", authentication: "disabled",
        offsets: [TopicPartitionRange(topic: "sti.rd", partition: 0, firstOffset: 0, endOffset: 42)],
        counts: RunCounts(
            read: 47, accepted: 40, duplicates: 2, rejected: 3, rejectedByCode: [.range: 2, .json: 1, .auth: 0],
            held: 2, heldByCode: [.yoyChange: 1, .largeContract: 1, .lowTransactionShare: 1]),
        previousRunId: nil,
        files: [ManifestFile(name: "indicators.csv", rows: 200, sha256: String(repeating: "ab", count: 32))])

    @Test func encodingIsDeterministicPrettyAndSorted() throws {
        let text = String(decoding: try Self.sample.encoded(), as: UTF8.self)
        #expect(
            text == """
                {
                  "authentication" : "disabled",
                  "counts" : {
                    "accepted" : 40,
                    "duplicates" : 2,
                    "held" : 2,
                    "held_by_code" : {
                      "W_LARGE_CONTRACT" : 1,
                      "W_LOW_TRANSACTION_SHARE" : 1,
                      "W_YOY_CHANGE" : 1
                    },
                    "read" : 47,
                    "rejected" : 3,
                    "rejected_by_code" : {
                      "E_JSON" : 1,
                      "E_RANGE" : 2
                    }
                  },
                  "files" : [
                    {
                      "name" : "indicators.csv",
                      "rows" : 200,
                      "sha256" : "abababababababababababababababababababababababababababababababab"
                    }
                  ],
                  "finished_at" : "2026-01-15T01:30:07Z",
                  "offsets" : [
                    {
                      "end_offset" : 42,
                      "first_offset" : 0,
                      "partition" : 0,
                      "topic" : "sti.rd"
                    }
                  ],
                  "previous_run_id" : null,
                  "program_version" : "0.1.0",
                  "run_id" : "20260115T013000Z-2",
                  "started_at" : "2026-01-15T01:30:00Z"
                }

                """)
        #expect(try Self.sample.encoded() == Self.sample.encoded())
    }

    @Test func roundTrips() throws {
        var m = Self.sample
        m.previousRunId = "20260114T000000Z"
        let back = try JSONDecoder().decode(Manifest.self, from: m.encoded())
        var expected = m
        expected.counts.rejectedByCode = [.range: 2, .json: 1]  // zero counts are not written
        #expect(back == expected)
    }

    @Test func manifestsWithoutHeldCountsDecodeAsNoneHeld() throws {
        // Written before protocol version 2 (no `held`, no `held_by_code`).
        let json = #"{"read":1,"accepted":0,"duplicates":0,"rejected":1,"rejected_by_code":{"E_RANGE":1}}"#
        let counts = try JSONDecoder().decode(RunCounts.self, from: Data(json.utf8))
        #expect(counts == RunCounts(read: 1, rejected: 1, rejectedByCode: [.range: 1]))
    }

    @Test func unknownHeldCodeDoesNotDecode() {
        let json =
            #"{"read":1,"accepted":0,"duplicates":0,"rejected":0,"rejected_by_code":{},"held":1,"held_by_code":{"W_NOPE":1}}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RunCounts.self, from: Data(json.utf8)) }
    }

    @Test func unknownRejectionCodeDoesNotDecode() {
        let json = #"{"read":1,"accepted":0,"duplicates":0,"rejected":1,"rejected_by_code":{"E_NOPE":1}}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RunCounts.self, from: Data(json.utf8)) }
    }
}
