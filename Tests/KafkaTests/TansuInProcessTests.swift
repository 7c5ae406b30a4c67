import Foundation
import Kafka
import STITestSupport
import Testing

/// In-process clients against a real broker (Tansu). Runs only in the second test invocation,
/// with librdkafka 2.16 loaded (Debian's 2.0.2 cannot talk to Tansu): see Deploy/test.sh.
@Suite(.serialized, .timeLimit(.minutes(2)), .tansuInProcess)
struct KafkaTansuInProcessTests {
    @Test func loadedLibraryCanTalkToTansu() throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        // The mock cluster refuses a library other than its headers'.
        #expect(throws: KafkaError.self) { _ = try MockCluster() }
    }

    @Test func adminCreatesTopicsIdempotentlyAndListsThem() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker in
                let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
                let topics = [
                    NewTopic(name: "sti.rd", partitions: 3, configs: ["retention.ms": "-1"]),
                    NewTopic(name: "sti.rejected", partitions: 1),
                ]
                let first = try admin.createTopics(topics, timeout: .seconds(10))
                let second = try admin.createTopics(topics, timeout: .seconds(10))
                let metadata = try admin.metadata(timeout: .seconds(10))
                let clusterId = try admin.clusterId(timeout: .seconds(10))
                return (
                    first: first, second: second, metadata: metadata, clusterId: clusterId, expectedId: broker.clusterId
                )
            }
        }
        #expect(outcome.first.map(\.name).sorted() == ["sti.rd", "sti.rejected"])
        #expect(outcome.first.allSatisfy { $0.error == nil }, "\(outcome.first)")
        #expect(outcome.second.allSatisfy { $0.alreadyExisted && $0.exists }, "\(outcome.second)")
        #expect(outcome.metadata.first { $0.name == "sti.rd" }?.partitions == [0, 1, 2])
        #expect(outcome.metadata.first { $0.name == "sti.rejected" }?.partitions == [0])
        #expect(outcome.clusterId == outcome.expectedId)
    }

    @Test func roundTripWithKeysAndHeaders() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker in
                try broker.createTopic("rt", partitions: 3)
                let log = DeliveryLog()
                let producer = try KafkaProducer(
                    configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers),
                    onDelivery: log.handler)
                var sent: [Int: SentMessage] = [:]
                for index in 0..<500 {
                    let key: [UInt8]? = index % 25 == 0 ? nil : Array("530\(index % 14)".utf8)
                    let value = Array("{\"n\":\(index)}".utf8)
                    let headers = [
                        KafkaHeader(key: "sti-key-id", string: "k\(index % 4)"),
                        KafkaHeader(key: "sti-signature", value: [0, 0xff, UInt8(index % 256)]),
                    ]
                    sent[index] = SentMessage(key: key, value: value, headers: headers)
                    try producer.send(topic: "rt", key: key, value: value, headers: headers, tag: index)
                }
                try producer.flush(timeout: .seconds(30))
                let consumer = try KafkaConsumer(
                    configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
                try consumer.assign((0..<3).map { TopicPartitionOffset.beginning("rt", $0) })
                let consumed = try consumer.drain(partitions: [0, 1, 2])
                try consumer.close()
                return (
                    delivered: producer.delivered, failed: producer.failed, tags: log.tagsByPosition, sent: sent,
                    consumed: consumed.messages
                )
            }
        }
        #expect(outcome.delivered == 500)
        #expect(outcome.failed == 0)
        #expect(outcome.consumed.count == 500)
        try requireNoDuplicates(outcome.consumed, "Tansu round trip")
        try expectEachConsumedIsWhatWasSent(outcome.consumed, tags: outcome.tags, sent: outcome.sent)
    }

    @Test func swiftConsumerReadsWhatKcatProduced() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker in
                try broker.createTopic("from-kcat", partitions: 2)
                let kcat = Kcat(tansu: broker)
                let lines = (0..<50).map { "530\($0 % 7)\tvalue \($0) with spaces" }
                try kcat.produce(
                    topic: "from-kcat", lines: lines,
                    headers: [("sti-key-id", "530102-2026a"), ("sti-signature", "abc123")])
                try kcat.produce(topic: "from-kcat", lines: ["no key here"], keyDelimiter: nil, partition: 1)
                let consumer = try KafkaConsumer(
                    configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
                try consumer.assign([
                    TopicPartitionOffset.beginning("from-kcat", 0), TopicPartitionOffset.beginning("from-kcat", 1),
                ])
                let consumed = try consumer.drain(partitions: [0, 1])
                try consumer.close()
                return consumed.messages
            }
        }
        #expect(outcome.count == 51)
        let keyed = outcome.filter { $0.key != nil }
        #expect(
            Set(keyed.map { "\(String(decoding: $0.key!, as: UTF8.self))\t\($0.valueText)" })
                == Set((0..<50).map { "530\($0 % 7)\tvalue \($0) with spaces" }))
        #expect(
            keyed.allSatisfy {
                $0.headers == [
                    KafkaHeader(key: "sti-key-id", string: "530102-2026a"),
                    KafkaHeader(key: "sti-signature", string: "abc123"),
                ]
            })
        // One key, one partition: kcat's partitioner kept each county's messages together.
        let partitionsByKey = Dictionary(grouping: keyed, by: { $0.key! }).mapValues { Set($0.map(\.partition)) }
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 })
        let unkeyed = outcome.filter { $0.key == nil }
        #expect(unkeyed.map(\.valueText) == ["no key here"])
        #expect(unkeyed.first?.partition == 1)
        #expect(unkeyed.first?.headers == [])
    }

    @Test func kcatReadsWhatTheSwiftProducerWroteByteForByte() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker in
                try broker.createTopic("to-kcat", partitions: 2)
                let producer = try KafkaProducer(
                    configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
                var sent: [[UInt8]] = []
                for index in 0..<64 {
                    // Every byte value, newlines and tabs included, in some value.
                    let value = (0..<UInt8(index + 4)).map { UInt8((Int($0) * 37 + index * 11) % 256) }
                    sent.append(value)
                    try producer.send(
                        topic: "to-kcat", key: Array("k\(index)".utf8), value: value,
                        headers: [KafkaHeader(key: "n", string: String(index))], partition: Int32(index % 2), tag: index
                    )
                }
                try producer.flush(timeout: .seconds(30))
                let records = try Kcat(tansu: broker).consume(topic: "to-kcat")
                return (sent: sent, records: records, failed: producer.failed)
            }
        }
        #expect(outcome.failed == 0)
        #expect(outcome.records.count == 64)
        for record in outcome.records {
            let index = try #require(Int(record.keyText?.dropFirst() ?? ""))
            #expect(record.value == outcome.sent[index], "value \(index) differs")
            #expect(record.headers == "n=\(index)")
            #expect(record.partition == Int32(index % 2))
        }
        #expect(Set(outcome.records.compactMap(\.keyText)).count == 64)
    }

    @Test func groupCommitAndResumeOnTansu() async throws {
        try KafkaTestEnvironment.requireTansuCapableLibrary()
        let outcome = try await onDedicatedThread {
            try TansuBroker.with { broker in
                try broker.createTopic("grp", partitions: 2)
                let producer = try KafkaProducer(
                    configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
                for index in 0..<100 {
                    try producer.send(topic: "grp", value: Array("m-\(index)".utf8), partition: Int32(index % 2))
                }
                try producer.flush(timeout: .seconds(30))
                let configuration = KafkaConfiguration(
                    bootstrapServers: broker.bootstrapServers, groupId: "aggregator", properties: groupTestProperties())
                let first = try KafkaConsumer(configuration: configuration)
                try first.subscribe(topics: ["grp"])
                let all = try first.drain(partitions: [0, 1], timeout: .seconds(60))
                let commit = [
                    TopicPartitionOffset(topic: "grp", partition: 0, offset: 20),
                    TopicPartitionOffset(topic: "grp", partition: 1, offset: 30),
                ]
                try first.commit(commit, synchronous: true)
                let committed = try first.committed(
                    commit.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition) }, timeout: .seconds(10)
                )
                try first.close()
                return (all: all.messages.count, committed: committed.map(\.offset))
            }
        }
        #expect(outcome.all == 100)
        #expect(outcome.committed == [20, 30])
    }
}
