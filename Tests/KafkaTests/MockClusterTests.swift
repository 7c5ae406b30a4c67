import Foundation
import Kafka
import STITestSupport
import Synchronization
import Testing

/// Producer, consumer and admin against librdkafka's in-process mock cluster (Debian's 2.0.2).
@Suite(.serialized, .timeLimit(.minutes(2)), .mockCluster)
struct KafkaMockClusterTests {
    @Test func roundTripKeepsKeysValuesAndHeaders() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 3)
            defer { cluster.close() }
            let topic = uniqueTopic("roundtrip")
            try cluster.createTopic(topic, partitions: 3)
            let log = DeliveryLog()
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), onDelivery: log.handler)
            var sent: [Int: SentMessage] = [:]
            for index in 0..<300 {
                let key: [UInt8]? = index % 10 == 0 ? nil : Array("k-\(index % 7)".utf8)
                let value = Array("v-\(index)".utf8) + [0, 255, 10, UInt8(index % 256)]
                let headers =
                    index % 3 == 0
                    ? [] : [KafkaHeader(key: "sti-key-id", string: "id-\(index)"), KafkaHeader(key: "bin", value: [0, 1, 2])]
                sent[index] = SentMessage(key: key, value: value, headers: headers)
                try producer.send(topic: topic, key: key, value: value, headers: headers, tag: index)
            }
            try producer.flush(timeout: .seconds(30))

            let consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            try consumer.assign((0..<3).map { TopicPartitionOffset.beginning(topic, $0) })
            // Zero-copy accessors checked on the view itself, before anything is copied.
            var headerMismatches = 0
            var result = DrainResult()
            let deadline = ContinuousClock.now + .seconds(30)
            while result.drained.count < 3 && ContinuousClock.now < deadline {
                try consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) { message in
                    guard message.isMessage else {
                        if message.isPartitionEOF { result.drained.insert(message.partition) }
                        return
                    }
                    let expected = message.headers.last { $0.key == "sti-key-id" }?.value
                    let viaLookup = message.header(named: "sti-key-id").map { Array($0) }
                    if expected != viaLookup || message.header(named: "absent") != nil || message.timestampMillis <= 0 {
                        headerMismatches += 1
                    }
                    if message.topic != topic { headerMismatches += 1 }
                    result.messages.append(
                        ConsumedMessage(
                            topic: message.topic, partition: message.partition, offset: message.offset,
                            key: message.keyBytes, value: message.valueBytes, headers: message.headers))
                }
            }
            try consumer.close()
            return (
                delivered: producer.delivered, failed: producer.failed, tags: log.tagsByPosition, sent: sent,
                consumed: result.messages, headerMismatches: headerMismatches
            )
        }
        #expect(outcome.delivered == 300)
        #expect(outcome.failed == 0)
        #expect(outcome.headerMismatches == 0)
        #expect(outcome.consumed.count == 300)
        #expect(Set(outcome.consumed.map(\.position)).count == 300)
        for message in outcome.consumed {
            let tag = try #require(outcome.tags[message.position])
            let sent = try #require(outcome.sent[tag])
            #expect(message.key == sent.key)
            #expect(message.value == sent.value)
            #expect(message.headers == sent.headers)
        }
    }
}
