public import Foundation
import Kafka
public import Logging
public import STIProtocol
import Synchronization

/// What an aggregation run needs to know; resolved from flags, environment and config file by
/// the CLI (see `Settings`).
public struct AggregateOptions: Sendable {
    public var brokers: String
    public var out: URL
    public var statePath: String
    public var keysPath: String?
    public var registry: Registry
    public var groupId: String
    public var topicPrefix: String
    /// librdkafka properties passed through unchanged (`-X`, `--kafka-config`).
    public var kafkaProperties: [String: String]
    public var rebuild: Bool
    /// How long the brokers may stay silent before the run fails (never a hang).
    public var timeout: Duration
    /// Messages per batch; one SQLite transaction per batch.
    public var batchSize: Int
    /// At most this many messages per run (nil: no bound but the log ends seen at the start).
    public var maxMessages: Int?
    public var programVersion: String

    public init(
        brokers: String, out: URL, statePath: String, keysPath: String? = nil, registry: Registry = .kunming,
        groupId: String = Defaults.groupId, topicPrefix: String = Defaults.topicPrefix,
        kafkaProperties: [String: String] = [:],
        rebuild: Bool = false, timeout: Duration = .seconds(30), batchSize: Int = Defaults.batchSize,
        maxMessages: Int? = nil, programVersion: String = stiVersion
    ) {
        self.brokers = brokers
        self.out = out
        self.statePath = statePath
        self.keysPath = keysPath
        self.registry = registry
        self.groupId = groupId
        self.topicPrefix = topicPrefix
        self.kafkaProperties = kafkaProperties
        self.rebuild = rebuild
        self.timeout = timeout
        self.batchSize = batchSize
        self.maxMessages = maxMessages
        self.programVersion = programVersion
    }
}

/// The version written into every manifest.
public let stiVersion = "0.1.0"

/// What one run did.
public struct AggregateSummary: Sendable {
    /// The snapshot written, nil when there was nothing new.
    public var runId: String?
    public var snapshotPath: String?
    /// What this run consumed (a snapshot's manifest may also cover work of a run that crashed
    /// before writing its snapshot).
    public var counts: RunCounts
    public var authenticationEnabled: Bool
    public var indicators: [IndicatorRow]
    public var stoppedEarly: Bool
    /// Current active records per geography over all years (for metrics).
    public var recordsPerGeography: [String: Int] = [:]
    /// Per submission partition, the messages not read by the end of the run: the log end seen
    /// when the run began minus the offset it committed (messages produced while it ran are not
    /// counted; the next run's figure has them).
    public var consumerLag: [StatusReport.Partition] = []

    /// One line for logs and the terminal.
    public var line: String {
        var rejected = counts.rejectedByCode.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(
            separator: " ")
        if rejected.isEmpty { rejected = "none" }
        var head =
            "read \(counts.read), accepted \(counts.accepted), duplicates \(counts.duplicates), rejected \(counts.rejected) (\(rejected))"
        // Section 5a: held messages wait for the bureau's explanation.
        let held = counts.heldByCode.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map {
            "\($0.key.rawValue)=\($0.value)"
        }
        head += ", held \(counts.held)" + (held.isEmpty ? "" : " (\(held.joined(separator: " ")))")
        if let snapshotPath { return "\(head); snapshot \(snapshotPath)" }
        return "\(head); nothing new, no new snapshot"
    }
}

