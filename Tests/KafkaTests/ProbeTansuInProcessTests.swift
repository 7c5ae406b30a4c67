import Foundation
import Kafka
import STITestSupport
import Testing

/// `messages(at:)`, `logEnds` and `cachedWatermarks` against Tansu, whose
/// ListOffsets(latest) reports the last batch's base offset + 1 and which answers a fetch past
/// the end with nothing (no OFFSET_OUT_OF_RANGE): the two traps these calls must get around.
@Suite(.serialized, .timeLimit(.minutes(2)), .tansuInProcess)
struct KafkaProbeTansuInProcessTests {
    struct Outcome: Sendable {
        var queriedHigh: Int64
        var ends: [KafkaPartition: Int64]
        var lookups: [KafkaOffsetLookup]
        var cachedHigh: Int64?
        var afterPause: [Int64]
    }

    @Test func lookupsAndEndsAreRightWhereTheWatermarkQueryIsTooLow() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker -> Outcome in
                try broker.createTopic("probe", partitions: 2)
                let config = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
                let producer = try KafkaProducer(configuration: config)
                // 50 messages sent at once: few batches, so the watermark query says less than 50.
                for i in 0..<50 {
                    try producer.send(
                        topic: "probe", key: Array("k\(i)".utf8), value: Array("v\(i)".utf8), partition: 0)
                }
                try producer.flush(timeout: .seconds(30))
                var consumerConfig = config
                consumerConfig.set("auto.offset.reset", "error")
                let consumer = try KafkaConsumer(configuration: consumerConfig)
                defer { try? consumer.close() }
                let queried = try consumer.queryWatermarks(topic: "probe", partition: 0, timeout: .seconds(10)).high
                let ends = try consumer.logEnds(
                    of: [KafkaPartition(topic: "probe", partition: 0), KafkaPartition(topic: "probe", partition: 1)],
                    timeout: .seconds(20))
                let lookups = try consumer.messages(
                    at: [
                        TopicPartitionOffset(topic: "probe", partition: 0, offset: 49),
                        TopicPartitionOffset(topic: "probe", partition: 1, offset: 3),
                    ], timeout: .seconds(20))
                let pastEnd = try consumer.messages(
                    at: [TopicPartitionOffset(topic: "probe", partition: 0, offset: 60)], timeout: .seconds(20))
                let middle = try consumer.messages(
                    at: [TopicPartitionOffset(topic: "probe", partition: 0, offset: 7)], timeout: .seconds(20))

                // The high watermark librdkafka keeps from a fetch response.
                let reader = try KafkaConsumer(configuration: config)
                defer { try? reader.close() }
                try reader.assign([TopicPartitionOffset(topic: "probe", partition: 0, offset: 0)])
                var seen: [Int64] = []
                let deadline = ContinuousClock.now + .seconds(20)
                while seen.isEmpty && ContinuousClock.now < deadline {
                    try reader.poll(maxMessages: 1, timeout: .milliseconds(200)) {
                        if $0.isMessage { seen.append($0.offset) }
                    }
                }
                let cached = reader.cachedWatermarks(topic: "probe", partition: 0)?.high
                return Outcome(
                    queriedHigh: queried, ends: ends, lookups: lookups + pastEnd + middle, cachedHigh: cached,
                    afterPause: seen)
            }
        }
        print("probe: ListOffsets said \(outcome.queriedHigh) for a partition of 50 messages")
        #expect(
            outcome.ends == [
                KafkaPartition(topic: "probe", partition: 0): 50, KafkaPartition(topic: "probe", partition: 1): 0,
            ])
        #expect(outcome.cachedHigh == 50, "the fetch response's high watermark is the true end")
        try #require(outcome.lookups.count == 4)
        guard case .found(let last) = outcome.lookups[0] else {
            Issue.record("offset 49: \(outcome.lookups[0])")
            return
        }
        #expect(
            last.offset == 49 && last.key == Array("k49".utf8) && last.value == Array("v49".utf8)
                && last.timestampMillis > 0)
        #expect(outcome.lookups[1] == .pastEnd(end: 0))
        #expect(outcome.lookups[2] == .pastEnd(end: 50))
        guard case .found(let seventh) = outcome.lookups[3] else {
            Issue.record("offset 7: \(outcome.lookups[3])")
            return
        }
        #expect(seventh.value == Array("v7".utf8))
        #expect(outcome.afterPause == [0])
    }
}
