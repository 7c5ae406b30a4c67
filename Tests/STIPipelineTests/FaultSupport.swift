// Support for the broker-fault suites: a mock cluster loaded with a generated feed, aggregation
// runs in the background, a look at the state file's progress from outside, and the checks
// "nothing lost, nothing counted twice" made on what the runs left behind.
import Foundation
import GRDB
import Kafka
import Logging
import STIProtocol
import STITestSupport
import Synchronization

@testable import STIFeedGenerator
@testable import STIPipeline

/// A check that failed in blocking work off the test's task, thrown with this text.
struct FaultFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Log lines of a run, kept in memory (to see which warnings a fault caused).
final class FaultLog: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "fault-test") { _ in Handler(log: self) }
    }

    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let log: FaultLog
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

/// Blocking work on a thread of its own, whose result can be awaited with a bound: a run that
/// hangs shows as `nil` instead of holding up the suite.
final class FaultBackground<T: Sendable>: Sendable {
    private let result = Mutex<T?>(nil)

    init(_ body: @escaping @Sendable () -> T) {
        let thread = Thread {
            let value = body()
            self.result.withLock { $0 = value }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    var isDone: Bool { result.withLock { $0 != nil } }

    /// The result, or nil when `timeout` passed first.
    func wait(timeout: Duration) -> T? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = result.withLock({ $0 }) { return value }
            usleep(5_000)
        }
        return result.withLock { $0 }
    }
}

/// Σ of the stored next offsets in a state file, read through a read-only connection while a
/// run writes it (WAL mode lets a reader in at any time); 0 while there is nothing to read.
final class FaultProgressProbe {
    let path: String
    private var queue: DatabaseQueue?

    init(path: String) { self.path = path }

    func committed() -> Int64 {
        // Only once the run has switched the file to WAL (the -wal file exists): a reader that
        // opens the file earlier holds a lock that makes the run's `journal_mode = WAL` fail.
        if queue == nil, FileManager.default.fileExists(atPath: path + "-wal") {
            var config = Configuration()
            config.readonly = true
            queue = try? DatabaseQueue(path: path, configuration: config)
        }
        guard let queue else { return 0 }
        return
            (try? queue.read { db in
                try Int64.fetchOne(db, sql: "SELECT coalesce(sum(next_offset), 0) FROM offsets") ?? 0
            }) ?? 0
    }
}

/// One message as read back from the mock cluster.
struct FaultMessage: Hashable, Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]
}

/// A mock cluster with the protocol's topics, loaded with a generated feed.
final class FaultBench: @unchecked Sendable {
    static let partitions: Int32 = 4
    let cluster: MockCluster
    let dir: TemporaryDirectory
    /// Messages produced per submission topic.
    private(set) var loaded: [String: Int] = [:]
    private(set) var summary: FeedGenerator.LoadSummary?