/// A run that could not complete, with what to do about it. Nothing half-done is published:
/// state commits are per batch and `latest` only ever points at a complete snapshot.
///
/// `code` says which rule or step failed (JSON logs carry it as `error_code`); `underlying` is
/// the error of the layer below as it was thrown (a `StateStoreError` with its own code, a
/// `KafkaError`, a `SnapshotError`, …), never its text parsed back. `description` is the
/// sentence for the operator: what failed, the file or topic, and what to do.
public struct AggregateError: Error, Sendable, CustomStringConvertible {
    /// Failures a caller (the CLI, an alert, a test) must tell apart.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// `-X` / `--kafka-config` properties refused, or librdkafka refused the configuration.
        case configuration
        /// `--out` cannot be written.
        case outputUnusable = "output_unusable"
        /// The `--keys` file cannot be read or is invalid.
        case keysUnusable = "keys_unusable"
        /// The state store refused: `stateError` (its `code`) says why (locked, unreadable,
        /// another layout, not a state, …).
        case state
        /// The state was built from another cluster or topic prefix, or has offsets of
        /// partitions the brokers do not have.
        case otherCluster = "other_cluster"
        /// The brokers did not answer in time (metadata, log ends, a poll with no progress).
        case brokersUnreachable = "brokers_unreachable"
        /// A topic of the layout does not exist on the brokers.
        case topicMissing = "topic_missing"
        /// The message before a stored offset is not the one consumed there, or is gone: the
        /// topic was deleted and recreated; the state does not describe this log.
        case logReplaced = "log_replaced"
        /// Messages before a stored offset were deleted (retention, DeleteRecords): a rebuild
        /// cannot bring them back.
        case logTruncated = "log_truncated"
        /// A submission topic's partition count differs from the one the state first saw.
        case partitionCountChanged = "partition_count_changed"
        /// A Kafka client could not be created, assigned or polled.
        case kafka
        /// A batch's rejection notices were not confirmed by the brokers: nothing of the batch
        /// was committed.
        case noticesUndelivered = "notices_undelivered"
        /// The snapshot could not be written, published, or compared with the previous one.
        case snapshotFailed = "snapshot_failed"
        /// A batch was stopped between decide and apply (a test's fault hook).
        case batchInterrupted = "batch_interrupted"
        /// A failure of no known kind (a bug): `underlying` holds it.
        case unexpected
    }

    public var code: Code
    /// The error of the layer below, as thrown; its text is already part of `description`.
    public var underlying: (any Error)?
    public var description: String

    public init(_ code: Code, _ description: String, underlying: (any Error)? = nil) {
        self.code = code
        self.description = description
        self.underlying = underlying
    }

    /// `"<context>: <underlying>"`, keeping `underlying` as it is.
    public init(_ code: Code, context: String, underlying: any Error) {
        self.init(code, "\(context): \(underlying)", underlying: underlying)
    }

    /// The state store's error, unchanged in text, as code `state`.
    public init(state: StateStoreError, context: String? = nil) {
        self.init(.state, context.map { "\($0): \(state)" } ?? state.description, underlying: state)
    }

    /// The state store's error beneath, if that is what failed.
    public var stateError: StateStoreError? { underlying as? StateStoreError }

    /// `error_code` (and, for a state error, `state_error_code`) for a log line about `error`
    /// (JSON logs carry them as fields, so alerts need not match the text).
    public static func logMetadata(_ error: any Error) -> Logger.Metadata? {
        guard let error = error as? AggregateError else { return nil }
        var metadata: Logger.Metadata = ["error_code": "\(error.code.rawValue)"]
        if let state = error.stateError { metadata["state_error_code"] = "\(state.code.rawValue)" }
        return metadata
    }
}

/// Asks a run to stop: it finishes the batch it is at, commits it and stops before the topics
/// are drained (then snapshots what it committed). One token per run or per service, set by the
/// service group's graceful shutdown (SIGTERM, SIGINT) or by a test; no global flag.
public final class StopToken: Sendable {
    private let requested = Atomic<Bool>(false)
    public init() {}
    public func request() { requested.store(true, ordering: .relaxed) }
    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// One aggregation run: check that the log resumed is the log read (partition counts, the
/// last message consumed of every partition), read the submission topics from the stored
/// offsets up to the log ends seen at the start, validate, apply revisions, send rejection
/// notices, write a snapshot and move `latest` to it.
///
/// Exactly once, by the order of durable steps:
/// 1. Per batch, one SQLite transaction holds the records, totals, offsets, counts and
///    rejections of the batch; rejection notices are flushed to the broker *before* it commits.
///    A crash before the commit redoes the batch (a notice may be sent twice, which section 6
///    allows); after it, the batch is never read again. The state never holds half a batch.
/// 2. The snapshot folder is written and fsynced from the committed state.
/// 3. The state marks the pending work as snapshotted (one transaction). A crash between 2 and
///    3 leaves an orphan folder; the next run snapshots the same pending work again.
/// 4. `latest` moves atomically. A crash between 3 and 4 is repaired at the next start, which
///    points `latest` at the state's last run.
/// 5. Offsets are committed to the consumer group, for monitoring only.
public final class Aggregator {
    public let options: AggregateOptions
    let logger: Logger
    let rejectedTopic: String
    let topicKinds: [String: RecordKind]
    /// How many identities a run from an empty store remembers so as not to look them up
    /// (see `BatchProcessor`): 4 million, about 64 MB.
    var identityMemoryLimit = 4_000_000
    /// Asked for by a signal or a service's shutdown.
    public let stop: StopToken
    /// Whether a batch is decided and committed on a thread of its own while the next one is
    /// polled and validated (the default), or everything runs on the calling thread. The outcome
    /// is the same (tests compare them).
    var concurrentBatches = true
    /// Tests: called with each batch's number after it was decided, before its notices are sent
    /// and it is applied; throwing there stands for a crash between decide and apply.
    var afterDecide: (@Sendable (Int) throws -> Void)?

