import Foundation
import Kafka
import Logging
import STIProtocol
import STITestSupport
import Synchronization
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

/// A `StateStore` in memory, for the seam's tests: what SQLite must agree with.
final class InMemoryStateStore: StateStore {
    var records: [String: Record] = [:]
    var totalsByKey: [AggregateKey: CountyYearTotals] = [:]
    var offsetsByKey: [TopicPartitionKey: Int64] = [:]
    var tails: [TopicPartitionKey: ConsumedTail] = [:]
    var counts: [String: Int] = [:]
    var metaValues: [String: String] = [:]
    var work = PendingWork()
    var rejections: [PendingRejection] = []
    var recordWarnings: [String: StoredWarnings] = [:]
    var held: [String: StoredWarnings] = [:]
    var keys: Set<String> = []
    var sources: [String: RecordSource] = [:]
    var pendingYears: Set<Int> = []
    var applied = 0

    func currentRecords(_ identities: Set<String>) throws(StateStoreError) -> [String: Record] {
        records.filter { identities.contains($0.key) }
    }

    func apply(_ decision: BatchDecision, beforeCommit: () throws(StateStoreError) -> Void) throws(StateStoreError) {
        try beforeCommit()
        applied += 1
        for write in decision.writes {
            switch write {
            case .putRecord(let record, let identity, let source):
                if let old = records[identity] { pendingYears.insert(old.year) }
                pendingYears.insert(record.year)
                records[identity] = record
                sources[identity] = source
            case .putRecordWarnings(let entry):
                recordWarnings[entry.identity] = entry
                held[entry.identity] = nil
            case .putHeld(let entry): held[entry.identity] = entry
            case .clearWarnings(let identity):
                recordWarnings[identity] = nil
                held[identity] = nil
            }
        }
        for (key, totals) in decision.totals { totalsByKey[key] = totals }
        for (key, range) in decision.ranges {
            offsetsByKey[key] = range.next
            work.ranges[key] = OffsetRange(first: work.ranges[key]?.first ?? range.first, next: range.next)
        }
        for (key, tail) in decision.tails { tails[key] = tail }
        keys.formUnion(decision.signingKeys)
        work.counts.add(decision.counts)
        rejections.append(contentsOf: decision.rejections)
        work.rejectionCount = rejections.count
    }

    func meta(_ key: String) throws(StateStoreError) -> String? { metaValues[key] }
    func setMetaIfAbsent(_ entries: [(key: String, value: String)]) throws(StateStoreError) {
        for entry in entries where metaValues[entry.key] == nil { metaValues[entry.key] = entry.value }
    }
    func offsets() throws(StateStoreError) -> [TopicPartitionKey: Int64] { offsetsByKey }
    func consumedTails() throws(StateStoreError) -> [TopicPartitionKey: ConsumedTail] { tails }
    func partitionCounts() throws(StateStoreError) -> [String: Int] { [:] }
    func recordPartitionCounts(_ counts: [(topic: String, partitions: Int)]) throws(StateStoreError) {}
    func totals() throws(StateStoreError) -> [AggregateKey: CountyYearTotals] { totalsByKey }
    func signingKeyIds() throws(StateStoreError) -> Set<String> { keys }
    func hasRecords() throws(StateStoreError) -> Bool { !records.isEmpty }
    func hasWarningRows() throws(StateStoreError) -> Bool { !recordWarnings.isEmpty || !held.isEmpty }
    func pending() throws(StateStoreError) -> PendingWork { work }
    func forEachPendingRejection(_ body: (PendingRejection) throws -> Void) throws(StateStoreError) {
        do {
            for rejection in rejections.sorted(by: {
                ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset)
            }) {
                try body(rejection)
            }
        } catch { throw StateStoreError(.unreadable, "\(error)", underlying: error) }
    }
    /// In no particular order (the tests compare sets of rows).
    func forEachWarningRow(registry: Registry, _ body: (WarningRow) throws -> Void) throws(StateStoreError) {
        do {
            for entry in recordWarnings.values { for row in entry.rows(disposition: .explained) { try body(row) } }
            for entry in held.values { for row in entry.rows(disposition: .held) { try body(row) } }
        } catch { throw StateStoreError(.unreadable, "\(error)", underlying: error) }
    }
    func pendingRecordYears() throws(StateStoreError) -> Set<Int> { pendingYears }
    func forEachCurrentRecord(
        kind: RecordKind, county: String,
        _ body: (RecordLineFields) throws -> Void
    ) throws(StateStoreError) {
        do {
            for (identity, record) in records.sorted(by: {
                Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8))
            })
            where record.kind == kind && record.county == county {
                try record.withLineFields(source: sources[identity], body)
            }
        } catch { throw StateStoreError(.unreadable, "\(error)", underlying: error) }
    }
    func markSnapshotted(runId: String, finishedAt: String) throws(StateStoreError) {
        pendingYears = []
        work = PendingWork()
        rejections = []
        metaValues["last_run_id"] = runId
    }
    var isRebuilding: Bool { false }
    func commitRebuild() throws(StateStoreError) {}
}