    init(brokers: Int = 3) throws {
        cluster = try MockCluster(brokers: brokers)
        dir = try TemporaryDirectory(prefix: "sti-fault")
        for topic in TopicLayout.topics(prefix: "sti", partitions: Self.partitions, replicationFactor: 1) {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
    }

    deinit {
        cluster.close()
        dir.remove()
    }

    static var submissionTopics: [String] { RecordKind.allCases.map { $0.topic(prefix: "sti") } }

    /// Generates a load feed and produces it, each `.keyed` line as one keyed message.
    func load(messages: Int, seed: UInt64, invalidFraction: Double = 0.02) throws {
        let feed = URL(fileURLWithPath: dir.file("feed"))
        summary = try FeedGenerator(seed: seed).writeLoad(
            to: feed, messages: messages, invalidFraction: invalidFraction)
        let producer = try KafkaProducer(
            configuration: try Submitter.producerConfiguration(bootstrapServers: cluster.bootstrapServers))
        for topic in Self.submissionTopics {
            let text = try String(contentsOf: feed.appendingPathComponent("\(topic).keyed"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let tab = line.firstIndex(of: "\t") else {
                    throw FaultFailure("no tab in a .keyed line of \(topic)")
                }
                try producer.send(
                    topic: topic, key: Array(line[..<tab].utf8), value: Array(line[line.index(after: tab)...].utf8))
                loaded[topic, default: 0] += 1
            }
        }
        try producer.flush(timeout: .seconds(30))
        guard producer.failed == 0 else {
            throw FaultFailure("\(producer.failed) feed messages not delivered: \(producer.takeFailures().prefix(3))")
        }
    }

    func out(_ series: String) -> URL { URL(fileURLWithPath: dir.file("\(series)/out")) }
    func state(_ series: String) -> String { dir.file("\(series)/state.sqlite") }

    func options(_ series: String, timeout: Duration = .seconds(6), batchSize: Int = 50) -> AggregateOptions {
        AggregateOptions(
            brokers: cluster.bootstrapServers, out: out(series), statePath: state(series),
            groupId: "sti-fault-\(series)", timeout: timeout, batchSize: batchSize)
    }

    /// One run, blocking.
    func aggregate(_ options: AggregateOptions, log: FaultLog = FaultLog()) -> Result<AggregateSummary, AggregateError>
    {
        Result { () throws(AggregateError) -> AggregateSummary in
            try Aggregator(options: options, logger: log.logger).run()
        }
    }

    /// `latest/indicators.csv` and `latest/completeness.csv` of a series.
    func latestTables(_ series: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for file in [SnapshotWriter.indicatorsFile, SnapshotWriter.completenessFile] {
            result[file] = Array(try Data(contentsOf: out(series).appendingPathComponent("latest/\(file)")))
        }
        return result
    }

    /// Every message of a topic, read from the beginning until each partition's end.
    func readAll(_ topic: String, timeout: Duration = .seconds(30)) throws -> [FaultMessage] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: ["enable.partition.eof": "true"]))
        defer { try? consumer.close() }
        try consumer.assign((0..<Self.partitions).map { TopicPartitionOffset.beginning(topic, $0) })
        var messages: [FaultMessage] = []
        var drained = Set<Int32>()
        let deadline = ContinuousClock.now + timeout
        while drained.count < Self.partitions {
            guard ContinuousClock.now < deadline else {
                throw FaultFailure("\(topic) not read to its end within \(timeout)")
            }
            try consumer.poll(maxMessages: 1_000, timeout: .milliseconds(100)) { view in
                switch view.kind {
                case .message:
                    drained.remove(view.partition)
                    messages.append(
                        FaultMessage(
                            topic: topic, partition: view.partition, offset: view.offset,
                            key: view.keyBytes, value: view.valueBytes))
                case .partitionEOF: drained.insert(view.partition)
                case .error: break
                }
            }
        }
        return messages
    }

    /// Notices on sti.rejected: "partition@offset" there → the source "topic partition offset".
    func notices() throws -> [String: String] {
        var result: [String: String] = [:]
        for message in try readAll("sti.rejected") {
            guard let object = try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any],
                let source = object["source"] as? [String: Any], let topic = source["topic"] as? String,
                let partition = source["partition"] as? Int, let offset = source["offset"] as? Int
            else { throw FaultFailure("malformed notice at sti.rejected[\(message.partition)]@\(message.offset)") }
            result["\(message.partition)@\(message.offset)"] = "\(topic) \(partition) \(offset)"
        }
        return result
    }

    /// The chain of snapshots from `latest` back through `previous_run_id`.
    func chain(_ series: String) throws -> [(manifest: Manifest, rejections: [String])] {
        let out = out(series).path
        var result: [(manifest: Manifest, rejections: [String])] = []
        var run: String? = (try FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest") as NSString)
            .lastPathComponent
        while let id = run {
            guard result.count < 1_000 else { throw FaultFailure("previous_run_id loops") }
            let folder = URL(fileURLWithPath: "\(out)/runs/\(id)")
            let manifest = try Manifest.load(contentsOf: folder.appendingPathComponent(SnapshotWriter.manifestFile))
            let text = try String(
                contentsOf: folder.appendingPathComponent(SnapshotWriter.rejectionsFile), encoding: .utf8)
            // Rows of rejections.csv; the first three fields (topic, partition, offset) are never quoted.
            let rows = text.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
            result.append((manifest, Array(rows)))
            run = manifest.previousRunId
        }
        return result
    }

    /// Everything wrong with a series against the reference: tables, coverage of every offset
    /// exactly once by its snapshot chain, summed counts, rejection rows, and notices (sent after
    /// `noticesBefore` was taken) for every rejected offset. Empty when all is well.
    func problems(series: String, reference: String, noticesBefore: Set<String>) throws -> [String] {
        var problems: [String] = []
        if try latestTables(series) != latestTables(reference) {
            problems.append("\(series): tables differ from the reference")
        }
        let seriesChain = try chain(series)
        let referenceChain = try chain(reference)
        guard referenceChain.count == 1, let ref = referenceChain.first?.manifest else {
            return problems + ["reference chain has \(referenceChain.count) snapshots"]
        }

        var ranges: [String: [(Int64, Int64)]] = [:]
        var counts = RunCounts()
        var rows: [String] = []
        for (manifest, rejections) in seriesChain {
            for r in manifest.offsets {
                ranges["\(r.topic)[\(r.partition)]", default: []].append((r.firstOffset, r.endOffset))
            }
            counts.read += manifest.counts.read
            counts.accepted += manifest.counts.accepted
            counts.duplicates += manifest.counts.duplicates
            counts.rejected += manifest.counts.rejected
            for (code, n) in manifest.counts.rejectedByCode { counts.rejectedByCode[code, default: 0] += n }
            rows += rejections
        }
        for r in ref.offsets {
            let key = "\(r.topic)[\(r.partition)]"
            var position: Int64 = 0
            for (first, end) in (ranges.removeValue(forKey: key) ?? []).sorted(by: { $0 < $1 }) {
                if first != position {
                    problems.append("\(series) \(key): \(first > position ? "gap" : "overlap") at \(position)/\(first)")
                }
                position = max(position, end)
            }
            if r.firstOffset != 0 || position != r.endOffset {
                problems.append("\(series) \(key): covered to \(position), reference \(r.firstOffset)..<\(r.endOffset)")
            }
        }
        if !ranges.isEmpty {
            problems.append("\(series): ranges of partitions the reference did not read: \(ranges.keys.sorted())")
        }
        if counts != ref.counts { problems.append("\(series): summed counts \(counts) != reference \(ref.counts)") }
        let refRows = referenceChain[0].rejections
        if rows.sorted() != refRows.sorted() {
            problems.append("\(series): \(rows.count) rejection rows, reference \(refRows.count) (or they differ)")
        }

        let expected = Set(refRows.map { $0.split(separator: ",").prefix(3).joined(separator: " ") })
        let sent = Set(try notices().filter { !noticesBefore.contains($0.key) }.values)
        let missing = expected.subtracting(sent)
        if !missing.isEmpty {
            problems.append(
                "\(series): \(missing.count) rejected offsets without a notice, e.g. \(missing.sorted().prefix(3))")
        }
        if !sent.isSubset(of: expected) {
            problems.append("\(series): notices for offsets the reference did not reject")
        }

        let loadedTotal = loaded.values.reduce(0, +)
        if ref.counts.read != loadedTotal {
            problems.append("reference read \(ref.counts.read) of \(loadedTotal) messages")
        }
        if let summary, ref.counts.rejected != summary.invalid {
            problems.append("reference rejected \(ref.counts.rejected), the feed has \(summary.invalid) invalid")
        }
        return problems
    }
}
