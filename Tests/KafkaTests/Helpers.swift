import Foundation
import Kafka
import STITestSupport
import Synchronization
import Testing

/// A consumed message copied out of its view, for comparisons.
struct ConsumedMessage: Hashable, Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]
    var headers: [KafkaHeader]
    var valueText: String { String(decoding: value, as: UTF8.self) }
    var position: Position { Position(partition: partition, offset: offset) }
}

/// Where a message sits in a topic.
struct Position: Hashable, Sendable, Comparable {
    var partition: Int32
    var offset: Int64
    static func < (lhs: Position, rhs: Position) -> Bool {
        (lhs.partition, lhs.offset) < (rhs.partition, rhs.offset)
    }
}

/// A message a test sent, to compare with what comes back.
struct SentMessage: Hashable, Sendable {
    var key: [UInt8]?
    var value: [UInt8]
    var headers: [KafkaHeader]
}

/// A check that failed inside blocking work run off the test's task (where `#expect` cannot
/// attribute issues): thrown so the test fails with this text.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Everything a consumer handed out while being drained.
struct DrainResult: Sendable {
    var messages: [ConsumedMessage] = []
    var errors: [KafkaError] = []
    /// Partitions whose EOF came after their last message.
    var drained: Set<Int32> = []
}

/// Collects delivery reports by tag (a producer's `onDelivery`).
final class DeliveryLog: Sendable {
    let reports = Mutex<[Int: KafkaDeliveryReport]>([:])
    var handler: @Sendable (KafkaDeliveryReport) -> Void {
        { report in self.reports.withLock { $0[report.tag] = report } }
    }
    var all: [Int: KafkaDeliveryReport] { reports.withLock { $0 } }
    /// Tag of the message delivered at each position.
    var tagsByPosition: [Position: Int] {
        var result: [Position: Int] = [:]
        for (tag, report) in all {
            if let offset = report.offset { result[Position(partition: report.partition, offset: offset)] = tag }
        }
        return result
    }
}

extension KafkaConsumer {
    /// Polls once, copying messages into `into`.
    @discardableResult
    func pollInto(_ into: inout DrainResult, maxMessages: Int = 500, timeout: Duration = .milliseconds(100)) throws
        -> Int
    {
        try poll(maxMessages: maxMessages, timeout: timeout) { message in
            switch message.kind {
            case .message:
                into.messages.append(
                    ConsumedMessage(
                        topic: message.topic, partition: message.partition, offset: message.offset,
                        key: message.keyBytes, value: message.valueBytes, headers: message.headers))
                into.drained.remove(message.partition)
            case .partitionEOF:
                into.drained.insert(message.partition)
            case .error(let error):
                into.errors.append(error)
            }
        }
    }

    /// Polls until every one of `partitions` reported EOF after its last message, or `timeout`
    /// passed (then throws, saying how far it got).
    func drain(partitions: Set<Int32>, timeout: Duration = .seconds(30)) throws -> DrainResult {
        var result = DrainResult()
        let deadline = ContinuousClock.now + timeout
        while !partitions.isSubset(of: result.drained) {
            guard ContinuousClock.now < deadline else {
                throw TestFailure(
                    "drain timed out: \(result.messages.count) messages, drained \(result.drained.sorted()) of "
                        + "\(partitions.sorted()), errors \(result.errors)")
            }
            try pollInto(&result)
        }
        return result
    }
}

/// A unique topic name (mock clusters and Tansu brokers are shared by nothing, but names that
/// say which test made them help when reading logs).
func uniqueTopic(_ base: String) -> String {
    "\(base)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Consumer settings for group tests that keep rebalances short (the mock waits a full
/// session timeout for a member that left).
func groupTestProperties() -> [String: String] {
    ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]
}

/// Asserts (by throwing) that every position appears at most once.
func requireNoDuplicates(_ messages: [ConsumedMessage], _ context: String) throws {
    var seen = Set<Position>()
    for message in messages where !seen.insert(message.position).inserted {
        throw TestFailure("\(context): \(message.topic)[\(message.partition)]@\(message.offset) delivered twice")
    }
}

/// Checks that every consumed message is, byte for byte (key, value, headers), the one sent
/// under the tag its delivery report gave for that position.
func expectEachConsumedIsWhatWasSent(
    _ consumed: [ConsumedMessage], tags: [Position: Int], sent: [Int: SentMessage],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    for message in consumed {
        let tag = try #require(
            tags[message.position], "no delivery report for \(message.position)", sourceLocation: sourceLocation)
        let original = try #require(sent[tag], "no message sent with tag \(tag)", sourceLocation: sourceLocation)
        #expect(message.key == original.key, sourceLocation: sourceLocation)
        #expect(message.value == original.value, sourceLocation: sourceLocation)
        #expect(message.headers == original.headers, sourceLocation: sourceLocation)
    }
}
