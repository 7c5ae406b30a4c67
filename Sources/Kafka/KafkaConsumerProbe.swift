import CRdKafka

/// A topic and a partition, as a dictionary key.
public struct KafkaPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)[\(partition)]" }
}

/// One message as stored in a partition, copied out of librdkafka's buffers.
public struct KafkaStoredMessage: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// Milliseconds since the epoch (create or log-append time), -1 when there is none.
    public let timestampMillis: Int64
    /// nil for a message without a key.
    public let key: [UInt8]?
    public let value: [UInt8]
}

/// What `KafkaConsumer.messages(at:timeout:)` found at one offset.
public enum KafkaOffsetLookup: Sendable, Hashable {
    /// The message stored at that offset.
    case found(KafkaStoredMessage)
    /// The partition ends at `end`, at or before the offset asked for: no message is there.
    case pastEnd(end: Int64)
    /// The partition goes on, but the first message at or after the offset is at `next`
    /// (the offset was removed, e.g. by compaction).
    case gap(next: Int64)
    /// The broker says the offset is outside the partition's log (e.g. before its start).
    case outOfRange(KafkaError)
}

extension KafkaConsumer {
    /// Stops fetching these assigned partitions (messages already fetched may still be
    /// delivered by `poll`; a caller that must not see them filters them out).
    public func pause(_ partitions: [KafkaPartition]) throws {
        try changePause(partitions, pause: true)
    }

    /// Fetches paused partitions again, from where they stopped.
    public func resume(_ partitions: [KafkaPartition]) throws {
        try changePause(partitions, pause: false)
    }

    private func changePause(_ partitions: [KafkaPartition], pause: Bool) throws {
        let operation = pause ? "pause" : "resume"
        guard !partitions.isEmpty else { return }
        let list = makePartitionList(partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err =
            pause ? rd_kafka_pause_partitions(handle.pointer, list) : rd_kafka_resume_partitions(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: operation) }
        if let failed = Kafka.partitions(of: list, operation: operation).first(where: { $0.error != nil }) {
            throw KafkaError(
                code: KafkaErrorCode(rawValue: failed.error!.code),
                message: "\(failed.topic)[\(failed.partition)]: \(failed.error!.message)", operation: operation)
        }
    }

    /// Reads the message stored at each given offset (real offsets, ≥ 0), or says why there is
    /// none. Replaces this consumer's assignment while it runs and leaves nothing assigned: use
    /// a consumer of its own, not the one that reads the partitions.
    ///
    /// Bounded: all lookups together wait at most `timeout`, then throw `timedOut` naming the
    /// partitions still unanswered. A missing message is found without waiting for a timeout,
    /// also on brokers that answer a fetch past the end with nothing instead of
    /// OFFSET_OUT_OF_RANGE (Tansu 0.6): fetching starts no later than the reported high
    /// watermark − 1, so it always reaches the message or the partition's end (EOF). As Tansu's
    /// high watermark may be too low (never too high), that reads at most the last batch again.
    ///
    /// - Returns: one result per position, in the order given.
    public func messages(at positions: [TopicPartitionOffset], timeout: Duration) throws -> [KafkaOffsetLookup] {
        guard !positions.isEmpty else { return [] }
        let deadline = ContinuousClock.now + timeout
        var targets: [KafkaPartition: Int64] = [:]
        var starts: [TopicPartitionOffset] = []
        for position in positions {
            let key = KafkaPartition(topic: position.topic, partition: position.partition)
            guard position.offset >= 0, targets[key] == nil else {
                throw KafkaError(
                    code: .invalidArgument,
                    message: "\(key): one real offset per partition, got \(KafkaOffset.describe(position.offset))",
                    operation: "messages(at:)")
            }
            targets[key] = position.offset
            let marks = try queryWatermarks(
                topic: key.topic, partition: key.partition, timeout: remaining(until: deadline))
            let start = min(position.offset, max(marks.low, marks.high - 1, 0))
            starts.append(TopicPartitionOffset(topic: key.topic, partition: key.partition, offset: start))
        }
        try assign(starts)
        defer { try? unassign() }
        var results: [KafkaPartition: KafkaOffsetLookup] = [:]
        var lastError: KafkaError?
        while results.count < targets.count {
            guard ContinuousClock.now < deadline else {
                let pending = targets.keys.filter { results[$0] == nil }.sorted().map { "\($0)@\(targets[$0]!)" }
                throw KafkaError(
                    code: .timedOut,
                    message: "no answer within \(timeout) for \(pending.joined(separator: ", "))"
                        + (lastError.map { " (last error: \($0))" } ?? ""), operation: "messages(at:)")
            }
            try poll(maxMessages: 10_000, timeout: min(.milliseconds(200), remaining(until: deadline))) { view in
                let key = KafkaPartition(topic: view.topic, partition: view.partition)
                guard let target = targets[key], results[key] == nil else {
                    if case .error(let error) = view.kind, view.topic.isEmpty { lastError = error }
                    return
                }
                switch view.kind {
                case .message:
                    if view.offset == target {
                        results[key] = .found(
                            KafkaStoredMessage(
                                topic: key.topic, partition: key.partition, offset: view.offset,
                                timestampMillis: view.timestampMillis, key: view.keyBytes,
                                value: view.valueBytes))
                    } else if view.offset > target {
                        results[key] = .gap(next: view.offset)
                    }
                case .partitionEOF:
                    if view.offset <= target {
                        results[key] = .pastEnd(end: view.offset)
                    } else {
                        results[key] = .gap(next: view.offset)
                    }
                case .error(let error):
                    if error.errorCode == .autoOffsetReset || error.errorCode == .offsetOutOfRange {
                        results[key] = .outOfRange(error)
                    } else {
                        lastError = error
                    }
                }
            }
        }
        return positions.map { results[KafkaPartition(topic: $0.topic, partition: $0.partition)]! }
    }

