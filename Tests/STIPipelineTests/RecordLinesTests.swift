import Foundation
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// Issue 14's cost of `records/`: lines formatted straight from the state's stored form (no
/// `Record` built) and read on a thread of their own. These tests pin that the fast path writes
/// what the record's own line is, and that its failures are errors, never a hang or a wrong file.
@Suite struct RecordLinesTests {
    static let sources: [RecordSource?] = [
        nil, RecordSource(topic: "sti.tech-contracts", partition: 5, offset: 1_234_567_890_123),
        RecordSource(topic: "=cmd", partition: 0, offset: 0),
    ]

    /// The line formatted from the stored bytes equals the line of the record itself, for every
    /// record of the stored-form tests (negative and extreme figures, withdrawn, non-ASCII,
    /// quotes and line breaks, explanations) and every kind of source.
    @Test(arguments: StoredRecordTests.records + StoredRecordTests.storedRecords)
    func theLineOfTheStoredFormIsTheLineOfTheRecord(_ record: Record) throws {
        let stored = StoredRecord.encode(record)
        for source in Self.sources {
            var line = CSVLine()
            var scratch: [UInt8] = []
            try stored.withUnsafeBytes { bytes in
                var fields = try StoredRecord.lineFields(bytes).get()
                var topic = Array((source?.topic ?? "").utf8)
                try topic.withUnsafeBytes { topicBytes in
                    if let source {
                        fields.sourceTopic = topicBytes
                        fields.sourcePartition = source.partition
                        fields.sourceOffset = source.offset
                    }
                    RecordFiles.appendLine(fields, to: &line, scratch: &scratch)
                    _ = try #require(line.bytes.last == 0x0A)
                }
                topic.removeAll()
            }
            #expect(String(decoding: line.bytes, as: UTF8.self) == RecordFiles.line(record, source: source))
        }
    }

    /// The columns of a record's line, spelt out for one contract: what section 8 lists.
    @Test func aContractsLineHasSection8sColumns() {
        let line = RecordFiles.line(
            StoredRecordTests.contract, source: RecordSource(topic: "sti.tech-contracts", partition: 2, offset: 9))
        #expect(
            line
                == "KM-HTZ,HT/2026-001,2026-01-09,transfer,new_energy,3000,0.0001,VN,1,withdrawn,2026-01-15T01:30:00Z,,sti.tech-contracts,2,9\r\n"
        )
    }

    static func registry() throws -> Registry {
        let dir = try TemporaryDirectory(prefix: "sti-lines-registry")
        defer { dir.remove() }
        let path = dir.file("registry.json")
        try Data(SpreadsheetSafetyTests.registryJSON.utf8).write(to: URL(fileURLWithPath: path))
        return try Registry.load(contentsOf: URL(fileURLWithPath: path))
    }

    static func contract(_ number: String, county: String, year: Int = 2024) -> Record {
        var record = StoredRecordTests.contract
        record.county = county
        if case .techContract(var c) = record.body {
            c.contractNo = number
            c.registeredOn = CalendarDate(year: year, month: 3, day: 1)
            record.body = .techContract(c)
        }
        return record
    }

    /// Writes the contract files of 2024 from `records` (by county) and returns the error, if any.
    static func writeContracts(_ records: [String: [Record]]) throws -> (SnapshotError?, String) {
        let dir = try TemporaryDirectory(prefix: "sti-lines")
        defer { dir.remove() }
        let analysts = AnalystFiles(
            previousIndicators: nil, years: [2024], changedYears: [2024], linkFrom: nil,
            records: { kind, county, body in
                for record in records[county] ?? [] where record.kind == kind {
                    try record.withLineFields(source: nil, body)
                }
            }, registry: try registry())
        try FileManager.default.createDirectory(
            atPath: dir.path + "/records/2024", withIntermediateDirectories: true)
        do throws(SnapshotError) {
            _ = try SnapshotWriter.writeRecordFiles(
                dir: dir.path, kind: .techContract, years: [2024], analysts: analysts)
        } catch {
            return (error, "")
        }
        return (nil, try String(contentsOfFile: dir.path + "/records/2024/tech-contracts.csv", encoding: .utf8))
    }

    /// Section 8's order comes from the store's identity order: a store that broke it would
    /// give a file in the wrong order, so the writer refuses it, naming the county.
    @Test func recordsOutOfIdentityOrderAreRefused() throws {
        let (error, _) = try Self.writeContracts([
            "530005": [Self.contract("B-2", county: "530005"), Self.contract("A-1", county: "530005")]
        ])
        let e = try #require(error)
        #expect(e.description.contains("out of identity order"), "\(e)")
        #expect(e.description.contains("530005"), "\(e)")
        // The same two in order are written, county by county in registry order.
        let (none, file) = try Self.writeContracts([
            "530005": [Self.contract("A-1", county: "530005"), Self.contract("B-2", county: "530005")],
            "=530001": [Self.contract("Z-9", county: "=530001")],
        ])
        #expect(none == nil)
        let numbers = file.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",")[1] }
        #expect(numbers == ["Z-9", "A-1", "B-2"])
    }

    /// Every line of a county (more than one chunk between the threads) arrives, in order.
    @Test func manyChunksArriveWholeAndInOrder() throws {
        let numbers = (0..<20_000).map { String(format: "N-%06d", $0) }
        let (error, file) = try Self.writeContracts([
            "530005": numbers.map { Self.contract($0, county: "530005") }
        ])
        #expect(error == nil)
        let written = file.split(separator: "\r\n").dropFirst().map { String($0.split(separator: ",")[1]) }
        #expect(written == numbers)
    }
}
