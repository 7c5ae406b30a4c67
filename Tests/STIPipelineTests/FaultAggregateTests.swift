// Broker faults during an aggregation run (librdkafka's mock cluster): every run ends in a
// snapshot equal to a fault-free reference run's, or in a clear AggregateError after which a
// fault-free run completes to the reference snapshot. Never a wrong snapshot, never a hang,
// and across the runs every offset is covered exactly once and every rejection is announced.
import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// What a faulted run must end in.
enum FaultExpectation: Sendable {
    /// A snapshot equal to the reference.
    case snapshot
    /// An AggregateError whose text contains one of these, with one of these codes.
    case error([String], codes: Set<AggregateError.Code>)
    /// Either a correct snapshot or an AggregateError (librdkafka may or may not ride it out).
    case either
    /// An AggregateError whose text contains one of these (with one of the codes), or a snapshot equal to the reference
    /// when the fault met only a partition the run had finished: a run stops reading a
    /// partition at the end it saw when it began and pauses it, and librdkafka then drops the
    /// answer of a fetch still in flight for it, error or not (the next run checks that partition
    /// again before it reads it).
    case errorOrSnapshot([String], codes: Set<AggregateError.Code>)
}

/// A fault, injected once the run has committed a quarter of the feed, and healed later.
struct FaultScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var expectation: FaultExpectation
    /// The run's `timeout` (how long brokers may stay silent).
    var timeout: Duration = .seconds(6)
    /// Inject before the run starts instead of mid-run.
    var beforeRun = false
    /// Time between injecting and healing; nil heals only after the run.
    var healAfter: Duration?
    /// A log line the run must have written (proof that the fault was met).
    var logContains: String?
    var inject: @Sendable (MockCluster) throws -> Void
    var heal: @Sendable (MockCluster) throws -> Void = { _ in }

    var testDescription: String { name }
}

extension FaultScenario {
    static func clearAll(_ cluster: MockCluster) throws {
        for key in MockCluster.APIKey.allCases { try cluster.clearRequestErrors(apiKey: key) }
        try cluster.setBroker(-1, up: true)
        try cluster.setRoundTripTime(.zero)
    }

    /// Every partition of the four topics gets another leader.
    static func moveLeaders(_ cluster: MockCluster) throws {
        for topic in FaultBench.submissionTopics + ["sti.rejected"] {
            for partition in 0..<FaultBench.partitions {
                try cluster.setPartitionLeader(topic: topic, partition: partition, brokerId: 1 + (partition + 1) % 3)
            }
        }
    }

    static let all: [FaultScenario] = [
        FaultScenario(
            name: "Produce: retriable errors on rejection notices", expectation: .snapshot,
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .produce,
                    errors: [
                        .notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .leaderNotAvailable,
                        .notEnoughReplicas,
                    ])
            }),
        FaultScenario(
            name: "Produce: notices refused for good (not authorized)",
            expectation: .error(["rejection notice"], codes: [.noticesUndelivered]),
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .produce, errors: Array(repeating: .topicAuthorizationFailed, count: 100))
            },
            heal: { try $0.clearRequestErrors(apiKey: .produce) }),
        FaultScenario(
            name: "Fetch: transient errors", expectation: .snapshot,
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .fetch,
                    errors: [
                        .notLeaderForPartition, .requestTimedOut, .leaderNotAvailable, .transport,
                        .notLeaderForPartition,
                    ])
            }),
        FaultScenario(
            name: "Fetch: offset out of range (a truncated log)",
            expectation: .errorOrSnapshot(["--rebuild"], codes: [.logReplaced]),
            inject: { try $0.pushRequestErrors(apiKey: .fetch, errors: [.offsetOutOfRange]) }),
        FaultScenario(
            name: "OffsetCommit: refused", expectation: .snapshot, logContains: "offsets not committed",
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .offsetCommit, errors: Array(repeating: .groupAuthorizationFailed, count: 20))
            },
            heal: { try $0.clearRequestErrors(apiKey: .offsetCommit) }),
        FaultScenario(
            name: "Metadata: errors as the run starts", expectation: .either, beforeRun: true,
            inject: {
                try $0.pushRequestErrors(
                    apiKey: .metadata, errors: [.leaderNotAvailable, .transport, .requestTimedOut, .brokerNotAvailable])
            },
            heal: { try $0.clearRequestErrors(apiKey: .metadata) }),
        FaultScenario(
            name: "Metadata: brokers unreachable as the run starts",
            expectation: .error(["cannot reach the brokers"], codes: [.brokersUnreachable]),
            timeout: .seconds(3), beforeRun: true,
            inject: { try $0.setBroker(-1, up: false) }, heal: { try $0.setBroker(-1, up: true) }),
        FaultScenario(
            name: "Broker 1 down mid-run, back after 1.5 s", expectation: .snapshot, healAfter: .milliseconds(1500),
            inject: { try $0.setBroker(1, up: false) }, heal: { try $0.setBroker(1, up: true) }),
        FaultScenario(
            name: "All brokers down mid-run for longer than the timeout",
            expectation: .error(
                ["no answer from the brokers", "batch failed, nothing of it committed"],
                codes: [.brokersUnreachable, .kafka, .noticesUndelivered]),
            timeout: .seconds(3), healAfter: .seconds(8),
            inject: { try $0.setBroker(-1, up: false) }, heal: { try $0.setBroker(-1, up: true) }),
        FaultScenario(
            name: "Partition leaders move mid-run", expectation: .snapshot,
            inject: { try moveLeaders($0) }),
        FaultScenario(
            name: "Leaders move mid-run while Metadata requests fail", expectation: .snapshot,
            inject: { cluster in
                try cluster.pushRequestErrors(
                    apiKey: .metadata, errors: [.leaderNotAvailable, .requestTimedOut, .transport, .leaderNotAvailable])
                try moveLeaders(cluster)
            },
            heal: { try $0.clearRequestErrors(apiKey: .metadata) }),
    ]
}

