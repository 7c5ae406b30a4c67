import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// Hostile review #7, section 4: a key removed from the keys file while the state holds
/// messages it signed is named in a warning at start (a rebuild would turn them all into
/// E_AUTH); a key still listed, with a not_after, is not.
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(3)))
struct RetiredKeyTests {
    @Test func removingAKeyThatSignedAcceptedMessagesIsWarnedAbout() async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-retired")
        defer { dir.remove() }
        let keys = try TestKeys()
        let all = try keys.write(to: dir.file("keys.json"))
        let v = HostileTopic.rd("530102")
        _ = try await onDedicatedThread { [broker] in
            try broker.produce([
                TestMessage(
                    topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: v,
                    headers: try keys.headers(v, keyId: "530102-test"))
            ])
        }
        let out = URL(fileURLWithPath: dir.file("out"))
        var options = AggregateOptions(
            brokers: broker.brokers, out: out, statePath: dir.file("state.db"), keysPath: all, timeout: .seconds(30))
        let first = try await onDedicatedThread { [options] in
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(first.counts.accepted == 1)

        // The same keys: no warning.
        let same = LogRecorder()
        _ = try await onDedicatedThread { [options] in try Aggregator(options: options, logger: same.logger()).run() }
        #expect(!same.text.contains("no longer in"))

        // 530102-test removed (every other key kept): the warning names it, once.
        let fewer = TestKeys.fileText(keys.keys.filter { $0.id != "530102-test" })
        let fewerPath = dir.file("keys-fewer.json")
        try Data(fewer.utf8).write(to: URL(fileURLWithPath: fewerPath))
        chmod(fewerPath, 0o600)
        options.keysPath = fewerPath
        let log = LogRecorder()
        _ = try await onDedicatedThread { [options] in try Aggregator(options: options, logger: log.logger()).run() }
        #expect(
            log.text.contains(
                "key \"530102-test\" signed messages this state accepted but is no longer in \(fewerPath)"),
            "\(log.text)")
        #expect(log.text.components(separatedBy: "no longer in").count == 2)
        #expect(!log.text.contains("530103-test\" signed"))
    }
}
