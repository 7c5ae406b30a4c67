import Foundation
import GRDB
import Kafka
import Logging
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// The aggregator's fast paths for stored records: direct SQLite statements, no lookup for an
/// identity first met in a run that started from an empty store, the binary stored form, and
/// state files whose records are still canonical JSON.
@Suite(.serialized)
struct StoredRecordStateTests {
    func tempPath() -> String { NSTemporaryDirectory() + "sti-state-\(UUID().uuidString).db" }

    let rd = STIProtocol.Record(
        county: "530102", revision: 2, submittedAt: "2026-01-15T09:30:00+08:00",
        body: .rd(RDExpenditure(year: 2024, performer: .medical, expenditure: ExactAmount(scaled: 1_005_000))))

    @Test func directStatementsStoreReplaceAndReadBodies() throws {
        let store = try SQLiteStateStore(path: tempPath())
        #expect(try store.hasRecords() == false)
        try store.transaction { tx in
            #expect(try tx.withRecordBody(identity: rd.identity) { Array($0) } == nil)
            try tx.putRecord(rd, identity: rd.identity, body: [1, 2, 3])
            #expect(try tx.withRecordBody(identity: rd.identity) { Array($0) } == [1, 2, 3])
            try tx.putRecord(rd, identity: rd.identity, body: [4])
            #expect(try tx.withRecordBody(identity: rd.identity) { Array($0) } == [4], "a later put replaces")
            // Rows written through GRDB's path read back the same way.
            try tx.putRecord(rd, body: Data("{}".utf8))
            #expect(try tx.withRecordBody(identity: rd.identity) { Array($0) } == Array("{}".utf8))
            // An identity is a whole key, not a prefix.
            #expect(try tx.withRecordBody(identity: rd.identity + "x") { _ in true } == nil)
        }
        #expect(try store.hasRecords())
        #expect(try store.recordCounts() == ["rd": 1])
    }

    // MARK: Runs on a mock cluster

    static let at = "2026-01-15T09:30:00+08:00"
    static func rdMessage(_ county: String, revision: Int, amount: String, at: String = at) -> (String, String, String)
    {
        (
            "sti.rd", county,
            #"{"schema":"sti.rd/1","county":"\#(county)","revision":\#(revision),"submitted_at":"\#(at)","year":2024,"performer":"medical","expenditure_10k_cny":\#(amount)}"#
        )
    }
    static func contract(_ number: String, revision: Int = 1, status: String = "active", at: String = at) -> (
        String, String, String
    ) {
        (
            "sti.tech-contracts", "530102",
            #"{"schema":"sti.tech-contract/1","county":"530102","revision":\#(revision),"status":"\#(status)","submitted_at":"\#(at)","contract_no":"\#(number)","registered_on":"2024-03-01","contract_type":"development","domain":"biomedicine","contract_value_10k_cny":50,"tech_transaction_value_10k_cny":40,"buyer_country":"VN"}"#
        )
    }
    static func profile(revision: Int, extra: String) -> (String, String, String) {
        (
            "sti.county-profiles", "530102",
            #"{"schema":"sti.county-profile/1","county":"530102","revision":\#(revision),"submitted_at":"\#(at)","year":2024,"gdp_100m_cny":100\#(extra)}"#
        )
    }

    /// First part: new identities, and one identity revised within the part (met twice in a
    /// run that starts from an empty store).
    static let part1 = [
        rdMessage("530102", revision: 1, amount: "100"), rdMessage("530103", revision: 1, amount: "50"),
        contract("C-1"), contract("C-2"), profile(revision: 1, extra: #","resident_population_10k":10"#),
        rdMessage("530102", revision: 2, amount: "120"),
    ]
    /// Second part: every outcome against records stored by the first.
    static let part2 = [
        rdMessage("530102", revision: 2, amount: "120.0", at: "2026-02-01T00:00:00+08:00"),  // duplicate
        rdMessage("530102", revision: 1, amount: "100"),  // stale
        rdMessage("530102", revision: 2, amount: "121"),  // conflict
        rdMessage("530102", revision: 3, amount: "150"),  // applied
        contract("C-1", revision: 2, status: "withdrawn"), contract("C-3"),  // applied
        profile(revision: 2, extra: ""),  // applied
        contract("C-2", at: "2026-02-01T00:00:00+08:00"),  // duplicate
    ]

    func send(_ messages: [(String, String, String)], to cluster: MockCluster) throws {
        let producer = try KafkaProducer(
            configuration: try Submitter.producerConfiguration(bootstrapServers: cluster.bootstrapServers))
        for (topic, key, value) in messages {
            try producer.send(topic: topic, key: Array(key.utf8), value: Array(value.utf8))
        }
        try producer.flush(timeout: .seconds(20))
        #expect(producer.failed == 0)
    }

    func run(
        _ cluster: MockCluster, dir: TemporaryDirectory, _ name: String,
        identityMemoryLimit: Int = 4_000_000
    ) async throws -> AggregateSummary {
        let options = AggregateOptions(
            brokers: cluster.bootstrapServers, out: URL(fileURLWithPath: dir.file("\(name)/out")),
            statePath: dir.file("\(name)/state.db"), timeout: .seconds(20))
        try FileManager.default.createDirectory(atPath: dir.file(name), withIntermediateDirectories: true)
        return try await onDedicatedThread {
            let aggregator = Aggregator(options: options, logger: Logger(label: "test"))
            aggregator.identityMemoryLimit = identityMemoryLimit
            return try aggregator.run()
        }
    }

    func copy(_ from: String, to: String, dir: TemporaryDirectory) throws {
        try FileManager.default.copyItem(atPath: dir.file(from), toPath: dir.file(to))
    }

    func snapshotFiles(_ dir: TemporaryDirectory, _ name: String) throws -> [String] {
        try ["indicators.csv", "completeness.csv"].map {
            try String(contentsOfFile: dir.file("\(name)/out/latest/\($0)"), encoding: .utf8)
        }
    }

    func storedRecords(_ dir: TemporaryDirectory, _ name: String) throws -> [String: STIProtocol.Record] {
        let queue = try DatabaseQueue(path: dir.file("\(name)/state.db"))
        return try queue.read { db in
            var result: [String: STIProtocol.Record] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT identity, body FROM records") {
                let body: Data = row[1]
                result[row[0]] = try Array(body).withUnsafeBytes { try StoredRecord.decode($0).get() }
            }
            return result
        }
    }