/// Issue 12, point 4: a batch is decided into a value first, then applied to a `StateStore` in
/// one transaction, and the Kafka poll runs outside it.
@Suite(.serialized, .timeLimit(.minutes(5))) struct StateSeamTests {
    /// The generated load of `FeedGenerator` (1,200 messages: new records, revisions, duplicates,
    /// stale and conflicting revisions, plausibility holds, 5 % invalid), in `.keyed` order.
    static func generatedMessages(messages: Int = 1_200, seed: UInt64 = 11) throws -> [(
        topic: String, key: [UInt8], value: [UInt8]
    )] {
        let dir = try TemporaryDirectory(prefix: "sti-seam-feed")
        defer { dir.remove() }
        let feed = URL(fileURLWithPath: dir.file("feed"))
        _ = try FeedGenerator(seed: seed).writeLoad(to: feed, messages: messages, invalidFraction: 0.05)
        var result: [(String, [UInt8], [UInt8])] = []
        for kind in RecordKind.allCases {
            let topic = kind.topic(prefix: "sti")
            let text = try String(contentsOf: feed.appendingPathComponent("\(topic).keyed"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let tab = try #require(line.firstIndex(of: "\t"))
                result.append((topic, Array(line[..<tab].utf8), Array(line[line.index(after: tab)...].utf8)))
            }
        }
        return result
    }

    /// Validates, decides and applies `messages` in batches of `batchSize` to `store`, as a run
    /// does, without Kafka (no notices are sent; the decided notices are returned).
    static func decideAndApply(
        _ messages: [(topic: String, key: [UInt8], value: [UInt8])], batchSize: Int,
        store: any StateStore
    ) throws -> (notices: [RejectionNotice], book: AggregateBook) {
        var kinds: [String: RecordKind] = [:]
        for kind in RecordKind.allCases { kinds[kind.topic(prefix: "sti")] = kind }
        let clock = Date(timeIntervalSince1970: 1_796_000_000)
        var validator = BatchValidator(
            validator: MessageValidator(registry: .kunming, keyRing: nil, now: { clock }),
            topicKinds: kinds, partitionCounts: [:])
        var processor = BatchProcessor(
            book: AggregateBook(), startedEmpty: true, identityMemoryLimit: 4_000_000,
            warningRowsMayExist: false)
        processor.now = { clock }
        var notices: [RejectionNotice] = []
        var offsets: [String: Int64] = [:]
        for start in stride(from: 0, to: messages.count, by: batchSize) {
            var batch = ValidatedBatch()
            for message in messages[start..<min(start + batchSize, messages.count)] {
                let offset = offsets[message.topic, default: 0]
                offsets[message.topic] = offset + 1
                message.key.withUnsafeBytes { key in
                    message.value.withUnsafeBytes { value in
                        let inbound = InboundMessage(
                            topicKind: kinds[message.topic]!, key: key, value: value,
                            timestampMillis: 1_796_000_000_000)
                        validator.add(
                            inbound, key: TopicPartitionKey(topic: message.topic, partition: 0), offset: offset,
                            to: &batch)
                    }
                }
            }
            let decided = try processor.decide(batch, store: store)
            notices.append(contentsOf: decided.notices.map(\.notice))
            try store.apply(decided.decision) {}
        }
        return (notices, processor.book)
    }

    /// What a store holds, read through the protocol only (records of the identities given).
    static func contents(of store: any StateStore, identities: Set<String>) throws -> String {
        var lines: [String] = []
        for (identity, record) in try store.currentRecords(identities).sorted(by: { $0.key < $1.key }) {
            lines.append("record \(identity) \(record.canonicalJSON)")
        }
        for (key, totals) in try store.totals().sorted(by: { ($0.key.year, $0.key.geo) < ($1.key.year, $1.key.geo) }) {
            lines.append("totals \(key) \(totals)")
        }
        lines.append("offsets \(try store.offsets().sorted { $0.key < $1.key })")
        lines.append("tails \(try store.consumedTails().sorted { $0.key < $1.key })")
        let pending = try store.pending()
        let c = pending.counts
        lines.append(
            "pending \(pending.ranges.sorted { $0.key < $1.key }) \(pending.rejectionCount) \(c.read) \(c.accepted) \(c.duplicates) \(c.rejected) \(c.held)"
        )
        lines.append(
            "by code \(c.rejectedByCode.sorted { $0.key < $1.key }) \(c.heldByCode.sorted { $0.key < $1.key })")
        try store.forEachPendingRejection { lines.append("rejection \($0)") }
        var warnings: [String] = []
        try store.forEachWarningRow(registry: .kunming) { warnings.append("warning \($0)") }
        lines.append(contentsOf: warnings.sorted())
        return lines.joined(separator: "\n")
    }

    @Test("a decided batch applied to an in-memory store gives what SQLite holds after the same batches")
    func inMemoryStoreAgreesWithSQLite() throws {
        // The feed, then its first 150 messages again: duplicates, and stale revisions where a
        // later revision of the identity came in between.
        let feed = try Self.generatedMessages()
        let messages = feed + feed.prefix(150)
        let dir = try TemporaryDirectory(prefix: "sti-seam")
        defer { dir.remove() }
        let memory = InMemoryStateStore()
        let sqlite = try SQLiteStateStore(path: dir.file("state.db"))
        let inMemory = try Self.decideAndApply(messages, batchSize: 97, store: memory)
        let onDisk = try Self.decideAndApply(messages, batchSize: 97, store: sqlite)
        #expect(inMemory.book == onDisk.book)
        #expect(inMemory.notices.map { $0.encoded() } == onDisk.notices.map { $0.encoded() })
        let identities = Set(memory.records.keys)
        let counts = try memory.pending().counts
        // The load exercises every path: accepted, duplicates, rejections, holds.
        #expect(counts.read == messages.count)
        #expect(counts.accepted > 0 && counts.duplicates > 0 && counts.rejected > 0)
        let inMemoryLines = try Self.contents(of: memory, identities: identities).split(separator: "\n")
        let sqliteLines = try Self.contents(of: sqlite, identities: identities).split(separator: "\n")
        #expect(inMemoryLines.count == sqliteLines.count)
        for (a, b) in zip(inMemoryLines, sqliteLines) where a != b {
            Issue.record("in memory: \(a)\nSQLite:    \(b)")
            break
        }
        #expect(try sqlite.pending().counts == counts)
        // The batch size changes nothing of the outcome.
        let whole = InMemoryStateStore()
        let oneBatch = try Self.decideAndApply(messages, batchSize: messages.count, store: whole)
        #expect(oneBatch.book == inMemory.book)
        #expect(whole.records == memory.records)
        #expect(try whole.pending().counts == counts)
        #expect(whole.recordWarnings == memory.recordWarnings && whole.held == memory.held)
    }

    /// Runs over a mock cluster loaded with a generated feed, one thread or two.
    static func run(
        _ bench: FaultBench, _ series: String, concurrent: Bool, batchSize: Int = 50,
        afterDecide: (@Sendable (Int) throws -> Void)? = nil
    ) -> Result<AggregateSummary, AggregateError> {
        let options = bench.options(series, batchSize: batchSize)
        return Result { () throws(AggregateError) -> AggregateSummary in
            let aggregator = Aggregator(options: options, logger: Logger(label: "test"))
            aggregator.concurrentBatches = concurrent
            aggregator.afterDecide = afterDecide
            return try aggregator.run()
        }
    }

    /// Every file of the latest snapshot (records/ included) but the manifest and report.html
    /// (which name their run and times), byte for byte, and the manifest's counts.
    static func snapshot(_ bench: FaultBench, _ series: String) throws -> [String: [UInt8]] {
        // The run folder `latest` links to (an enumerator does not descend a link).
        let latest = bench.out(series).appendingPathComponent("latest").resolvingSymlinksInPath()
        var result: [String: [UInt8]] = [:]
        let enumerator = FileManager.default.enumerator(atPath: latest.path)
        while let name = enumerator?.nextObject() as? String {
            guard name != SnapshotWriter.manifestFile, name != SnapshotWriter.reportFile else { continue }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: latest.appendingPathComponent(name).path, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            result[name] = Array(try Data(contentsOf: latest.appendingPathComponent(name)))
        }
        let manifest = try JSONDecoder().decode(
            Manifest.self, from: Data(contentsOf: latest.appendingPathComponent(SnapshotWriter.manifestFile)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        result["manifest counts"] = Array(try encoder.encode(manifest.counts))
        return result
    }

    @Test("deciding and committing on a worker while the next batch is validated gives byte-identical snapshots")
    func twoThreadsGiveTheSnapshotOfOne() throws {
        let bench = try FaultBench()
        try bench.load(messages: 2_000, seed: 5, invalidFraction: 0.03)
        let one = try Self.run(bench, "one", concurrent: false).get()
        let two = try Self.run(bench, "two", concurrent: true).get()
        #expect(one.counts == two.counts)
        #expect(one.counts.read == 2_000)
        let snapshot = try Self.snapshot(bench, "one")
        #expect(
            snapshot.keys.contains(SnapshotWriter.indicatorsFile)
                && snapshot.keys.contains(SnapshotWriter.rejectionsFile))
        #expect(snapshot == (try Self.snapshot(bench, "two")))
        let identities = try Set(Self.generatedIdentities(bench))
        let a = try SQLiteStateStore(readingFrom: bench.state("one"))
        let b = try SQLiteStateStore(readingFrom: bench.state("two"))
        #expect(try a.currentRecords(identities) == b.currentRecords(identities))
        #expect(try a.offsets() == b.offsets())
    }

    @Test(
        "a run that stops between deciding a batch and applying it loses nothing: the next run ends where an unbroken one does"
    )
    func crashBetweenDecideAndApplyLosesNothing() throws {
        let bench = try FaultBench()
        try bench.load(messages: 1_500, seed: 9, invalidFraction: 0.03)
        let whole = try Self.run(bench, "whole", concurrent: true).get()
        struct Crash: Error {}
        let decided = Atomic<Int>(0)
        let broken = Self.run(bench, "broken", concurrent: true) { batch in
            decided.store(batch, ordering: .relaxed)
            if batch == 6 { throw Crash() }
        }
        guard case .failure(let error) = broken else {
            Issue.record("the run went on past the failed batch")
            return
        }
        #expect(error.description.contains("batch failed, nothing of it committed"))
        #expect(decided.load(ordering: .relaxed) == 6, "no batch after the failed one was decided")
        // Batches 1 to 5 committed, the sixth not: the state is in the middle of the log.
        let committed = try SQLiteStateStore(readingFrom: bench.state("broken")).offsets().values.reduce(0, +)
        #expect(committed > 0 && committed < Int64(whole.counts.read))
        let rest = try Self.run(bench, "broken", concurrent: true).get()
        #expect(Int64(rest.counts.read) + committed == Int64(whole.counts.read))
        let (resumed, unbroken) = (try Self.snapshot(bench, "broken"), try Self.snapshot(bench, "whole"))
        #expect(resumed.keys.sorted() == unbroken.keys.sorted())
        for (name, bytes) in unbroken where resumed[name] != bytes {
            Issue.record(
                "\(name) differs: \(String(decoding: resumed[name] ?? [], as: UTF8.self).prefix(600)) against \(String(decoding: bytes, as: UTF8.self).prefix(600))"
            )
        }
        let identities = try Set(Self.generatedIdentities(bench))
        #expect(
            try SQLiteStateStore(readingFrom: bench.state("broken")).currentRecords(identities)
                == SQLiteStateStore(readingFrom: bench.state("whole")).currentRecords(identities))
    }

    /// Every identity of the generated feed's valid messages.
    static func generatedIdentities(_ bench: FaultBench) throws -> [String] {
        let validator = MessageValidator(registry: .kunming, keyRing: nil)
        var result: [String] = []
        for kind in RecordKind.allCases {
            let text = try String(
                contentsOf: URL(fileURLWithPath: bench.dir.file("feed/\(kind.topic(prefix: "sti")).keyed")),
                encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let tab = line.firstIndex(of: "\t") else { continue }
                let value = Array(line[line.index(after: tab)...].utf8)
                let record = value.withUnsafeBytes { bytes in
                    try? validator.validate(InboundMessage(topicKind: kind, key: nil, value: bytes, timestampMillis: 0))
                        .get()
                }
                if let record { result.append(record.identity) }
            }
        }
        return result
    }
}