    public init(options: AggregateOptions, logger: Logger, stop: StopToken = StopToken()) {
        self.options = options
        self.logger = logger
        self.stop = stop
        self.rejectedTopic = "\(options.topicPrefix).\(rejectedTopicSuffix)"
        var kinds: [String: RecordKind] = [:]
        for kind in RecordKind.allCases { kinds[kind.topic(prefix: options.topicPrefix)] = kind }
        self.topicKinds = kinds
    }

    public var submissionTopics: [String] { RecordKind.allCases.map { $0.topic(prefix: options.topicPrefix) } }

    // MARK: Preparation

    /// Everything checked before a single message is consumed.
    struct Prepared {
        var store: any StateStore
        var writer: SnapshotWriter
        var validator: MessageValidator
        var keyRingEnabled: Bool
        var book: AggregateBook
        var consumer: KafkaConsumer
        var producer: KafkaProducer
        var partitions: [TopicPartitionKey: Int64]
        /// Per partition, the log end when the run began: the run reads no further.
        var limits: [TopicPartitionKey: Int64]
    }

    /// The brokers, `clientId` and the operator's librdkafka properties, which come last, so a
    /// `client.id` given with -X names every client.
    func baseConfiguration(clientId: String = "sti-aggregate") throws(AggregateError) -> KafkaConfiguration {
        do { try KafkaPassThrough.check(options.kafkaProperties) } catch {
            throw AggregateError(.configuration, "\(error)", underlying: error)
        }
        var config = KafkaConfiguration(bootstrapServers: options.brokers)
        config.clientId = clientId
        for (key, value) in options.kafkaProperties { config.set(key, value) }
        return config
    }

