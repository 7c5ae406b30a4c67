// What `Submitter` puts on the wire, pinned byte for byte: topic, partition, order within the
// partition, key, value and headers of every message, unsigned and signed (one key per county),
// read back from librdkafka's mock cluster and compared with the dump the submission code made
// before issue 16's speed work (Tests/Fixtures/submit-wire/expected.txt). A faster submit must
// send exactly these bytes. Regenerate (only for an intended change of the wire form) with
// STI_WRITE_SUBMIT_FIXTURE=1.
import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

@Suite(.mockCluster, .serialized, .timeLimit(.minutes(3)))
struct SubmitWireTests {
    static let partitions: Int32 = 4
    static let submittedAt = "2026-01-15T09:30:00+08:00"

    static func fixtureDir() throws -> URL {
        try FeedTestRepo.root().appendingPathComponent("Tests/Fixtures/submit-wire")
    }

    static func inputs() throws -> [String] {
        let dir = try fixtureDir()
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".csv") }.sorted()
            .map { dir.appendingPathComponent($0).path }
    }

    @Test func theMessagesSentAreTheOnesSentBefore() async throws {
        let dump = try await onDedicatedThread { try Self.submitAndDump() }
        let expectedURL = try Self.fixtureDir().appendingPathComponent("expected.txt")
        if ProcessInfo.processInfo.environment["STI_WRITE_SUBMIT_FIXTURE"] == "1" {
            try Data(dump.joined(separator: "\n").appending("\n").utf8).write(to: expectedURL)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(dump.count == expected.count, "messages on the topics: \(dump.count), expected \(expected.count)")
        let differing = zip(dump, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(
            differing.isEmpty,
            "\(differing.count) message(s) differ; first: got\n\(differing.first?.element.0 ?? "")\nexpected\n\(differing.first?.element.1 ?? "")"
        )
        // The fixture is what it claims: every row of the inputs, twice (unsigned, signed).
        #expect(expected.count == 2 * 341)
        #expect(expected.filter { $0.contains("sti-signature=") }.count == 341)
    }

    /// Sends the inputs unsigned (topic prefix `plain`) and signed with the county's demo key
    /// (prefix `signed`), then reads every topic back: one line per message, in topic, partition
    /// and offset order: `topic partition offset key headers value`, tab-separated.
    static func submitAndDump() throws -> [String] {
        let cluster = try MockCluster(brokers: 1)
        defer { cluster.close() }
        let prefixes = ["plain", "signed"]
        for prefix in prefixes {
            for kind in RecordKind.allCases {
                try cluster.createTopic(kind.topic(prefix: prefix), partitions: Self.partitions)
            }
        }
        let ring = try KeyRing.parse(Data(contentsOf: try fixtureDir().appendingPathComponent("keys.demo.json")))
        for prefix in prefixes {
            let submitter = Submitter(options: .init(topicPrefix: prefix))
            let checked = submitter.check(paths: try inputs(), submittedAt: Self.submittedAt)
            guard checked.problems.isEmpty else {
                throw FaultFailure("fixture rows invalid: \(checked.problems.prefix(3))")
            }
            let producer = try KafkaProducer(
                configuration: try Submitter.producerConfiguration(bootstrapServers: cluster.bootstrapServers))
            let signer = prefix == "signed" ? Submitter.Signer(keyRing: ring, keyId: nil) : nil
            let report = try submitter.send(checked, producer: producer, signer: signer, timeout: .seconds(30))
            guard report.failed.isEmpty, report.sent == checked.rowCount else {
                throw FaultFailure("sent \(report.sent) of \(checked.rowCount), failed \(report.failed.prefix(3))")
            }
            try producer.close()
        }
        var lines: [String] = []
        for prefix in prefixes {
            for kind in RecordKind.allCases {
                lines += try readAll(kind.topic(prefix: prefix), bootstrapServers: cluster.bootstrapServers)
            }
        }
        return lines
    }

    static func readAll(_ topic: String, bootstrapServers: String) throws -> [String] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: bootstrapServers, properties: ["enable.partition.eof": "true"]))
        defer { try? consumer.close() }
        try consumer.assign((0..<Self.partitions).map { TopicPartitionOffset.beginning(topic, $0) })
        var messages: [(partition: Int32, offset: Int64, line: String)] = []
        var drained = Set<Int32>()
        let deadline = ContinuousClock.now + .seconds(30)
        while drained.count < Self.partitions {
            guard ContinuousClock.now < deadline else { throw FaultFailure("\(topic) not read to its end") }
            try consumer.poll(maxMessages: 1_000, timeout: .milliseconds(100)) { view in
                switch view.kind {
                case .message:
                    drained.remove(view.partition)
                    let key = view.keyBytes.map { String(decoding: $0, as: UTF8.self) } ?? "(none)"
                    let headers = view.headers.map { "\($0.key)=\(String(decoding: $0.value, as: UTF8.self))" }
                        .joined(separator: ";")
                    let value = String(decoding: view.valueBytes, as: UTF8.self)
                    messages.append(
                        (
                            view.partition, view.offset,
                            [topic, "\(view.partition)", "\(view.offset)", key, headers, value].joined(separator: "\t")
                        ))
                case .partitionEOF: drained.insert(view.partition)
                case .error: break
                }
            }
        }
        return messages.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }.map(\.line)
    }
}
