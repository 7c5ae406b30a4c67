// Issue 11 points 3, 6 (partition counts), 9 and 14, on a real broker (Tansu), with the
// aggregator in this process so that the typed error codes can be checked: a run must stop,
// before it consumes anything, when the log it would resume is not the log its state read (a
// topic deleted and recreated, longer or shorter), or when a submission topic's partition
// count changed; and a run must end while a producer outpaces it, the next runs reading the
// rest exactly once. Runs only in the second test invocation (librdkafka 2.16 loaded, see
// Deploy/test.sh).
import Foundation
import GRDB
import Kafka
import STIProtocol
import STITestSupport
import Synchronization
import Testing

@testable import STIPipeline

@Suite(.serialized, .timeLimit(.minutes(6)), .tansuInProcess)
struct LogCheckTansuInProcessTests {
    /// A valid technology contract of 530102 whose identity is `number` (so each is accepted).
    static func contract(_ number: String) -> [UInt8] {
        Array(
            #"{"schema":"sti.tech-contract/1","county":"530102","revision":1,"status":"active","submitted_at":"2026-01-15T09:30:00+08:00","contract_no":"\#(number)","registered_on":"2024-03-01","contract_type":"development","domain":"biomedicine","contract_value_10k_cny":50,"tech_transaction_value_10k_cny":40,"buyer_country":"VN"}"#
                .utf8)
    }

    static let contracts = "sti.tech-contracts"

    /// One broker, the protocol's topics with one partition each, a scratch folder.
    final class Bench: @unchecked Sendable {
        let broker: TansuBroker
        let dir: TemporaryDirectory
        var out: URL { URL(fileURLWithPath: dir.file("out")) }
        var statePath: String { dir.file("state.db") }

        init() throws {
            broker = try TansuBroker()
            dir = try TemporaryDirectory(prefix: "sti-logcheck")
            try createTopics()
        }

        func close() {
            broker.stop()
            dir.remove()
        }

        func createTopics(partitions: Int32 = 1, only: String? = nil) throws {
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
            let topics = TopicLayout.topics(prefix: "sti", partitions: partitions, replicationFactor: 1).filter {
                only == nil || $0.name == only
            }
            let results = try admin.createTopics(topics, timeout: .seconds(20))
            guard results.allSatisfy({ $0.error == nil }) else {
                throw TestEnvironmentError("create topics: \(results)")
            }
        }

        /// Produces contracts `prefix-0` … on the contracts topic, all in one go (Tansu stores
        /// them in few batches, so its ListOffsets(latest) is too low: the checks must not rely on it).
        func produce(_ prefix: String, count: Int) throws {
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
            for i in 0..<count {
                try producer.send(topic: contracts, key: Array("530102".utf8), value: contract("\(prefix)-\(i)"))
            }
            try producer.flush(timeout: .seconds(30))
            guard producer.delivered == count, producer.failed == 0 else {
                throw TestEnvironmentError("delivered \(producer.delivered) of \(count)")
            }
        }

        func options(
            timeout: Duration = .seconds(30), batchSize: Int = 10_000, maxMessages: Int? = nil, rebuild: Bool = false
        ) -> AggregateOptions {
            AggregateOptions(
                brokers: broker.bootstrapServers, out: out, statePath: statePath, rebuild: rebuild,
                timeout: timeout, batchSize: batchSize, maxMessages: maxMessages)
        }

        func run(_ options: AggregateOptions) -> Result<AggregateSummary, AggregateError> {
            Result { () throws(AggregateError) in try Aggregator(options: options, logger: LogRecorder().logger()).run()
            }
        }

        func storedOffsets() throws -> [TopicPartitionKey: Int64] {
            try SQLiteStateStore(readingFrom: statePath).offsets()
        }