    func prepare() throws(AggregateError) -> Prepared {
        var writer = SnapshotWriter(out: options.out)
        writer.extraFile = SnapshotWorkbook.extraFile  // snapshot.xlsx (Feed/SnapshotWorkbook.swift)
        do { try writer.checkWritable() } catch {
            throw AggregateError(.outputUnusable, context: "--out \(options.out.path) is not usable", underlying: error)
        }

        var keyRing: KeyRing?
        if let keysPath = options.keysPath {
            if let warning = KeyRing.permissionWarning(forFileAt: keysPath) { logger.warning("\(warning)") }
            do { keyRing = try KeyRing.load(contentsOf: URL(fileURLWithPath: keysPath)) } catch {
                throw AggregateError(.keysUnusable, context: "--keys", underlying: error)
            }
        } else {
            logger.warning("no keys file given: signatures are not checked (authentication disabled)")
        }

        let store: any StateStore
        do {
            let sqlite =
                options.rebuild
                ? try SQLiteStateStore(rebuildingAt: options.statePath) : try SQLiteStateStore(path: options.statePath)
            if options.rebuild {
                logger.info(
                    "rebuild: replaying every topic from offset 0 into \(sqlite.databasePath); the old state is replaced only when the run succeeds"
                )
            }
            store = sqlite
        } catch { throw AggregateError(state: error) }

        // Section 4: a retired key stays listed; removing it turns every message it signed into
        // E_AUTH at the next rebuild, and those records would vanish from the snapshots.
        if let keyRing {
            let listed = Set(keyRing.keys.map(\.id))
            for id in try wrapState({ try store.signingKeyIds() }).subtracting(listed).sorted() {
                logger.warning(
                    """
                    key \"\(id)\" signed messages this state accepted but is no longer in \(options.keysPath ?? "the keys file"): \
                    a --rebuild would reject every one of them with E_AUTH and drop them from the snapshots. Keep retired and \
                    compromised keys listed with a not_after instead of removing them (docs/protocol.md section 4)
                    """)
            }
        }

        // Step 4 repair: a crash after the state took a snapshot but before `latest` moved.
        if let last = try wrapState({ try store.meta("last_run_id") }), writer.latestRunId() != last,
            FileManager.default.fileExists(
                atPath: options.out.appendingPathComponent("runs/\(last)/\(SnapshotWriter.manifestFile)").path)
        {
            do { try writer.publishLatest(runId: last) } catch {
                throw AggregateError(.snapshotFailed, context: "cannot repair latest", underlying: error)
            }
            logger.notice("latest repaired to point at run \(last)")
        }
        writer.removeStaleTemporaryLinks()

        var base = try baseConfiguration()
        let admin: KafkaAdmin
        do { admin = try KafkaAdmin(configuration: base) } catch {
            throw AggregateError(.configuration, context: "Kafka configuration", underlying: error)
        }
        let metadata: [TopicMetadata]
        do { metadata = try admin.metadata(timeout: options.timeout) } catch {
            throw AggregateError(
                .brokersUnreachable,
                context: "cannot reach the brokers at \(options.brokers) within \(options.timeout)", underlying: error)
        }
        try checkCluster(admin: admin, store: store)
        try checkPartitionCounts(metadata: metadata, store: store)

        var partitions: [TopicPartitionKey: Int64] = [:]
        let stored = try wrapState { try store.offsets() }
        for topic in submissionTopics + [rejectedTopic] {
            guard let entry = metadata.first(where: { $0.name == topic }), entry.error == nil, !entry.partitions.isEmpty
            else {
                throw AggregateError(
                    .topicMissing,
                    "topic \(topic) does not exist on the brokers at \(options.brokers); create the topics with `sti topics create --brokers \(options.brokers)`"
                )
            }
            guard topic != rejectedTopic else { continue }
            for partition in entry.partitions {
                let key = TopicPartitionKey(topic: topic, partition: partition)
                partitions[key] = stored[key] ?? 0
            }
        }
        // Section 4: key windows are judged on broker timestamps; say so when a topic keeps the
        // producers' (the run goes on: unbounded keys and disabled authentication are unaffected).
        do {
            let described = try admin.describeTopicConfigs(
                submissionTopics, timeout: min(options.timeout, .seconds(10)))
            let bounded = keyRing?.keys.contains { $0.notBefore != nil || $0.notAfter != nil } ?? false
            for warning in TopicLayout.configurationWarnings(described, topics: submissionTopics, keysBounded: bounded)
            {
                logger.warning("\(warning)")
            }
        } catch {
            logger.warning(
                "cannot check the submission topics' \(TopicLayout.timestampTypeConfig) (\(error)); section 4 asks for \(TopicLayout.logAppendTime)"
            )
        }

        for key in stored.keys where partitions[key] == nil {
            throw AggregateError(
                .otherCluster,
                "the state has offsets for \(key), which the brokers no longer have: the topics were recreated or this state belongs to another cluster; run with --rebuild"
            )
        }

        // Before anything is consumed: the log resumed is the log read, and where it ends now.
        // The ends bound the run, so that it finishes (and snapshots) while producers go on.
        let limits: [TopicPartitionKey: Int64]
        do {
            let probe = try makeProbe()
            defer { try? probe.close() }
            try checkTails(probe: probe, stored: stored, store: store)
            let found: [TopicPartitionKey: Int64]
            do {
                found = try probe.logEnds(of: Array(partitions.keys), timeout: options.timeout)
            } catch {
                throw AggregateError(
                    .brokersUnreachable, context: "cannot read the log ends from the brokers at \(options.brokers)",
                    underlying: error)
            }
            let beyond = partitions.filter { $0.value > (found[$0.key] ?? .max) }.keys.sorted()
            if !beyond.isEmpty {
                throw Self.logReplacedError(
                    beyond.map {
                        (
                            $0,
                            "this state read up to offset \(partitions[$0]!), but the partition now ends at offset \(found[$0]!)"
                        )
                    },
                    statePath: options.statePath)
            }
            limits = found
        }

        base.groupId = options.groupId
        // Stored offsets are the truth: never let librdkafka jump elsewhere silently.
        base.set("auto.offset.reset", "error")
        base.set("enable.partition.eof", "true")
        // A fetch that finds nothing new is held at the broker this long before it answers, and
        // the fetch that reports the end of the partitions is always such a fetch: librdkafka's
        // 500 ms default added half a second to every run (measured on Tansu). While data flows,
        // fetches are answered at once whatever this is.
        if options.kafkaProperties["fetch.wait.max.ms"] == nil { base.set("fetch.wait.max.ms", "100") }
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        do {
            consumer = try KafkaConsumer(configuration: base)
            var producerConfig = try baseConfiguration(clientId: "sti-aggregate-rejections")
            // Not idempotent (unless -X says so): a notice may be delivered twice anyway (after a
            // crash; section 6 allows it, `source` identifies it), and an idempotent producer
            // first waits for a producer id, which held the first batch's commit for up to a
            // second (measured on Tansu). Delivery is still confirmed before every commit.
            if options.kafkaProperties["enable.idempotence"] == nil {
                producerConfig.set("enable.idempotence", "false")
            }
            // A batch commits only once its notices are confirmed, within `timeout`. After a
            // broker blip librdkafka's reconnect backoff grows to 10 s by default, which alone
            // could outlast that wait although the broker was back: cap it at a second.
            if options.kafkaProperties["reconnect.backoff.max.ms"] == nil {
                producerConfig.set("reconnect.backoff.max.ms", "1000")
            }
            producer = try KafkaProducer(configuration: producerConfig)
            // Partitions already at their end are not read at all.
            try consumer.assign(
                partitions.filter { $0.value < limits[$0.key] ?? .max }.sorted { $0.key < $1.key }.map {
                    TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
                })
        } catch { throw AggregateError(.kafka, context: "Kafka", underlying: error) }

        var book = AggregateBook()
        for (key, totals) in try wrapState({ try store.totals() }) { book.setEntry(totals, for: key) }
        let validator = MessageValidator(registry: options.registry, keyRing: keyRing)
        return Prepared(
            store: store, writer: writer, validator: validator, keyRingEnabled: keyRing != nil, book: book,
            consumer: consumer, producer: producer, partitions: partitions, limits: limits)
    }