    /// The low and high watermarks librdkafka last saw in a fetch response for this partition,
    /// without asking the broker (nil before any fetch). Unlike `queryWatermarks` (ListOffsets),
    /// the high watermark of a fetch response is right on Tansu 0.6 too.
    public func cachedWatermarks(topic: String, partition: Int32) -> (low: Int64, high: Int64)? {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }

    /// The end of each partition (the offset the next message will get), as the first fetch
    /// from the reported high watermark tells it: a partition EOF there, or else the high
    /// watermark of the fetch response that carried the first message. Right also where
    /// ListOffsets reports too low a value (Tansu 0.6, whose high watermark is the last batch's
    /// base offset + 1), and it ends while producers keep appending (it never reads on to find
    /// an EOF that may not come). Replaces this consumer's assignment while it runs and leaves
    /// nothing assigned: use a consumer of its own. The consumer needs
    /// `enable.partition.eof=true` (its default).
    ///
    /// Bounded: waits at most `timeout` in all, then throws `timedOut` naming the partitions
    /// whose end was not reported.
    public func logEnds(of partitions: [KafkaPartition], timeout: Duration) throws -> [KafkaPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + timeout
        var starts: [KafkaPartition: Int64] = [:]
        for key in Set(partitions) {
            let marks = try queryWatermarks(
                topic: key.topic, partition: key.partition, timeout: remaining(until: deadline))
            starts[key] = max(marks.high, 0)
        }
        try assign(
            starts.sorted { $0.key < $1.key }.map {
                TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
            })
        defer { try? unassign() }
        var ends: [KafkaPartition: Int64] = [:]
        var lastError: KafkaError?
        while ends.count < starts.count {
            guard ContinuousClock.now < deadline else {
                let pending = starts.keys.filter { ends[$0] == nil }.sorted().map(\.description)
                throw KafkaError(
                    code: .timedOut,
                    message: "the end of \(pending.joined(separator: ", ")) was not reported within \(timeout)"
                        + (lastError.map { " (last error: \($0))" } ?? ""), operation: "logEnds")
            }
            try poll(maxMessages: 10_000, timeout: min(.milliseconds(200), remaining(until: deadline))) { view in
                let key = KafkaPartition(topic: view.topic, partition: view.partition)
                switch view.kind {
                case .partitionEOF:
                    if let start = starts[key], ends[key] == nil, view.offset >= start { ends[key] = view.offset }
                case .error(let error):
                    if starts[key] != nil, error.errorCode == .autoOffsetReset || error.errorCode == .offsetOutOfRange {
                        throw KafkaError(
                            code: error.errorCode, message: "\(key): \(error.message)", operation: "logEnds")
                    }
                    lastError = error
                case .message:
                    // The fetch response that carried this message said where the log ended.
                    if let start = starts[key], ends[key] == nil, view.offset >= start {
                        let high = cachedWatermarks(topic: key.topic, partition: key.partition)?.high ?? 0
                        ends[key] = max(high, view.offset + 1)
                    }
                }
            }
        }
        return ends
    }
}

private func remaining(until deadline: ContinuousClock.Instant) -> Duration {
    max(.zero, deadline - ContinuousClock.now)
}
