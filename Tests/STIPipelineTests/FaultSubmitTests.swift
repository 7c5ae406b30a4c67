// `Submitter.send` under broker faults (librdkafka's mock cluster): every row is delivered
// exactly once, or reported failed (listed in the report, or the whole send throws) and then
// never delivered more than once. The idempotent producer must not turn retries into duplicates.
import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

/// A fault during a submission, and how it must end.
struct SubmitFaultScenario: Sendable, CustomTestStringConvertible {
    enum Expectation: Sendable {
        /// Every row delivered exactly once, none reported failed.
        case allDelivered
        /// Every row reported failed (in the report or by a thrown error) and none delivered.
        case noneDelivered
    }

    var name: String
    var expectation: Expectation
    /// Extra producer properties.
    var properties: [String: String] = [:]
    var sendTimeout: Duration = .seconds(30)
    /// Applied just before `send`; healed `healAfter` later (nil: after `send` returns).
    var inject: @Sendable (MockCluster) throws -> Void
    var healAfter: Duration?
    var heal: @Sendable (MockCluster) throws -> Void

    var testDescription: String { name }

    // Not in the table: replies slower than `request.timeout.ms`, the case where a retry resends
    // a batch the broker already appended. Only the broker's sequence check dedupes that, and
    // librdkafka's mock cluster checks sequences for transactional producers only
    // (`rd_kafka_mock_validate_records` returns early without a TransactionalId): tried, it
    // delivered 646 of 1,500 rows twice, a limit of the mock, not of the producer.
    static let all: [SubmitFaultScenario] = [
        SubmitFaultScenario(
            name: "retriable Produce errors", expectation: .allDelivered,
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .produce,
                    errors: [
                        .notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .leaderNotAvailable, .transport,
                        .notEnoughReplicas, .requestTimedOut,
                    ])
            },
            heal: { try $0.clearRequestErrors(apiKey: .produce) }),
        SubmitFaultScenario(
            name: "broker 1 down for 1.5 s", expectation: .allDelivered,
            inject: { try $0.setBroker(1, up: false) }, healAfter: .milliseconds(1500),
            heal: { try $0.setBroker(1, up: true) }),
        SubmitFaultScenario(
            name: "all brokers down for 1.5 s", expectation: .allDelivered,
            inject: { try $0.setBroker(-1, up: false) }, healAfter: .milliseconds(1500),
            heal: { try $0.setBroker(-1, up: true) }),
        SubmitFaultScenario(
            name: "all brokers down past message.timeout.ms: reported per row", expectation: .noneDelivered,
            properties: ["message.timeout.ms": "2000"], sendTimeout: .seconds(20),
            inject: { try $0.setBroker(-1, up: false) }, heal: { try $0.setBroker(-1, up: true) }),
        SubmitFaultScenario(
            name: "all brokers down past the send timeout: send throws", expectation: .noneDelivered,
            sendTimeout: .seconds(2),
            inject: { try $0.setBroker(-1, up: false) }, heal: { try $0.setBroker(-1, up: true) }),
    ]
}

@Suite(.mockCluster, .serialized, .timeLimit(.minutes(4)))
struct FaultSubmitTests {
    struct Outcome: Sendable {
        var rows = 0
        var sent = 0
        var failedRows = 0
        var thrown: String?
        /// Per sent value, how many times it is on the topics afterwards.
        var deliveries: [Int] = []
        var unknownMessages = 0
    }

    @Test(arguments: SubmitFaultScenario.all)
    func everyRowDeliveredOnceOrReportedFailed(_ scenario: SubmitFaultScenario) async throws {
        let outcome = try await onDedicatedThread { try Self.run(scenario) }
        print(
            "submit fault \"\(scenario.name)\": rows \(outcome.rows), sent \(outcome.sent), failed \(outcome.failedRows), thrown \(outcome.thrown ?? "nothing"), on the topics \(outcome.deliveries.reduce(0, +))"
        )
        #expect(outcome.rows > 500)
        #expect(outcome.unknownMessages == 0, "messages on the topics that no row sent")
        #expect(
            outcome.deliveries.allSatisfy { $0 <= 1 },
            "\(outcome.deliveries.filter { $0 > 1 }.count) rows delivered twice or more")
        if outcome.thrown == nil {
            #expect(outcome.sent + outcome.failedRows == outcome.rows, "every row is either sent or listed as failed")
        }
        switch scenario.expectation {
        case .allDelivered:
            #expect(outcome.thrown == nil)
            #expect(outcome.failedRows == 0)
            #expect(
                outcome.deliveries.allSatisfy { $0 == 1 },
                "\(outcome.deliveries.filter { $0 != 1 }.count) rows not delivered exactly once")
        case .noneDelivered:
            #expect(outcome.thrown != nil || outcome.failedRows == outcome.rows, "every row must be reported failed")
            #expect(outcome.deliveries.allSatisfy { $0 == 0 }, "rows reported failed were delivered")
        }
    }

    static func run(_ scenario: SubmitFaultScenario) throws -> Outcome {
        let bench = try FaultBench(brokers: 3)
        // CSV feeds as a bureau would submit them, every row valid.
        let feed = URL(fileURLWithPath: bench.dir.file("csv"))
        try FeedGenerator(seed: 4_242).writeLoad(to: feed, messages: 1_500, invalidFraction: 0, format: .csv)
        let paths = try FileManager.default.contentsOfDirectory(atPath: feed.path).filter { $0.hasSuffix(".csv") }
            .sorted()
            .map { feed.appendingPathComponent($0).path }
        let submitter = Submitter(options: .init())
        let checked = submitter.check(paths: paths, submittedAt: "2026-01-15T09:30:00+08:00")
        guard checked.problems.isEmpty else {
            throw FaultFailure("generated rows invalid: \(checked.problems.prefix(3))")
        }
        let values = checked.files.flatMap(\.rows).map(\.value)
        guard Set(values).count == values.count else { throw FaultFailure("generated rows are not unique") }

        let config = try Submitter.producerConfiguration(
            bootstrapServers: bench.cluster.bootstrapServers, properties: scenario.properties)
        var outcome = Outcome(rows: values.count)
        do {
            let producer = try KafkaProducer(configuration: config)
            // Connected and warmed up first, so the fault meets the sends, not the bootstrap.
            _ = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: bench.cluster.bootstrapServers))
                .metadata(timeout: .seconds(10))
            try scenario.inject(bench.cluster)
            let healer: FaultBackground<Bool>? = scenario.healAfter.map { delay in
                FaultBackground { [bench] in
                    usleep(
                        UInt32(delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000))
                    return (try? scenario.heal(bench.cluster)) != nil
                }
            }
            do {
                let report = try submitter.send(checked, producer: producer, signer: nil, timeout: scenario.sendTimeout)
                outcome.sent = report.sent
                outcome.failedRows = report.failed.count
            } catch {
                outcome.thrown = "\(error)"
            }
            _ = healer?.wait(timeout: .seconds(30))
            // The producer goes away as the CLI's does after a failed send: nothing left queued.
            if outcome.thrown != nil { try? producer.close(timeout: .zero) }
        }
        try scenario.heal(bench.cluster)
        try FaultScenario.clearAll(bench.cluster)

        var count: [[UInt8]: Int] = Dictionary(uniqueKeysWithValues: values.map { ($0, 0) })
        for topic in FaultBench.submissionTopics {
            for message in try bench.readAll(topic) {
                if count[message.value] != nil { count[message.value]! += 1 } else { outcome.unknownMessages += 1 }
            }
        }
        outcome.deliveries = values.map { count[$0] ?? 0 }
        return outcome
    }
}
