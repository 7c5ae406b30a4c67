import Crypto
import Foundation
import Kafka
import STIProtocol

// What a run checks about the log before it consumes anything, and how a drain knows where to
// stop:
// - every submission topic still has the partition count the state first saw (section 2 of
//   docs/protocol.md: a county's partition is murmur2(key) mod N, so the count never changes);
// - the message just before each stored offset is still the one the state consumed there
//   (same timestamp, same key and value), so a deleted and recreated topic, or one whose log
//   is shorter than the stored offset, is named instead of being read from the old offsets;
// - the log end of every partition when the run begins, which bounds the run.

/// The partitions of one drain: where each stops (the log end found when the run began),
/// whether it is finished, and the last message processed in the current batch, whose
/// `ConsumedTail` the batch's transaction stores with its offsets.
///
/// Lookups are by the partition of the previous message first: librdkafka hands out a
/// partition's messages in runs, so most messages cost one comparison and no hashing.
struct DrainPartitions {
    final class Entry {
        let key: TopicPartitionKey
        /// The run does not read this offset or beyond: the log end seen at its start.
        let limit: Int64
        var finished: Bool
        /// A message was processed in the current batch; `offset`… describe the last one.
        var touched = false
        var offset: Int64 = 0
        var timestampMillis: Int64 = -1
        var hasKey = false
        var messageKey: [UInt8] = []
        var value: [UInt8] = []

        init(key: TopicPartitionKey, limit: Int64, finished: Bool) {
            self.key = key
            self.limit = limit
            self.finished = finished
        }

        /// Copies what the tail needs of the message just processed (into reused buffers).
        func remember(_ view: borrowing KafkaMessageView) {
            touched = true
            offset = view.offset
            timestampMillis = view.timestampMillis
            messageKey.removeAll(keepingCapacity: true)
            if let key = view.key {
                hasKey = true
                messageKey.append(contentsOf: key)
            } else {
                hasKey = false
            }
            value.removeAll(keepingCapacity: true)
            value.append(contentsOf: view.value)
        }

        var tail: ConsumedTail {
            ConsumedTail(
                offset: offset, timestampMillis: timestampMillis,
                digest: PartitionTails.digest(key: hasKey ? messageKey : nil, value: value))
        }
    }

    private let entries: [Entry]
    private let index: [TopicPartitionKey: Int]
    private var last = 0
    private(set) var finishedCount: Int

    /// `starts`: each partition's stored offset; `limits`: its log end at the run's start. A
    /// partition already at its limit is finished before the run reads anything.
    init(starts: [TopicPartitionKey: Int64], limits: [TopicPartitionKey: Int64]) {
        let sorted = starts.keys.sorted()
        entries = sorted.map { key in
            let limit = limits[key] ?? .max
            return Entry(key: key, limit: limit, finished: starts[key]! >= limit)
        }
        index = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        finishedCount = entries.count { $0.finished }
    }

    var count: Int { entries.count }
    var allFinished: Bool { finishedCount == entries.count }
    /// The partitions still to be read.
    var pending: [TopicPartitionKey] { entries.filter { !$0.finished }.map(\.key) }
    var touched: [Entry] { entries.filter(\.touched) }

    mutating func entry(topic: String, partition: Int32) -> Entry? {
        if last < entries.count, entries[last].key.partition == partition, entries[last].key.topic == topic {
            return entries[last]
        }
        guard let i = index[TopicPartitionKey(topic: topic, partition: partition)] else { return nil }
        last = i
        return entries[i]
    }

    /// Marks a partition finished; true when it was not already.
    mutating func finish(_ entry: Entry) -> Bool {
        guard !entry.finished else { return false }
        entry.finished = true
        finishedCount += 1
        return true
    }

    func clearTouched() { for entry in entries { entry.touched = false } }
}

enum PartitionTails {
    /// SHA-256 of the key and value: an 8-byte big-endian key length (all ones for a message
    /// without a key), the key, then the value.
    static func digest(key: [UInt8]?, value: [UInt8]) -> [UInt8] {
        var hash = SHA256()
        var length = (key.map { UInt64($0.count) } ?? UInt64.max).bigEndian
        withUnsafeBytes(of: &length) { hash.update(bufferPointer: $0) }
        if let key { hash.update(data: key) }
        hash.update(data: value)
        return Array(hash.finalize())
    }
}

extension Aggregator {
    /// Section 2: the partition count of a submission topic never changes. The first count seen
    /// is recorded; a different one stops the run before anything is consumed.
    func checkPartitionCounts(metadata: [TopicMetadata], store: any StateStore) throws(AggregateError) {
        let recorded = try wrapState { try store.partitionCounts() }
        var changes: [String] = []
        var unrecorded: [(String, Int)] = []
        for topic in submissionTopics {
            guard let entry = metadata.first(where: { $0.name == topic }), entry.error == nil, !entry.partitions.isEmpty
            else { continue }
            let now = entry.partitions.count
            if let before = recorded[topic] {
                if before != now {
                    changes.append(
                        "topic \(topic) has \(now) partition(s), but state file \(options.statePath) recorded \(before) when it first saw it"
                    )
                }
            } else {
                unrecorded.append((topic, now))
            }
        }
        if !changes.isEmpty {
            throw AggregateError(
                .partitionCountChanged,
                changes.joined(separator: "; ")
                    + ". The partition count of a submission topic never changes (section 2 of "
                    + "docs/protocol.md): a county's messages go to partition murmur2(key) mod N, so with another count a county "
                    + "would move to another partition and its records would no longer be read in order. Nothing was consumed. "
                    + "If the topic was recreated by mistake, recreate it with the recorded count. If the new count is meant, every "
                    + "bureau's records must be sent again to the new layout and the state rebuilt: back up \(options.statePath), "
                    + "then run with --rebuild (or use another --state).")
        }
        guard !unrecorded.isEmpty else { return }
        do { try store.recordPartitionCounts(unrecorded.map { (topic: $0.0, partitions: $0.1) }) } catch {
            throw AggregateError(state: error, context: "state file \(options.statePath)")
        }
    }

