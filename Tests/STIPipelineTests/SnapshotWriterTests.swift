import Crypto
import Foundation
import Testing

@testable import STIPipeline
@testable import STIProtocol

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct SnapshotWriterTests {
    typealias F = IndicatorFixtures

    /// A fresh directory under the system temp dir, removed by the caller.
    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sti-snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let start = Date(timeIntervalSince1970: 1_768_440_600)  // 2026-01-15T01:30:00Z

    static func inputs(previous: String? = nil) -> ManifestInputs {
        ManifestInputs(
            startedAt: start, finishedAt: start.addingTimeInterval(7), programVersion: "0.1.0-test",
            authenticationEnabled: true,
            offsets: [
                TopicPartitionRange(topic: "sti.tech-contracts", partition: 1, firstOffset: 3, endOffset: 9),
                TopicPartitionRange(topic: "sti.rd", partition: 1, firstOffset: 0, endOffset: 5),
                TopicPartitionRange(topic: "sti.rd", partition: 0, firstOffset: 10, endOffset: 12),
            ],
            counts: RunCounts(
                read: 13, accepted: 10, duplicates: 1, rejected: 2, rejectedByCode: [.range: 1, .auth: 1]),
            previousRunId: previous)
    }

    static let rejections = [
        RejectionRow(
            topic: "sti.rd", partition: 0, offset: 11, county: "=530102", codes: [.county],
            firstMessage: "not in the registry"),
        RejectionRow(
            topic: "sti.rd", partition: 1, offset: 4, county: nil, codes: [.auth],
            firstMessage: "unsigned, key required"),
    ]

    static func hex(_ bytes: Data) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    @Test func writesTheFourFilesWithVerifiableHashes() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let writer = SnapshotWriter(out: out)
        try writer.checkWritable()
        let runId = try writer.allocateRunId(start: Self.start)
        #expect(runId == "20260115T013000Z")
        let book = F.workedExampleStore().book
        let indicators = computeIndicators(book: book, registry: F.smallRegistry)
        let completeness = computeCompleteness(book: book, registry: F.smallRegistry)
        let manifest = try writer.write(
            runId: runId, indicators: indicators, completeness: completeness,
            rejections: Self.rejections, inputs: Self.inputs())
        let dir = out.appendingPathComponent("runs/\(runId)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        // Section 8 (protocol version 2): every snapshot has warnings.csv, here only its header.
        #expect(names == ["completeness.csv", "indicators.csv", "manifest.json", "rejections.csv", "warnings.csv"])
        let warningsData = try Data(contentsOf: dir.appendingPathComponent("warnings.csv"))
        #expect(
            String(decoding: warningsData, as: UTF8.self)
                == "year,geo_code,kind,identity,code,field,value,compared_with,disposition,explanation,topic,partition,offset\r\n"
        )

        let indicatorsData = try Data(contentsOf: dir.appendingPathComponent("indicators.csv"))
        #expect(String(decoding: indicatorsData, as: UTF8.self) == IndicatorFixtures.expectedIndicators)
        let completenessData = try Data(contentsOf: dir.appendingPathComponent("completeness.csv"))
        #expect(String(decoding: completenessData, as: UTF8.self) == IndicatorFixtures.expectedCompleteness)
        let rejectionsData = try Data(contentsOf: dir.appendingPathComponent("rejections.csv"))
        #expect(
            String(decoding: rejectionsData, as: UTF8.self)
                == F.csv([
                    "topic,partition,offset,county,codes,first_message",
                    "sti.rd,0,11,'=530102,E_COUNTY,not in the registry",
                    "sti.rd,1,4,,E_AUTH,\"unsigned, key required\"",
                ]))

        let onDisk = try Manifest.load(contentsOf: dir.appendingPathComponent("manifest.json"))
        #expect(onDisk == manifest)
        #expect(onDisk.runId == runId)
        #expect(onDisk.startedAt == "2026-01-15T01:30:00Z")
        #expect(onDisk.finishedAt == "2026-01-15T01:30:07Z")
        #expect(onDisk.programVersion == "0.1.0-test")
        #expect(onDisk.authentication == "enabled")
        #expect(onDisk.previousRunId == nil)
        #expect(
            onDisk.offsets.map { "\($0.topic)/\($0.partition)" } == ["sti.rd/0", "sti.rd/1", "sti.tech-contracts/1"])
        #expect(onDisk.counts == Self.inputs().counts)
        #expect(onDisk.files.map(\.name) == ["indicators.csv", "completeness.csv", "rejections.csv", "warnings.csv"])
        #expect(onDisk.files.map(\.rows) == [160, 30, 2, 0])  // 2 years × 8 geographies × 10; 2 × 5 × 3
        #expect(
            onDisk.files.map(\.sha256) == [
                Self.hex(indicatorsData), Self.hex(completenessData), Self.hex(rejectionsData),
                Self.hex(warningsData),
            ])
        #expect(onDisk.files.allSatisfy { $0.sha256.count == 64 && $0.sha256 == $0.sha256.lowercased() })
        let manifestText = try String(contentsOf: dir.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifestText.contains("\"previous_run_id\" : null"))
    }

    @Test func runIdsGetSuffixesWhenTaken() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try SnapshotWriter.allocateRunId(out: out, start: Self.start)) }
        #expect(ids == ["20260115T013000Z", "20260115T013000Z-2", "20260115T013000Z-3"])
        #expect(
            try SnapshotWriter.allocateRunId(out: out, start: Self.start.addingTimeInterval(1)) == "20260115T013001Z")
        // A folder someone else created takes the id too.
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("runs/20260115T013002Z"), withIntermediateDirectories: false)
        #expect(
            try SnapshotWriter.allocateRunId(out: out, start: Self.start.addingTimeInterval(2)) == "20260115T013002Z-2")
    }

    @Test func latestMovesAtomicallyBetweenRuns() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let writer = SnapshotWriter(out: out)
        #expect(writer.latestRunId() == nil)
        let first = try writer.allocateRunId(start: Self.start)
        try writer.write(runId: first, indicators: [], completeness: [], rejections: [], inputs: Self.inputs())
        try SnapshotWriter.publishLatest(out: out, runId: first)
        let latest = out.appendingPathComponent("latest").path
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: latest) == "runs/\(first)")
        #expect(SnapshotWriter.latestRunId(out: out) == first)

        let second = try writer.allocateRunId(start: Self.start)
        let m = try writer.write(
            runId: second, indicators: [], completeness: [], rejections: [],
            inputs: Self.inputs(previous: writer.latestRunId()))
        #expect(m.previousRunId == first)
        #expect(m.files.map(\.rows) == [0, 0, 0, 0])
        try writer.publishLatest(runId: second)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: latest) == "runs/\(second)")
        #expect(FileManager.default.fileExists(atPath: latest + "/manifest.json"))
        // No temporary link is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["latest", "runs"])
    }

    @Test func refusesToPublishAnIncompleteRun() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let id = try SnapshotWriter.allocateRunId(out: out, start: Self.start)
        #expect { try SnapshotWriter.publishLatest(out: out, runId: id) } throws: { error in
            (error as? SnapshotError)?.description.contains("incomplete") == true
        }
        #expect(SnapshotWriter.latestRunId(out: out) == nil)
    }

    @Test func refusesToReplaceALatestThatIsADirectory() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let writer = SnapshotWriter(out: out)
        let id = try writer.allocateRunId(start: Self.start)
        try writer.write(runId: id, indicators: [], completeness: [], rejections: [], inputs: Self.inputs())
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("latest/keep"), withIntermediateDirectories: true)
        #expect { try writer.publishLatest(runId: id) } throws: { error in
            (error as? SnapshotError)?.description.contains("cannot move latest") == true
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["latest", "runs"])
    }

    @Test func neverOverwritesAWrittenRun() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let writer = SnapshotWriter(out: out)
        let id = try writer.allocateRunId(start: Self.start)
        try writer.write(runId: id, indicators: [], completeness: [], rejections: [], inputs: Self.inputs())
        #expect(throws: SnapshotError.self) {
            try writer.write(
                runId: id, indicators: [], completeness: [], rejections: Self.rejections, inputs: Self.inputs())
        }
        let text = try String(contentsOf: out.appendingPathComponent("runs/\(id)/rejections.csv"), encoding: .utf8)
        #expect(text == "topic,partition,offset,county,codes,first_message\r\n")
    }

    @Test(arguments: [
        "", "latest", "../x", "20260115T013000Z/..", "20260115T013000Z-", "20260115T013000Z-0",
        "20260115T013000Z-2x", "2026011XT013000Z", "20260115T013000ZZ",
    ])
    func rejectsMalformedRunIds(id: String) throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(!SnapshotWriter.isValidRunId(id))
        #expect(throws: SnapshotError.self) {
            try SnapshotWriter(out: out).write(
                runId: id, indicators: [], completeness: [], rejections: [], inputs: Self.inputs())
        }
        #expect(throws: SnapshotError.self) { try SnapshotWriter.publishLatest(out: out, runId: id) }
    }

    @Test(arguments: ["20260115T013000Z", "20260115T013000Z-2", "20260115T013000Z-10000"])
    func acceptsRunIds(id: String) {
        #expect(SnapshotWriter.isValidRunId(id))
    }

    @Test func outThatIsAFileIsNotWritable() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        #expect { try SnapshotWriter.checkWritable(out: file) } throws: { error in
            (error as? SnapshotError)?.description == "output directory \(file.path) exists but is not a directory"
        }
        let below = file.appendingPathComponent("out")
        #expect { try SnapshotWriter.checkWritable(out: below) } throws: { error in
            (error as? SnapshotError)?.description.hasPrefix("cannot create output directory \(below.path): ") == true
        }
        #expect(throws: SnapshotError.self) { try SnapshotWriter.allocateRunId(out: below, start: Self.start) }
    }

    @Test func runsThatIsAFileIsNotWritable() throws {
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        try Data().write(to: out.appendingPathComponent("runs"))
        #expect { try SnapshotWriter.checkWritable(out: out) } throws: { error in
            (error as? SnapshotError)?.description == "runs directory \(out.path)/runs exists but is not a directory"
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root can write into a read-only directory"))
    func readOnlyOutIsNotWritable() throws {
        let out = try Self.tempDir()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: out.path)
            try? FileManager.default.removeItem(at: out)
        }
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("runs"), withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: out.path)
        #expect { try SnapshotWriter.checkWritable(out: out) } throws: { error in
            (error as? SnapshotError)?.description.hasPrefix("output directory is not writable") == true
        }
    }

    @Test func createsAMissingOutDirectory() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a/b/out")
        try SnapshotWriter.checkWritable(out: out)
        var isDir: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: out.appendingPathComponent("runs").path, isDirectory: &isDir)
                && isDir.boolValue)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["runs"])  // probe removed
    }
}
