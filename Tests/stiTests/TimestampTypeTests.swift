// Section 4 on a real broker (hostile review #5): key windows need broker timestamps. Tansu
// keeps the producer's timestamp (CreateTime) whatever the topic says, so it shows both the
// aggregator's start-up warning and the per-message rule.
import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct TimestampType {
        /// Topics made without `message.timestamp.type` (here with Tansu's own tool) get a
        /// warning per submission topic; topics made by `sti topics create` none.
        @Test func aggregateWarnsForTopicsWithoutLogAppendTime() async throws {
            try await Bench.with { bench in
                let tansu = try KafkaTestEnvironment.tansuPath()
                for topic in ["sti.rd", "sti.tech-contracts", "sti.county-profiles", "sti.rejected"] {
                    let made = try await onDedicatedThread { [brokers = bench.brokers] in
                        try ChildProcess.run(
                            tansu, ["topic", "create", "--broker", "tcp://\(brokers)", "--partitions", "1", topic],
                            timeout: .seconds(30))
                    }
                    #expect(made.succeeded, "tansu topic create \(topic): \(made.stderrText)")
                }
                let result = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"),
                    "--state", bench.scratch.file("state.db"), "--timeout", "30",
                ])
                #expect(result.succeeded, "\(result.stderrText)")
                for topic in ["sti.rd", "sti.tech-contracts", "sti.county-profiles"] {
                    #expect(
                        result.stderrText.contains("topic \(topic) has message.timestamp.type="),
                        "no warning for \(topic): \(result.stderrText)")
                }
                #expect(!result.stderrText.contains("topic sti.rejected has message.timestamp.type"))
            }
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let result = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"),
                    "--state", bench.scratch.file("state.db"), "--timeout", "30",
                ])
                #expect(result.succeeded, "\(result.stderrText)")
                #expect(!result.stderrText.contains("message.timestamp.type="), "\(result.stderrText)")
            }
        }

        /// Through Tansu (CreateTime), a message signed with a key that has a window is E_AUTH
        /// even inside the window, and one signed with an unbounded key of the same county is
        /// accepted; the notice says why.
        @Test func aBoundedKeyOnACreateTimeTopicIsRefused() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let bounded = (id: "530102-window", secret: String(repeating: "f6", count: 32))
                let keysJSON = """
                    {"keys": [{"id": "530102-k1", "county": "530102", "secret_hex": "\(String(repeating: "a1", count: 32))"},
                              {"id": "\(bounded.id)", "county": "530102", "secret_hex": "\(bounded.secret)",
                               "not_before": "2020-01-01T00:00:00+08:00", "not_after": "2099-12-31T23:59:59+08:00"}]}
                    """
                let keys = try bench.write("keys.json", keysJSON, mode: 0o600)
                let registry = try bench.write("registry.json", SmallRegistry.json)
                let ring = try KeyRing.parse(Data(keysJSON.utf8))
                let feed = Feed(ring: ring)
                let good = try feed.signed("sti.rd", "530102", feed.rd("530102", 2024, "other", "1"))
                let value = Array(feed.rd("530102", 2024, "medical", "2").utf8)
                let windowed = Outgoing(
                    topic: "sti.rd", key: "530102", value: value,
                    headers: [
                        ("sti-key-id", bounded.id), ("sti-signature", try ring.sign(value: value, keyId: bounded.id)),
                    ])
                try await bench.produce([good, windowed])
                let result = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"),
                    "--state", bench.scratch.file("state.db"), "--keys", keys, "--registry", registry,
                    "--timeout", "30",
                ])
                #expect(result.succeeded, "\(result.stderrText)")
                let snapshot = try Snapshot.latest(out: bench.scratch.file("out"))
                let rows = Array(try snapshot.rows("rejections.csv").dropFirst())
                #expect(rows.map { [$0[2], $0[4]] } == [["1", "E_AUTH"]])
                #expect(rows.first?[5].contains("CreateTime") == true, "\(rows)")
                #expect(manifestCounts(try snapshot.manifest())["accepted"] == 1)
            }
        }
    }
}