    /// A consumer for the checks before the run (never the one that reads): assign-only, told
    /// about offsets that are not there, and quick to report a partition's end.
    func makeProbe() throws(AggregateError) -> KafkaConsumer {
        var config = try baseConfiguration(clientId: "sti-aggregate-check")
        config.set("auto.offset.reset", "error")
        config.set("enable.partition.eof", "true")
        if options.kafkaProperties["fetch.wait.max.ms"] == nil { config.set("fetch.wait.max.ms", "100") }
        do { return try KafkaConsumer(configuration: config) } catch {
            throw AggregateError(.kafka, context: "Kafka", underlying: error)
        }
    }

    /// The message before every stored offset must still be the one consumed there: a topic
    /// deleted and recreated, or truncated, otherwise goes unnoticed (other messages at the same
    /// offsets, read from the old position). Where the state has no tail (written before tails
    /// were kept), the message must at least exist. Bounded by `options.timeout`.
    func checkTails(probe: KafkaConsumer, stored: [TopicPartitionKey: Int64], store: any StateStore)
        throws(AggregateError)
    {
        let tails = try wrapState { try store.consumedTails() }
        let checked = stored.filter { $0.value > 0 }.keys.sorted()
        guard !checked.isEmpty else { return }
        let lookups: [KafkaOffsetLookup]
        do {
            lookups = try probe.messages(
                at: checked.map {
                    TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: stored[$0]! - 1)
                },
                timeout: options.timeout)
        } catch {
            throw AggregateError(
                .brokersUnreachable,
                context:
                    "cannot check, at the brokers at \(options.brokers), that the last messages this state consumed are still there",
                underlying: error)
        }
        var problems: [(TopicPartitionKey, String)] = []
        for (key, lookup) in zip(checked, lookups) {
            let offset = stored[key]! - 1
            let tail = tails[key]
            switch lookup {
            case .found(let message):
                guard let tail else { continue }
                if tail.offset != offset {
                    problems.append(
                        (
                            key,
                            "the state's record of the last message consumed is for offset \(tail.offset), not \(offset)"
                        ))
                    continue
                }
                let digest = PartitionTails.digest(key: message.key, value: message.value)
                if message.timestampMillis != tail.timestampMillis || digest != tail.digest {
                    var what: [String] = []
                    if message.timestampMillis != tail.timestampMillis {
                        what.append(
                            "timestamp \(Self.describeTimestamp(message.timestampMillis)), was \(Self.describeTimestamp(tail.timestampMillis))"
                        )
                    }
                    what.append(digest != tail.digest ? "other key or value" : "same key and value")
                    problems.append(
                        (
                            key,
                            "the message at offset \(offset) is not the one this state consumed there (\(what.joined(separator: "; ")))"
                        ))
                }
            case .pastEnd(let end):
                problems.append(
                    (key, "this state read up to offset \(offset + 1), but the partition now ends at offset \(end)"))
            case .gap(let next):
                try refuseIfTruncated(
                    key, below: offset, KafkaError(code: .offsetOutOfRange, message: "the next message is at \(next)"),
                    probe: probe)
                problems.append(
                    (
                        key,
                        "offset \(offset), the last one this state consumed, is no longer in the partition (the next message is at \(next))"
                    ))
            case .outOfRange(let error):
                try refuseIfTruncated(key, below: offset, error, probe: probe)
                problems.append(
                    (
                        key,
                        "offset \(offset), the last one this state consumed, is outside the partition's log (\(error.message))"
                    ))
            }
        }
        guard !problems.isEmpty else { return }
        throw Self.logReplacedError(problems, statePath: options.statePath)
    }

    /// A log whose start moved past `offset` was truncated (retention, DeleteRecords), not
    /// recreated: a rebuild cannot bring those messages back, so the error must not suggest one
    /// (`outOfRange`, which owns that rule).
    private func refuseIfTruncated(
        _ key: TopicPartitionKey, below offset: Int64, _ error: KafkaError, probe: KafkaConsumer
    ) throws(AggregateError) {
        guard
            let marks = try? probe.queryWatermarks(
                topic: key.topic, partition: key.partition, timeout: min(options.timeout, .seconds(10))),
            marks.low > offset
        else { return }
        throw outOfRange(key, error, consumer: probe)
    }

    static func logReplacedError(_ problems: [(TopicPartitionKey, String)], statePath: String) -> AggregateError {
        let topics = Array(Set(problems.map(\.0.topic))).sorted()
        return AggregateError(
            .logReplaced,
            "the log of \(topics.count == 1 ? "topic" : "topics") \(topics.joined(separator: ", ")) is not the one state file \(statePath) "
                + "was built from: " + problems.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
                + ". The topic was probably deleted and recreated (or truncated), so the state's records and offsets no longer "
                + "describe this log; nothing was consumed. If the topic was recreated by mistake, restore its messages. "
                + "Otherwise back up \(statePath), then rebuild it from the topics as they are now with --rebuild (or use another --state)."
        )
    }

    static func describeTimestamp(_ millis: Int64) -> String {
        guard millis >= 0 else { return "none" }
        return "\(millis) ms (\(UTCTime.rfc3339(Date(timeIntervalSince1970: Double(millis) / 1000))))"
    }
}