/// What one scenario did, checked on the test's task.
struct FaultOutcome: Sendable {
    /// Stored offsets when the fault was injected, and the feed's size (mid-run: strictly between).
    var committedAtInjection: Int64 = -1
    var total: Int64 = 0
    var faulted: Result<AggregateSummary, AggregateError>?
    /// From the faulted run's start to its end (or to giving up on it).
    var faultedDuration: Duration = .zero
    var log: [String] = []
    /// The fault-free run after an error, when there was one.
    var recovery: Result<AggregateSummary, AggregateError>?
    var problems: [String] = []
}

@Suite(.mockCluster, .serialized, .timeLimit(.minutes(6)))
struct FaultAggregateTests {
    @Test(arguments: FaultScenario.all)
    func faultEndsInTheReferenceSnapshotOrAClearError(_ scenario: FaultScenario) async throws {
        let outcome = try await onDedicatedThread { try Self.run(scenario) }

        if !scenario.beforeRun {
            #expect(
                outcome.committedAtInjection > 0 && outcome.committedAtInjection < outcome.total,
                "the fault was not injected mid-run (\(outcome.committedAtInjection) of \(outcome.total) committed)")
        }
        let faulted = try #require(outcome.faulted, "the faulted run did not end within its bound: a hang")
        switch faulted {
        case .success(let summary):
            print("fault \"\(scenario.name)\": snapshot after \(outcome.faultedDuration); \(summary.line)")
        case .failure(let error):
            print("fault \"\(scenario.name)\": AggregateError after \(outcome.faultedDuration): \(error)")
        }
        switch (scenario.expectation, faulted) {
        case (.snapshot, .failure(let error)):
            Issue.record("expected the run to ride out the fault, it failed: \(error)")
        case (.error, .success(let summary)):
            Issue.record("expected an AggregateError, the run succeeded: \(summary.line)")
        case (.error(let texts, let codes), .failure(let error)),
            (.errorOrSnapshot(let texts, let codes), .failure(let error)):
            #expect(texts.contains { error.description.contains($0) }, "unexpected error text: \(error)")
            #expect(codes.contains(error.code), "unexpected error code \(error.code): \(error)")
        default:
            break
        }
        if case .failure = faulted {
            let recovery = try #require(outcome.recovery, "the fault-free run after the error did not end: a hang")
            if case .failure(let error) = recovery {
                Issue.record("the fault-free run after the error failed: \(error)")
            }
        }
        if let text = scenario.logContains {
            #expect(outcome.log.contains { $0.contains(text) }, "no log line with \"\(text)\": \(outcome.log)")
        }
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
    }

    /// Reference run, then the faulted run (and a fault-free one after an error), then the checks.
    static func run(_ scenario: FaultScenario) throws -> FaultOutcome {
        let bench = try FaultBench(brokers: 3)
        try bench.load(messages: 4_000, seed: 7_000 + UInt64(scenario.name.utf8.count))
        var outcome = FaultOutcome(total: Int64(bench.loaded.values.reduce(0, +)))

        if case .failure(let error) = bench.aggregate(bench.options("reference", timeout: .seconds(20))) {
            throw FaultFailure("the fault-free reference run failed: \(error)")
        }
        let noticesBefore = Set(try bench.notices().keys)

        let log = FaultLog()
        let options = bench.options("faulted", timeout: scenario.timeout)
        let probe = FaultProgressProbe(path: options.statePath)
        if scenario.beforeRun { try scenario.inject(bench.cluster) }
        let started = ContinuousClock.now
        let run = FaultBackground { [bench] in bench.aggregate(options, log: log) }
        if !scenario.beforeRun {
            // Inject once a quarter of the feed is committed (bounded: the run may end first).
            let deadline = ContinuousClock.now + .seconds(60)
            while !run.isDone && probe.committed() < outcome.total / 4 && ContinuousClock.now < deadline {
                usleep(1_000)
            }
            outcome.committedAtInjection = probe.committed()
            try scenario.inject(bench.cluster)
        }
        if let healAfter = scenario.healAfter {
            let healAt = ContinuousClock.now + healAfter
            while !run.isDone && ContinuousClock.now < healAt { usleep(5_000) }
            try scenario.heal(bench.cluster)
        }
        // Bound: the run's own timeout, a few of its waits over, and slack for a slow machine.
        outcome.faulted = run.wait(timeout: scenario.timeout * 4 + .seconds(60))
        outcome.faultedDuration = ContinuousClock.now - started
        outcome.log = log.all
        try scenario.heal(bench.cluster)
        try FaultScenario.clearAll(bench.cluster)
        guard let faulted = outcome.faulted else { return outcome }

        if let problem = latestProblem(bench.out("faulted")) { outcome.problems.append(problem) }
        if case .failure = faulted {
            let recovery = FaultBackground { [bench] in bench.aggregate(bench.options("faulted", timeout: .seconds(20)))
            }
            outcome.recovery = recovery.wait(timeout: .seconds(120))
            guard case .success = outcome.recovery else { return outcome }
        }
        outcome.problems += try bench.problems(series: "faulted", reference: "reference", noticesBefore: noticesBefore)
        return outcome
    }

    /// nil when `latest` is absent or points at a folder with a manifest.
    static func latestProblem(_ out: URL) -> String? {
        let link = out.appendingPathComponent("latest").path
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        let manifest = out.appendingPathComponent("\(target)/\(SnapshotWriter.manifestFile)").path
        return FileManager.default.fileExists(atPath: manifest) ? nil : "latest -> \(target) has no manifest"
    }
}
