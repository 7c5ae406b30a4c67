import CRdKafka
import Foundation
import STITestSupport
import Synchronization
import Testing

@testable import Kafka

/// Configuration checking, error values and small helpers: no broker involved.
@Suite(.normalRun)
struct KafkaConfigurationTests {
    struct BadProperty: Sendable, CustomStringConvertible {
        let key: String
        let value: String
        let expected: String
        var description: String { "\(key)=\(value)" }
    }

    /// librdkafka's own text reaches the caller, naming the property.
    @Test(arguments: [
        BadProperty(key: "foo.bar", value: "1", expected: #"No such configuration property: "foo.bar""#),
        BadProperty(
            key: "enable.idempotence", value: "maybe",
            expected: #"Expected bool value for "enable.idempotence": true or false"#),
        BadProperty(
            key: "queue.buffering.max.messages", value: "-5",
            expected: #"Configuration property "queue.buffering.max.messages" value -5 is outside allowed range"#),
        BadProperty(
            key: "compression.codec", value: "zip",
            expected: #"Invalid value "zip" for configuration property "compression.codec""#),
    ])
    func badPropertyIsRejectedWithLibrdkafkasMessage(_ bad: BadProperty) throws {
        let configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: [bad.key: bad.value])
        let error = try #require(throws: KafkaConfigurationError.self) { try configuration.validate() }
        #expect(error.key == bad.key)
        #expect(error.message.contains(bad.expected), "\(error.message)")
        #expect(throws: KafkaConfigurationError.self) { _ = try KafkaProducer(configuration: configuration) }
        #expect(throws: KafkaConfigurationError.self) { _ = try KafkaConsumer(configuration: configuration) }
        #expect(throws: KafkaConfigurationError.self) { _ = try KafkaAdmin(configuration: configuration) }
    }

    /// The consumer's offset discipline cannot be switched off by accident.
    @Test(arguments: ["enable.auto.commit", "enable.auto.offset.store"])
    func consumerRejectsAutomaticOffsets(key: String) throws {
        let configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: [key: "true"])
        let error = try #require(throws: KafkaConfigurationError.self) {
            _ = try KafkaConsumer(configuration: configuration)
        }
        #expect(error.key == key)
        // Saying what we enforce anyway is fine.
        _ = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: [key: "false"]))
    }

    @Test func subscribeWithoutAGroupIsRefused() throws {
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        let error = try #require(throws: KafkaError.self) { try consumer.subscribe(topics: ["t"]) }
        #expect(error.errorCode == .invalidArgument)
        try consumer.close()
    }

    /// Errors that only `rd_kafka_new` detects come back with its text too.
    @Test func clientCreationFailureCarriesLibrdkafkasText() throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1",
            properties: ["security.protocol": "ssl", "ssl.ca.location": "/nonexistent/ca.pem"])
        let error = try #require(throws: KafkaConfigurationError.self) {
            _ = try KafkaProducer(configuration: configuration)
        }
        #expect(error.message.contains("ssl.ca.location"), "\(error.message)")
    }

    @Test func typedFieldsAndPassThroughPropertiesAgree() throws {
        var configuration = KafkaConfiguration(bootstrapServers: "a:1")
        configuration.set("bootstrap.servers", "b:2")
        configuration.set("group.id", "g")
        configuration.set("client.id", "c")
        try configuration.set("linger.ms = 5")
        #expect(configuration.bootstrapServers == "b:2")
        #expect(configuration.groupId == "g")
        #expect(configuration.clientId == "c")
        #expect(configuration.properties == ["linger.ms": "5"])
        #expect(
            configuration.allProperties == [
                "bootstrap.servers": "b:2", "group.id": "g", "client.id": "c", "linger.ms": "5",
            ])
        try configuration.validate()
        let viaInit = KafkaConfiguration(bootstrapServers: "x", properties: ["group.id": "g2", "acks": "all"])
        #expect(viaInit.groupId == "g2")
        #expect(viaInit.properties == ["acks": "all"])
    }

    @Test(arguments: ["no-equals", "=value", "  = x", ""])
    func malformedAssignmentIsRejected(_ text: String) {
        var configuration = KafkaConfiguration(bootstrapServers: "x")
        #expect(throws: KafkaConfigurationError.self) { try configuration.set(text) }
    }

    @Test func assignmentKeepsEqualsSignsInTheValue() throws {
        let (key, value) = try KafkaConfiguration.parseProperty("sasl.jaas.config=a=b;c=d")
        #expect(key == "sasl.jaas.config")
        #expect(value == "a=b;c=d")
    }

    @Test func propertiesFileSkipsCommentsAndBlankLines() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.file("client.properties")
            let text =
                "# SASL settings\r\n\nsecurity.protocol=sasl_plaintext\r\n  sasl.mechanisms = PLAIN\n  # indented comment\nsasl.username=u\nsasl.password=p=w\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
            try configuration.loadProperties(fromFile: path)
            #expect(
                configuration.properties == [
                    "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN", "sasl.username": "u",
                    "sasl.password": "p=w",
                ])
            try configuration.validate()
            // Secrets stay out of logs.
            #expect(!configuration.description.contains("p=w"))
            #expect(configuration.description.contains("sasl.password=***"))
            #expect(configuration.description.contains("security.protocol=sasl_plaintext"))
        }
    }

    @Test func propertiesFileErrorsNameTheLine() throws {
        let error = try #require(throws: KafkaConfigurationError.self) {
            _ = try KafkaConfiguration.parseProperties(fileContents: "a=1\n# fine\nbroken line\n")
        }
        #expect(error.message.contains("line 3"), "\(error.message)")
        var configuration = KafkaConfiguration(bootstrapServers: "x")
        let missing = try #require(throws: KafkaConfigurationError.self) {
            try configuration.loadProperties(fromFile: "/nonexistent/client.properties")
        }
        #expect(missing.message.contains("/nonexistent/client.properties"))
    }
}