    /// A state file remembers the cluster and topic prefix it was built from; another cluster's
    /// offsets would silently skip or repeat messages.
    func checkCluster(admin: KafkaAdmin, store: any StateStore) throws(AggregateError) {
        let clusterId: String?
        do { clusterId = try admin.clusterId(timeout: options.timeout) } catch {
            logger.warning(
                "the brokers did not tell their cluster id (\(error)); cannot check that the state belongs to this cluster"
            )
            clusterId = nil
        }
        let storedCluster = try wrapState { try store.meta("cluster_id") }
        let storedPrefix = try wrapState { try store.meta("topic_prefix") }
        if let clusterId, let storedCluster, storedCluster != clusterId {
            throw AggregateError(
                .otherCluster,
                "state file \(options.statePath) belongs to Kafka cluster \(storedCluster), but the brokers at \(options.brokers) are cluster \(clusterId); run with --rebuild to rebuild it from this cluster"
            )
        }
        if let storedPrefix, storedPrefix != options.topicPrefix {
            throw AggregateError(
                .otherCluster,
                "state file \(options.statePath) was built from topics with prefix \(storedPrefix), not \(options.topicPrefix); run with --rebuild or use another --state"
            )
        }
        var entries: [(key: String, value: String)] = []
        if let clusterId, storedCluster == nil { entries.append(("cluster_id", clusterId)) }
        if storedPrefix == nil { entries.append(("topic_prefix", options.topicPrefix)) }
        do { try store.setMetaIfAbsent(entries) } catch {
            throw AggregateError(state: error, context: "state file \(options.statePath)")
        }
    }

