import Dispatch
import Foundation
import Kafka
import STIProtocol

/// Steps 2 and 3 of each batch (see BatchProcessor.swift) on the run's thread: decide, send the
/// notices and wait for them, apply to the state. The run polls and validates the next batch on
/// another thread meanwhile (`BatchPoller`); batches are applied in the order polled, so the
/// outcome is the one of a single thread.
///
/// The durability promise is unchanged: a batch's offsets count only once `apply` returned, and
/// its notices were confirmed before that. A failed batch leaves the state as the batch before
/// left it and stops the run.
struct BatchPipeline {
    private(set) var processor: BatchProcessor
    private var sender: NoticeSender
    private let store: any StateStore
    private let producer: KafkaProducer
    private let timeout: Duration
    private let afterDecide: (@Sendable (Int) throws -> Void)?
    private(set) var counts = RunCounts()
    private var batches = 0

    init(
        processor: BatchProcessor, sender: NoticeSender, store: any StateStore, producer: KafkaProducer,
        timeout: Duration,
        afterDecide: (@Sendable (Int) throws -> Void)? = nil
    ) {
        self.processor = processor
        self.sender = sender
        self.store = store
        self.producer = producer
        self.timeout = timeout
        self.afterDecide = afterDecide
    }

    mutating func apply(_ batch: ValidatedBatch) throws(AggregateError) {
        batches += 1
        let decided: DecidedBatch
        do { decided = try processor.decide(batch, store: store) } catch {
            throw AggregateError(state: error, context: "batch failed, nothing of it committed")
        }
        do { try afterDecide?(batches) } catch {
            throw AggregateError(.batchInterrupted, context: "batch failed, nothing of it committed", underlying: error)
        }
        // Notices reach the broker before the batch commits, so a rejected source offset is
        // never committed without its notice: they are sent first, the batch's writes go into its
        // transaction while they travel, and the commit waits for their confirmation.
        try sender.send(decided.notices, producer: producer)
        do {
            try store.apply(decided.decision) { () throws(StateStoreError) in
                do throws(AggregateError) { try sender.deliver(producer: producer, timeout: timeout) } catch {
                    throw StateStoreError(
                        .commitRefused, "the batch's rejection notices were not confirmed", underlying: error)
                }
            }
        } catch {
            // The delivery failure that refused the commit, as it was.
            if error.code == .commitRefused, let delivery = error.underlying as? AggregateError { throw delivery }
            throw AggregateError(state: error, context: "batch failed, nothing of it committed")
        }
        counts.add(decided.decision.counts)
    }
}

/// Step 1 of each batch: one poll, each message validated into a `ValidatedBatch`, partitions
/// finished at their ends. Used by one thread at a time: the run hands it to its worker for one
/// `pollBatch` and waits for it before touching it again (the semaphore orders the two).
final class BatchPoller: @unchecked Sendable {
    private let aggregator: Aggregator
    private let consumer: KafkaConsumer
    private var partitions: DrainPartitions
    private var validator: BatchValidator
    private(set) var budget: Int
    private var lastProgress = ContinuousClock.now
    private var lastError: KafkaError?

    init(
        aggregator: Aggregator, consumer: KafkaConsumer, partitions: DrainPartitions, validator: BatchValidator,
        budget: Int
    ) {
        self.aggregator = aggregator
        self.consumer = consumer
        self.partitions = partitions
        self.validator = validator
        self.budget = budget
    }

    var allFinished: Bool { partitions.allFinished }

    /// Reads one batch. A partition is finished at its end, at EOF, or at the first message at
    /// or past its end; it is then paused, and messages of it that librdkafka fetched already
    /// are neither processed nor counted.
    func pollBatch() throws(AggregateError) -> ValidatedBatch {
        let options = aggregator.options
        var batch = ValidatedBatch()
        // Progress means messages or EOFs: librdkafka keeps reporting transport errors while
        // brokers are down, and those must not keep the run alive forever.
        var progressed = false
        var finishedNow: [KafkaPartition] = []
        do {
            try consumer.poll(maxMessages: min(options.batchSize, budget), timeout: .milliseconds(200)) { view in
                let key = TopicPartitionKey(topic: view.topic, partition: view.partition)
                switch view.kind {
                case .partitionEOF:
                    progressed = true
                    if let entry = partitions.entry(topic: view.topic, partition: view.partition),
                        partitions.finish(entry)
                    {
                        finishedNow.append(key)
                    }
                case .error(let error):
                    if error.errorCode == .autoOffsetReset || error.errorCode == .offsetOutOfRange {
                        throw aggregator.outOfRange(key, error, consumer: consumer)
                    }
                    lastError = error
                case .message:
                    progressed = true
                    let entry = partitions.entry(topic: view.topic, partition: view.partition)
                    if let entry, entry.finished || view.offset >= entry.limit {
                        // Past this run's end (fetched before the partition was paused): the
                        // next run reads it.
                        if partitions.finish(entry) {
                            finishedNow.append(key)
                        }
                        return
                    }
                    validator.add(view, key: key, to: &batch)
                    if let entry {
                        entry.remember(view)
                        if view.offset + 1 >= entry.limit, partitions.finish(entry) {
                            finishedNow.append(key)
                        }
                    }
                }
            }
        } catch let error as AggregateError {
            throw error
        } catch {
            throw AggregateError(.kafka, context: "batch failed, nothing of it committed", underlying: error)
        }
        // The last message of each partition, with the offsets it ends.
        for entry in partitions.touched { batch.tails[entry.key] = entry.tail }
        partitions.clearTouched()
        budget -= batch.read
        if !finishedNow.isEmpty {
            // Fetching more of a finished partition would only be thrown away.
            do { try consumer.pause(finishedNow) } catch { aggregator.logger.debug("pausing \(finishedNow): \(error)") }
        }
        if progressed {
            lastProgress = .now
        } else if ContinuousClock.now - lastProgress > options.timeout {
            let pending = partitions.pending.map(\.description).joined(separator: ", ")
            throw AggregateError(
                .brokersUnreachable,
                "no answer from the brokers at \(options.brokers) for \(options.timeout) while reading \(pending)\(lastError.map { ": \($0)" } ?? "")",
                underlying: lastError)
        }
        return batch
    }
}