@Suite(.normalRun)
struct KafkaValueTests {
    @Test func errorCarriesLibrdkafkaNameAndText() {
        let error = KafkaError(code: .transport, operation: "send")
        #expect(error.code == -195)
        #expect(error.name == "_TRANSPORT")
        #expect(error.message == "Local: Broker transport failure")
        #expect(error.description == "send: Local: Broker transport failure [_TRANSPORT]")
        #expect(KafkaErrorCode.unknownTopicOrPartition.name == "UNKNOWN_TOPIC_OR_PART")
        #expect(KafkaError(code: .fatal, isFatal: true).description.hasSuffix("(fatal)"))
        #expect(KafkaError.from(RD_KAFKA_RESP_ERR__FATAL).isFatal)
    }

    @Test func offsetsDescribeTheirSpecials() {
        #expect(KafkaOffset.describe(KafkaOffset.beginning) == "beginning")
        #expect(KafkaOffset.describe(KafkaOffset.end) == "end")
        #expect(KafkaOffset.describe(KafkaOffset.stored) == "stored")
        #expect(KafkaOffset.describe(KafkaOffset.invalid) == "invalid")
        #expect(KafkaOffset.describe(42) == "42")
        #expect(TopicPartitionOffset(topic: "t", partition: 2, offset: 7).description == "t[2]@7")
        #expect(TopicPartitionOffset.beginning("t", 0).offset == -2)
    }

    @Test(arguments: [
        (Duration.zero, Int32(0)), (.milliseconds(1), 1), (.microseconds(1500), 1), (.seconds(3), 3000),
        (.seconds(-1), 0), (.seconds(Int64.max / 2), Int32.max),
    ])
    func durationsBecomeClampedMilliseconds(_ duration: Duration, _ expected: Int32) {
        #expect(milliseconds(duration) == expected)
    }

    @Test func partitionListsRoundTrip() {
        let items = [TopicPartitionOffset(topic: "a", partition: 0, offset: 5), TopicPartitionOffset.beginning("b", 3)]
        let list = makePartitionList(items)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        #expect(partitions(of: list) == items)
        let empty = makePartitionList([])
        defer { rd_kafka_topic_partition_list_destroy(empty) }
        #expect(partitions(of: empty).isEmpty)
    }

    @Test func versionIsReported() {
        #expect(librdkafkaVersion().first?.isNumber == true)
        #expect(librdkafkaVersionNumber() > 0x0100_0000)
        #expect(librdkafkaHeaderVersionNumber == 0x0200_02ff)
    }

    @Test func mockClusterRefusesAForeignLibrary() throws {
        // In the normal run the versions match and the cluster starts; the refusal path is
        // exercised by the 2.16 run's KafkaTansuInProcessTests.
        if KafkaTestEnvironment.mockClusterUsable {
            let cluster = try MockCluster(brokers: 1)
            #expect(!cluster.bootstrapServers.isEmpty)
            cluster.close()
        } else {
            #expect(throws: KafkaError.self) { _ = try MockCluster() }
        }
    }
}

/// The one home of blocking work (DedicatedThread.swift): the serial worker the aggregation
/// polls on runs a job beside its caller, in order, and hands back the job's value.
@Suite(.normalRun)
struct DedicatedWorkerTests {
    /// The job waits for a signal the caller gives only after `start` returned: it can finish
    /// only if it runs beside the caller (the bounded wait turns a worker that ran it inline
    /// into a `false`, not a hang).
    @Test func aJobRunsBesideItsCallerAndReturnsItsValue() throws {
        let worker = DedicatedWorker(label: "sti-test-worker")
        let go = DispatchSemaphore(value: 0)
        let job = worker.start { () -> Result<Int, KafkaError> in
            go.wait(timeout: .now() + 30) == .success ? .success(42) : .failure(KafkaError(code: .timedOut))
        }
        go.signal()
        #expect(try job.wait().get() == 42)
    }

    @Test func jobsRunOneAtATimeInTheOrderStarted() {
        let worker = DedicatedWorker(label: "sti-test-worker")
        let log = Mutex<[Int]>([])
        let jobs = (0..<50).map { n in
            worker.start { () -> Int in
                log.withLock { $0.append(n) }
                return n
            }
        }
        #expect(jobs.map { $0.wait() } == Array(0..<50))
        #expect(log.withLock { $0 } == Array(0..<50))
    }
}