    /// A state store call; its error becomes code `state`, text and value unchanged.
    /// (The closure's `throws` is untyped only because Swift 6 does not infer a closure's thrown
    /// type; the calls inside are the store's, which throw `StateStoreError`.)
    func wrapState<T>(_ body: () throws -> T) throws(AggregateError) -> T {
        do { return try body() } catch let error as StateStoreError { throw AggregateError(state: error) } catch {
            throw AggregateError(.unexpected, "\(error)", underlying: error)
        }
    }

    // MARK: The run

    /// Runs once: drain, apply, snapshot. Returns what it did.
    public func run() throws(AggregateError) -> AggregateSummary {
        let startedAt = Date()
        var prepared = try prepare()
        defer {
            try? prepared.producer.close(timeout: .seconds(5))
            try? prepared.consumer.close()
        }
        let counts = try drain(&prepared)
        var summary = try snapshot(&prepared, startedAt: startedAt, runCounts: counts)
        let stored = try wrapState { try prepared.store.offsets() }
        summary.consumerLag = prepared.limits.keys.sorted().map { key in
            let offset = stored[key] ?? 0
            let end = prepared.limits[key]!
            return StatusReport.Partition(
                topic: key.topic, partition: key.partition, storedOffset: offset, endOffset: end,
                lag: max(0, end - offset), storedBeyondEnd: offset > end)
        }
        try commitRebuild(prepared.store)
        return summary
    }

    /// Reads every partition up to the log end seen when the run began (or to partition EOF,
    /// whichever comes first), one transaction per batch, at most `maxMessages` messages.
    ///
    /// A partition is finished at its end, at EOF, or at the first message at or past its end;
    /// it is then paused, and messages of it that librdkafka fetched already are neither
    /// processed nor counted. Each partition is so read as one contiguous run of offsets from
    /// its stored offset, and the stored offset (committed with the batch) is the first message
    /// not processed: the next run starts exactly there, nothing skipped, nothing read twice.
    func drain(_ p: inout Prepared) throws(AggregateError) -> RunCounts {
        // Held messages are no records, but a later message of their identity must find them: a
        // store holding one is not empty for `BatchProcessor`'s identity tracking.
        let warningRowsMayExist = try wrapState { try p.store.hasWarningRows() }
        let startedEmpty = try !wrapState { try p.store.hasRecords() } && !warningRowsMayExist
        var partitionCounts: [String: Int32] = [:]
        for key in p.partitions.keys { partitionCounts[key.topic, default: 0] += 1 }
        let poller = BatchPoller(
            aggregator: self, consumer: p.consumer,
            partitions: DrainPartitions(starts: p.partitions, limits: p.limits),
            validator: BatchValidator(validator: p.validator, topicKinds: topicKinds, partitionCounts: partitionCounts),
            budget: options.maxMessages ?? .max)
        var pipeline = BatchPipeline(
            processor: BatchProcessor(
                book: p.book, startedEmpty: startedEmpty, identityMemoryLimit: identityMemoryLimit,
                warningRowsMayExist: warningRowsMayExist),
            sender: NoticeSender(rejectedTopic: rejectedTopic, logger: logger), store: p.store, producer: p.producer,
            timeout: options.timeout, afterDecide: afterDecide)
        let worker = concurrentBatches ? DedicatedWorker(label: "sti-poll") : nil
        // The batch polled and validated, waiting to be decided and applied on this thread.
        var ready: ValidatedBatch?
        while !poller.allFinished {
            if stop.isRequested {
                logger.notice("stop requested: the last batch is committed, stopping before the topics are drained")
                break
            }
            if poller.budget <= 0 {
                logger.notice(
                    "read the \(options.maxMessages ?? 0) messages a run may read (--max-messages); the next run goes on from here"
                )
                break
            }
            // The next batch is polled and validated (on the worker) while the one before is
            // decided and committed here; this thread does all the state's and the snapshot's
            // writes. The poll never runs inside a state transaction.
            let polled: Result<ValidatedBatch, AggregateError>
            if let worker, let batch = ready {
                let poll = worker.start { Result { () throws(AggregateError) in try poller.pollBatch() } }
                let applied = Result { () throws(AggregateError) in try pipeline.apply(batch) }
                polled = poll.wait()
                ready = nil
                try applied.get()
            } else {
                if let batch = ready {
                    ready = nil
                    try pipeline.apply(batch)
                }
                polled = Result { () throws(AggregateError) in try poller.pollBatch() }
            }
            let batch = try polled.get()
            if batch.read > 0 { ready = batch }
        }
        if let batch = ready { try pipeline.apply(batch) }
        p.book = pipeline.processor.book
        return pipeline.counts
    }