    func rewriteBodies(_ dir: TemporaryDirectory, _ name: String, _ change: (String, STIProtocol.Record) -> [UInt8])
        throws
    {
        let records = try storedRecords(dir, name)
        let queue = try DatabaseQueue(path: dir.file("\(name)/state.db"))
        try queue.write { db in
            for (identity, record) in records {
                try db.execute(
                    sql: "UPDATE records SET body = ? WHERE identity = ?",
                    arguments: [Data(change(identity, record)), identity])
            }
        }
    }

    func offsets(_ dir: TemporaryDirectory, _ name: String) throws -> [TopicPartitionKey: Int64] {
        try SQLiteStateStore(readingFrom: dir.file("\(name)/state.db")).offsets()
    }

    @Test(.mockCluster, .timeLimit(.minutes(3)))
    func oneRunFromEmptyEqualsTwoRunsAndReadsOldJSONStateAndRefusesDamage() async throws {
        let cluster = try MockCluster(brokers: 1)
        defer { cluster.close() }
        for topic in TopicLayout.topics(prefix: "sti", partitions: 3, replicationFactor: 1) {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }

        try send(Self.part1, to: cluster)
        let first = try await run(cluster, dir: dir, "split")
        #expect(first.counts.read == 6 && first.counts.accepted == 6)
        for name in ["legacy", "damaged", "swapped"] { try copy("split", to: name, dir: dir) }

        try send(Self.part2, to: cluster)
        let second = try await run(cluster, dir: dir, "split")
        #expect(second.counts.read == 8 && second.counts.accepted == 4 && second.counts.duplicates == 2)
        #expect(second.counts.rejectedByCode == [.staleRevision: 1, .revisionConflict: 1])

        // One run over both parts, from an empty store: same records, same snapshot.
        let whole = try await run(cluster, dir: dir, "whole")
        #expect(
            whole.counts.read == 14 && whole.counts.accepted == 10 && whole.counts.duplicates == 2
                && whole.counts.rejected == 2)
        #expect(try snapshotFiles(dir, "whole") == snapshotFiles(dir, "split"))
        let records = try storedRecords(dir, "whole")
        #expect(records == (try storedRecords(dir, "split")))
        #expect(records[Self.rdIdentity]?.revision == 3)
        #expect(records.count == 6)

        // A run whose memory of met identities fills up early looks every later one up.
        let capped = try await run(cluster, dir: dir, "capped", identityMemoryLimit: 2)
        #expect(capped.counts == whole.counts)
        #expect(try snapshotFiles(dir, "capped") == snapshotFiles(dir, "split"))
        #expect(try storedRecords(dir, "capped") == records)

        // Canonical JSON bodies (a state file older than the binary form; none was ever shipped)
        // are no longer read: like a damaged body, they stop the run before it commits.
        try rewriteBodies(dir, "legacy") { _, record in Array(record.canonicalJSON.utf8) }

        // A damaged body, or the body of another identity, stops the run before it commits.
        try rewriteBodies(dir, "damaged") { identity, record in
            identity == Self.rdIdentity ? [0x01, 0x07] : StoredRecord.encode(record)
        }
        let other = STIProtocol.Record(
            county: "530103", revision: 1, submittedAt: Self.at,
            body: .rd(RDExpenditure(year: 2024, performer: .medical, expenditure: ExactAmount(whole: 50))))
        try rewriteBodies(dir, "swapped") { identity, record in
            StoredRecord.encode(identity == Self.rdIdentity ? other : record)
        }
        for (name, reason) in [
            ("damaged", "unreadable"), ("swapped", "is \(other.identity)"), ("legacy", "unknown format tag 123"),
        ] {
            let before = try offsets(dir, name)
            do {
                _ = try await run(cluster, dir: dir, name)
                Issue.record("\(name): the run went on over a damaged stored record")
            } catch let error as AggregateError {
                #expect(error.description.contains(reason), "\(name): \(error)")
                #expect(error.description.contains("--rebuild"), "\(name): \(error)")
                #expect(error.code == .state, "\(name)")
                #expect(error.stateError?.code == .unreadable, "\(name): \(error)")
            }
            // Earlier batches of the failed run may commit (a poll returns what has been
            // fetched so far, so batch boundaries depend on timing); the batch holding the
            // damaged record must not, so the run cannot have reached the end of the log.
            let after = try offsets(dir, name)
            #expect(after != (try offsets(dir, "split")), "\(name): the failed batch was committed")
            #expect(after.allSatisfy { key, value in value >= (before[key] ?? 0) }, "\(name): offsets went back")
        }
    }

    static let rdIdentity = "rd|530102|2024|medical"
}