        func runFolders() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: out.path + "/runs")) ?? []).filter {
                !$0.hasPrefix(".")
            }.sorted()
        }

        func latest() -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: out.path + "/latest") }

        func manifests() throws -> [Manifest] {
            try runFolders().map {
                try Manifest.load(contentsOf: out.appendingPathComponent("runs/\($0)/\(SnapshotWriter.manifestFile)"))
            }
        }
    }

    static func withBench<T: Sendable>(_ body: @escaping @Sendable (Bench) throws -> T) async throws -> T {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        return try await onDedicatedThread {
            let bench = try Bench()
            defer { bench.close() }
            return try body(bench)
        }
    }

    /// What a refused run left: its error, and whether the state and the snapshots moved.
    struct Refusal: Sendable {
        var first: Result<AggregateSummary, AggregateError>
        var refused: Result<AggregateSummary, AggregateError>
        var offsetsBefore: [TopicPartitionKey: Int64]
        var offsetsAfter: [TopicPartitionKey: Int64]
        var foldersBefore: [String]
        var foldersAfter: [String]
        var latestBefore: String?
        var latestAfter: String?
        var rebuilt: Result<AggregateSummary, AggregateError>? = nil

        var error: AggregateError? { if case .failure(let e) = refused { e } else { nil } }

        func expectNothingConsumed(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(
                offsetsAfter == offsetsBefore, "the refused run moved the stored offsets",
                sourceLocation: sourceLocation)
            #expect(foldersAfter == foldersBefore, "the refused run wrote a snapshot", sourceLocation: sourceLocation)
            #expect(latestAfter == latestBefore, sourceLocation: sourceLocation)
        }
    }

    /// First run over `before` contracts, then the contracts topic is deleted and recreated with
    /// `after` other contracts, then the run that must refuse (and optionally a rebuild).
    static func recreate(
        before: Int, after: Int, timeout: Duration = .seconds(30), dropTails: Bool = false, rebuild: Bool = false
    ) async throws -> Refusal {
        try await withBench { bench in
            try bench.produce("A", count: before)
            let first = bench.run(bench.options())
            if dropTails {
                // A state written before tails were kept: only the offsets tell where it was.
                let queue = try DatabaseQueue(path: bench.statePath)
                try queue.write { try $0.execute(sql: "DELETE FROM consumed_tails") }
            }
            let offsetsBefore = try bench.storedOffsets()
            let foldersBefore = bench.runFolders()
            let latestBefore = bench.latest()
            try bench.broker.deleteTopic(contracts)
            try bench.createTopics(only: contracts)
            if after > 0 { try bench.produce("B", count: after) }
            let refused = bench.run(bench.options(timeout: timeout))
            var refusal = Refusal(
                first: first, refused: refused, offsetsBefore: offsetsBefore, offsetsAfter: try bench.storedOffsets(),
                foldersBefore: foldersBefore, foldersAfter: bench.runFolders(), latestBefore: latestBefore,
                latestAfter: bench.latest())
            if rebuild { refusal.rebuilt = bench.run(bench.options(rebuild: true)) }
            return refusal
        }
    }

    @Test("a topic deleted and recreated with other records: refused before anything is consumed, --rebuild recovers")
    func recreatedTopicIsRefused() async throws {
        let outcome = try await Self.recreate(before: 3, after: 5, rebuild: true)
        #expect(try outcome.first.get().counts.accepted == 3)
        let error = try #require(outcome.error, "the run over a recreated topic did not fail: \(outcome.refused)")
        #expect(error.code == .logReplaced)
        #expect(
            error.description.contains(
                "sti.tech-contracts[0]: the message at offset 2 is not the one this state consumed there"), "\(error)")
        #expect(
            error.description.contains("deleted and recreated") && error.description.contains("--rebuild"), "\(error)")
        outcome.expectNothingConsumed()
        // What the error recommends works: the rebuilt state holds the new topic's 5 records only.
        let rebuilt = try #require(try outcome.rebuilt?.get())
        #expect(rebuilt.counts.read == 5 && rebuilt.counts.accepted == 5)
        #expect(rebuilt.recordsPerGeography["530102"] == 5)
    }

    @Test(
        "a recreated topic shorter than the stored offset: named at once, not a 30 s 'no answer'",
        arguments: [2, 0])
    func shorterRecreatedTopicIsNamed(after: Int) async throws {
        let outcome = try await Self.recreate(before: 5, after: after)
        let error = try #require(outcome.error, "\(outcome.refused)")
        #expect(error.code == .logReplaced)
        #expect(
            error.description.contains(
                "sti.tech-contracts[0]: this state read up to offset 5, but the partition now ends at offset \(after)"),
            "\(error)")
        #expect(!error.description.contains("no answer from the brokers"), "\(error)")
        outcome.expectNothingConsumed()
    }

    @Test("a state from before tails were kept: a shorter recreated topic is still named (the message must exist)")
    func stateWithoutTailsStillNeedsTheMessage() async throws {
        let outcome = try await Self.recreate(before: 5, after: 2, dropTails: true)
        let error = try #require(outcome.error, "\(outcome.refused)")
        #expect(error.code == .logReplaced)
        #expect(
            error.description.contains(
                "sti.tech-contracts[0]: this state read up to offset 5, but the partition now ends at offset 2"),
            "\(error)")
        outcome.expectNothingConsumed()
    }

    @Test("a state from before tails were kept keeps working, and records tails from its next batch on")
    func stateWithoutTailsKeepsWorking() async throws {
        let outcome = try await Self.withBench { bench in
            try bench.produce("A", count: 4)
            let first = try bench.run(bench.options()).get()
            let queue = try DatabaseQueue(path: bench.statePath)
            try queue.write { try $0.execute(sql: "DELETE FROM consumed_tails") }
            let idle = try bench.run(bench.options()).get()
            let tailsAfterIdle = try SQLiteStateStore(readingFrom: bench.statePath).consumedTails()
            try bench.produce("B", count: 3)
            let next = try bench.run(bench.options()).get()
            let tails = try SQLiteStateStore(readingFrom: bench.statePath).consumedTails()
            return (first.counts.read, idle.counts.read, tailsAfterIdle.count, next.counts.read, tails)
        }
        #expect(outcome.0 == 4 && outcome.1 == 0 && outcome.3 == 3)
        #expect(outcome.2 == 0)
        let tail = try #require(outcome.4[TopicPartitionKey(topic: Self.contracts, partition: 0)])
        #expect(tail.offset == 6)
        #expect(tail.digest == PartitionTails.digest(key: Array("530102".utf8), value: Self.contract("B-2")))
        #expect(tail.timestampMillis > 0)
    }

    @Test("a submission topic whose partition count changed stops the run, naming topic and counts")
    func partitionCountChangeIsRefused() async throws {
        let outcome = try await Self.withBench { bench in
            try bench.produce("A", count: 2)
            let first = bench.run(bench.options())
            let counts = try SQLiteStateStore(readingFrom: bench.statePath).partitionCounts()
            let offsetsBefore = try bench.storedOffsets()
            let foldersBefore = bench.runFolders()
            // Never consumed from (no stored offset, no tail): only the count can tell.
            try bench.broker.deleteTopic("sti.county-profiles")
            try bench.createTopics(partitions: 2, only: "sti.county-profiles")
            let refused = bench.run(bench.options())
            return (first, counts, refused, offsetsBefore, try bench.storedOffsets(), foldersBefore, bench.runFolders())
        }
        #expect(try outcome.0.get().counts.accepted == 2)
        #expect(outcome.1 == ["sti.rd": 1, "sti.tech-contracts": 1, "sti.county-profiles": 1])
        guard case .failure(let error) = outcome.2 else {
            Issue.record("a run over a topic with a changed partition count succeeded: \(outcome.2)")
            return
        }
        #expect(error.code == .partitionCountChanged)
        #expect(error.description.contains("topic sti.county-profiles has 2 partition(s), but state file"), "\(error)")
        #expect(error.description.contains("recorded 1 when it first saw it"), "\(error)")
        #expect(
            error.description.contains("move to another partition") && error.description.contains("--rebuild"),
            "\(error)")
        #expect(outcome.4 == outcome.3)
        #expect(outcome.6 == outcome.5)
    }

    /// Produces contracts `P-0`, `P-1`, … in bursts with short pauses, about 5,000 a second,
    /// until told to stop or `cap` messages or `maxDuration` are reached, whichever first: far
    /// faster than the aggregator with one message per batch (about 1,400 a second here), and
    /// bounded in time and in broker memory.
    final class Producer: Sendable {
        let running = Atomic<Bool>(true)
        let stop = Atomic<Bool>(false)
        /// Acknowledged by the broker so far.
        let delivered = Atomic<Int>(0)
        let cap: Int
        let maxDuration: Duration

        init(cap: Int = 200_000, maxDuration: Duration = .seconds(60)) {
            self.cap = cap
            self.maxDuration = maxDuration
        }

        /// Blocking; returns (delivered, failed) once everything sent has a delivery report.
        func run(brokers: String) throws -> (delivered: Int, failed: Int) {
            defer { running.store(false, ordering: .relaxed) }
            var config = KafkaConfiguration(bootstrapServers: brokers)
            config.set("linger.ms", "5")
            let producer = try KafkaProducer(configuration: config)
            let started = ContinuousClock.now
            var n = 0
            while !stop.load(ordering: .relaxed) && n < cap && ContinuousClock.now - started < maxDuration {
                for _ in 0..<250 {
                    try producer.send(
                        topic: LogCheckTansuInProcessTests.contracts, key: Array("530102".utf8),
                        value: LogCheckTansuInProcessTests.contract("P-\(n)"))
                    n += 1
                }
                producer.poll()
                delivered.store(producer.delivered, ordering: .relaxed)
                usleep(50_000)
            }
            try producer.flush(timeout: .seconds(60))
            return (producer.delivered, producer.failed)
        }
    }

    // The producer stops at its cap after about 40 s; the first run reads the backlog it found
    // (a few thousand messages) in a few seconds, so "still running" has a wide margin.
    @Test(
        "a run ends at the log ends it saw at its start while a producer outpaces it; the next runs read the rest exactly once"
    )
    func runEndsWhileAProducerOutpacesIt() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let bench = try await onDedicatedThread { try Bench() }
        defer { bench.close() }
        let producer = Producer()
        let brokers = bench.broker.bootstrapServers
        async let produced = onDedicatedThread { try producer.run(brokers: brokers) }

        // Some backlog first, so that the first run has work.
        let waitStart = ContinuousClock.now
        while producer.delivered.load(ordering: .relaxed) < 2_000 && producer.running.load(ordering: .relaxed)
            && ContinuousClock.now - waitStart < .seconds(60)
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        // One message per batch: the run is much slower than the producer, and the old drain
        // (until every partition reports EOF) never ended while it produced.
        let first = try await onDedicatedThread { try bench.run(bench.options(batchSize: 1)).get() }
        let producerRanOn = producer.running.load(ordering: .relaxed)
        // An operator bound on top: exactly that many messages, while there is more to read.
        let bounded = try await onDedicatedThread {
            try bench.run(bench.options(batchSize: 100, maxMessages: 700)).get()
        }
        producer.stop.store(true, ordering: .relaxed)
        let (delivered, failed) = try await produced
        let rest = try await onDedicatedThread { try bench.run(bench.options()).get() }
        let idle = try await onDedicatedThread { try bench.run(bench.options()).get() }
        let manifests = try bench.manifests()
        print(
            "bounded run: first run read \(first.counts.read) while producing; then \(bounded.counts.read) (--max-messages 700), then \(rest.counts.read); \(delivered) produced"
        )

        #expect(producerRanOn, "the first run ended only after the producer had stopped")
        #expect(failed == 0)
        #expect(first.counts.read > 0 && first.runId != nil, "the first run had nothing to read")
        #expect(first.counts.read < delivered)
        #expect(bounded.counts.read == 700 && bounded.runId != nil)
        #expect(idle.runId == nil && idle.counts.read == 0)
        // Exactly once: every produced message accepted once, the snapshots' ranges contiguous.
        #expect(first.counts.accepted + bounded.counts.accepted + rest.counts.accepted == delivered)
        #expect(rest.recordsPerGeography["530102"] == delivered)
        #expect(manifests.count == 3)
        let ranges = manifests.flatMap(\.offsets).filter { $0.topic == Self.contracts }.sorted {
            $0.firstOffset < $1.firstOffset
        }
        var position: Int64 = 0
        for range in ranges {
            #expect(range.firstOffset == position, "gap or overlap at \(position): \(ranges)")
            position = range.endOffset
        }
        #expect(position == Int64(delivered))
        #expect(manifests.reduce(0) { $0 + $1.counts.read } == delivered)
    }
}