    /// Writes a snapshot when anything was consumed since the last one.
    func snapshot(_ p: inout Prepared, startedAt: Date, runCounts: RunCounts) throws(AggregateError) -> AggregateSummary
    {
        let pending = try wrapState { try p.store.pending() }
        var summary = AggregateSummary(
            runId: nil, snapshotPath: nil, counts: runCounts,
            authenticationEnabled: p.keyRingEnabled, indicators: [],
            stoppedEarly: stop.isRequested)
        // Every run reports the current records, also one with nothing new: a metric that
        // vanished after such a run would look like data lost.
        for (key, totals) in p.book.entries {
            summary.recordsPerGeography[key.geo, default: 0] += RecordKind.allCases.reduce(0) {
                $0 + totals.activeRecords(of: $1)
            }
        }
        guard !pending.isEmpty else { return summary }

        let indicators = computeIndicators(book: p.book, registry: options.registry)
        let completeness = computeCompleteness(book: p.book, registry: options.registry)
        let offsets = pending.ranges.sorted { $0.key < $1.key }.map {
            TopicPartitionRange(
                topic: $0.key.topic, partition: $0.key.partition, firstOffset: $0.value.first, endOffset: $0.value.next)
        }
        let previous = (try wrapState { try p.store.meta("last_run_id") }) ?? p.writer.latestRunId()
        let finishedAt = Date()
        let runId: String
        do {
            let analysts = try analystFiles(store: p.store, writer: p.writer, indicators: indicators)
            runId = try p.writer.allocateRunId(start: startedAt)
            let store = p.store
            try p.writer.write(
                runId: runId, indicators: indicators, completeness: completeness,
                rejections: { emit in try store.forEachPendingRejection(emit) },
                warnings: { emit in try store.forEachWarningRow(registry: options.registry, emit) },
                inputs: ManifestInputs(
                    startedAt: startedAt, finishedAt: finishedAt,
                    programVersion: options.programVersion,
                    authenticationEnabled: p.keyRingEnabled, offsets: offsets,
                    counts: pending.counts,
                    previousRunId: previous),
                analysts: analysts)
        } catch { throw AggregateError(.snapshotFailed, context: "cannot write the snapshot", underlying: error) }
        try wrapState { try p.store.markSnapshotted(runId: runId, finishedAt: UTCTime.rfc3339(finishedAt)) }
        do { try p.writer.publishLatest(runId: runId) } catch {
            throw AggregateError(
                .snapshotFailed, "snapshot \(runId) written but latest not moved: \(error); the next run repairs it",
                underlying: error)
        }

        // For monitoring only (lag in standard tools); the state store stays the truth.
        let stored = (try? p.store.offsets()) ?? [:]
        do {
            try p.consumer.commit(
                stored.sorted { $0.key < $1.key }.map {
                    TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
                }, synchronous: true)
        } catch {
            logger.warning("offsets not committed to group \(options.groupId) (monitoring only): \(error)")
        }
        summary.runId = runId
        summary.snapshotPath = p.writer.out.appendingPathComponent("runs/\(runId)").path
        summary.indicators = indicators
        return summary
    }
}

extension RunCounts {
    /// Adds another batch's or run's counts.
    mutating func add(_ other: RunCounts) {
        read += other.read
        accepted += other.accepted
        duplicates += other.duplicates
        rejected += other.rejected
        for (code, n) in other.rejectedByCode { rejectedByCode[code, default: 0] += n }
        held += other.held
        for (code, n) in other.heldByCode { heldByCode[code, default: 0] += n }
    }
}
