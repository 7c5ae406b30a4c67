import Kafka

// `--rebuild` and the errors that recommend it. Kept apart from Aggregator.swift's drain and
// snapshot so that the rules about when a rebuild can help live in one place.
extension Aggregator {
    /// Swaps a rebuilt state in once the run has succeeded (see `SQLiteStateStore.commitRebuild`).
    func commitRebuild(_ store: any StateStore) throws(AggregateError) {
        guard store.isRebuilding else { return }
        do { try store.commitRebuild() } catch { throw AggregateError(state: error) }
        logger.info("rebuild: the new state replaced \(options.statePath)")
    }

    /// The error for a partition whose stored offset the broker refuses as out of range. It
    /// recommends `--rebuild` only when a rebuild can succeed: when the partition's log still
    /// starts at offset 0 (the topic was recreated, or the state belongs to another cluster).
    /// When the log starts later, messages were deleted (retention, DeleteRecords) and a replay
    /// from offset 0 fails the same way, so the state, the only copy of those records, is kept.
    func outOfRange(_ key: TopicPartitionKey, _ error: KafkaError, consumer: KafkaConsumer) -> AggregateError {
        let head = "the stored offset of \(key) is not on the broker (\(error.message))"
        let marks: (low: Int64, high: Int64)
        do {
            marks = try consumer.queryWatermarks(
                topic: key.topic, partition: key.partition, timeout: min(options.timeout, .seconds(10)))
        } catch {
            return AggregateError(
                .brokersUnreachable,
                "\(head), and the brokers did not say where its log starts (\(error)); run again to learn whether the log was truncated or the topic recreated",
                underlying: error)
        }
        if marks.low > 0 {
            return AggregateError(
                .logTruncated,
                """
                \(head): its log now starts at offset \(marks.low), so the messages before it were deleted (retention.ms or \
                DeleteRecords). A rebuild replays from offset 0 and cannot bring them back, so it would fail the same way: the \
                state, which still holds their records, is kept. Submission topics must keep everything: check retention.ms=-1 \
                on \(key.topic)
                """, underlying: error)
        }
        return AggregateError(
            .logReplaced,
            "\(head), while its log holds offsets \(marks.low) to \(marks.high): the topic was recreated or this state belongs to another cluster; run with --rebuild",
            underlying: error)
    }
}
