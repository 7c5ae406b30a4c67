import Foundation
import STITestSupport
import Testing

@testable import Kafka

/// A producer made ahead of time (`sti submit` makes it before checking the feed) holds
/// librdkafka's log lines until `releaseLogs()`: a feed refused by the check then prints none
/// of the producer's connection errors, and a feed that is sent prints them as librdkafka would.
@Suite(.normalRun)
struct ProducerHeldLogTests {
    @Test func logLinesAreHeldInLibrdkafkasFormatUntilReleased() throws {
        // Nothing listens on port 1: librdkafka logs a failed connection at once and then again.
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), holdingLogs: true)
        let deadline = ContinuousClock.now + .seconds(30)
        while producer.heldLogLines?.contains(where: { $0.contains("|FAIL|") }) != true,
            ContinuousClock.now < deadline
        {
            usleep(20_000)
        }
        let held = try #require(producer.heldLogLines)
        let failure = try #require(held.first { $0.contains("|FAIL|") }, "no connection failure held: \(held)")
        // librdkafka's printer: %<level>|<seconds>.<milliseconds>|<facility>|<client>| <message>
        let pattern = #/^%3\|[0-9]+\.[0-9]{3}\|FAIL\|rdkafka#producer-[0-9]+\| .*127\.0\.0\.1:1.*\n$/#
        #expect(failure.wholeMatch(of: pattern) != nil, "not in librdkafka's format: \(failure)")
        producer.releaseLogs()
        #expect(producer.heldLogLines == nil, "after release, lines are printed, not held")
    }

    @Test func aProducerNotHoldingLogsHoldsNone() throws {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        #expect(producer.heldLogLines == nil)
    }
}

/// `connectAhead` asks for the brokers on a thread of its own; the producer must outlive that
/// request (its deinit waits), deliver normally after it, and create no topic.
@Suite(.serialized, .timeLimit(.minutes(2)), .mockCluster)
struct ProducerConnectAheadTests {
    @Test func aProducerDroppedRightAfterConnectingAheadEndsCleanly() throws {
        // Nothing listens on port 1: the request runs into its timeout while the producer goes.
        for _ in 0..<20 {
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), holdingLogs: true)
            producer.connectAhead(timeout: .milliseconds(50))
        }
    }

    @Test func aProducerConnectedAheadDeliversEveryMessageAndCreatesNoTopic() throws {
        let cluster = try MockCluster(brokers: 1)
        defer { cluster.close() }
        try cluster.createTopic("ahead", partitions: 3)
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), holdingLogs: true)
        producer.connectAhead()
        for i in 0..<100 { try producer.send(topic: "ahead", key: Array("k\(i % 7)".utf8), value: Array("v\(i)".utf8)) }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.delivered == 100)
        #expect(producer.failed == 0)
        let topics = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            .metadata(timeout: .seconds(10)).map(\.name)
        #expect(topics == ["ahead"], "topics on the cluster: \(topics)")
    }
}
