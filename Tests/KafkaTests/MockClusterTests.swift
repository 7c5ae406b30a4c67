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
                    ? []
                    : [
                        KafkaHeader(key: "sti-key-id", string: "id-\(index)"),
                        KafkaHeader(key: "bin", value: [0, 1, 2]),
                    ]
                sent[index] = SentMessage(key: key, value: value, headers: headers)
                try producer.send(topic: topic, key: key, value: value, headers: headers, tag: index)
            }
            try producer.flush(timeout: .seconds(30))

            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
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
        try expectEachConsumedIsWhatWasSent(outcome.consumed, tags: outcome.tags, sent: outcome.sent)
    }

    @Test func restartResumesExactlyAtOffsetsKeptOutsideKafka() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("resume")
            try cluster.createTopic(topic, partitions: 3)
            let log = DeliveryLog()
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), onDelivery: log.handler)
            func produce(_ range: Range<Int>) throws {
                for index in range {
                    try producer.send(
                        topic: topic, key: Array("k\(index % 5)".utf8), value: Array("m-\(index)".utf8), tag: index)
                }
                try producer.flush(timeout: .seconds(30))
            }
            try produce(0..<600)

            // First run: stop part-way, remembering (outside Kafka) the next offset per partition.
            var first = DrainResult()
            var next: [Int32: Int64] = [:]
            do {
                let consumer = try KafkaConsumer(
                    configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
                try consumer.assign((0..<3).map { TopicPartitionOffset.beginning(topic, $0) })
                let deadline = ContinuousClock.now + .seconds(30)
                while first.messages.count < 250 && ContinuousClock.now < deadline {
                    try consumer.pollInto(&first, maxMessages: 50)
                }
                for message in first.messages { next[message.partition] = message.offset + 1 }
                try consumer.close()
            }
            try produce(600..<900)

            // Second run: start exactly there.
            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            try consumer.assign(
                (0..<3).map {
                    TopicPartitionOffset(topic: topic, partition: $0, offset: next[$0] ?? KafkaOffset.beginning)
                })
            let second = try consumer.drain(partitions: [0, 1, 2])
            let positions = try consumer.position((0..<3).map { TopicPartitionOffset(topic: topic, partition: $0) })
            try consumer.close()
            return (first: first.messages, second: second.messages, tags: log.tagsByPosition, positions: positions)
        }
        #expect(outcome.first.count >= 250)
        #expect(outcome.first.count < 900)
        let firstPositions = Set(outcome.first.map(\.position))
        let secondPositions = Set(outcome.second.map(\.position))
        #expect(firstPositions.isDisjoint(with: secondPositions), "re-delivered after the stored offset")
        #expect(outcome.first.count + outcome.second.count == 900, "lost or duplicated messages")
        #expect(firstPositions.union(secondPositions) == Set(outcome.tags.keys))
        for message in outcome.first + outcome.second {
            #expect(message.valueText == "m-\(outcome.tags[message.position] ?? -1)")
        }
        // The consumer's position is one past the last message of each partition.
        for position in outcome.positions {
            let last = (outcome.first + outcome.second).filter { $0.partition == position.partition }.map(\.offset)
                .max()
            #expect(position.offset == (last ?? -1) + 1)
        }
    }

    @Test func groupCommitThenSubscribeResumesAtCommittedOffsets() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("commit")
            try cluster.createTopic(topic, partitions: 2)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            for index in 0..<200 {
                try producer.send(topic: topic, value: Array("m-\(index)".utf8), partition: Int32(index % 2))
            }
            try producer.flush(timeout: .seconds(30))
            let group = uniqueTopic("group")
            let configuration = KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupId: group, properties: groupTestProperties())

            let first = try KafkaConsumer(configuration: configuration)
            try first.assign([TopicPartitionOffset.beginning(topic, 0), TopicPartitionOffset.beginning(topic, 1)])
            var read = DrainResult()
            let deadline = ContinuousClock.now + .seconds(30)
            while read.messages.count < 60 && ContinuousClock.now < deadline {
                try first.pollInto(&read, maxMessages: 20)
            }
            var next: [Int32: Int64] = [0: 0, 1: 0]
            for message in read.messages { next[message.partition] = message.offset + 1 }
            let toCommit = next.sorted { $0.key < $1.key }.map {
                TopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value)
            }
            try first.commit(toCommit, synchronous: true)
            let committed = try first.committed(
                [TopicPartitionOffset(topic: topic, partition: 0), TopicPartitionOffset(topic: topic, partition: 1)],
                timeout: .seconds(10))
            try first.close()

            let second = try KafkaConsumer(configuration: configuration)
            try second.subscribe(topics: [topic])
            let rest = try second.drain(partitions: [0, 1])
            let events = second.takeRebalanceEvents()
            try second.close()
            return (
                first: read.messages, committed: committed, expectedCommitted: toCommit, rest: rest.messages,
                events: events
            )
        }
        #expect(outcome.committed.map(\.offset) == outcome.expectedCommitted.map(\.offset))
        #expect(outcome.committed.allSatisfy { $0.error == nil })
        #expect(Set(outcome.first.map(\.position)).isDisjoint(with: outcome.rest.map(\.position)))
        #expect(outcome.first.count + outcome.rest.count == 200)
        #expect(outcome.events.first?.kind == .assigned)
        #expect(Set(outcome.events.first?.partitions.map(\.partition) ?? []) == [0, 1])
    }

    /// Eager (the default: everything revoked, then reassigned) and cooperative (only moved
    /// partitions change hands) rebalances.
    @Test(arguments: ["range,roundrobin", "cooperative-sticky"])
    func twoGroupMembersSharePartitionsThroughARebalance(strategy: String) async throws {
        let cooperative = strategy == "cooperative-sticky"
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 3)
            defer { cluster.close() }
            let topic = uniqueTopic("rebalance")
            try cluster.createTopic(topic, partitions: 4)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            // Old data that the members must skip: their (external) store says "start at 10".
            for index in 0..<40 {
                try producer.send(topic: topic, value: Array("old-\(index)".utf8), partition: Int32(index % 4))
            }
            try producer.flush(timeout: .seconds(30))
            let external: KafkaRebalanceHandler = { event in
                event.partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: 10) }
            }
            var properties = groupTestProperties()
            properties["partition.assignment.strategy"] = strategy
            let configuration = KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupId: uniqueTopic("group"), properties: properties)
            let first = try KafkaConsumer(configuration: configuration)
            try first.subscribe(topics: [topic], onRebalance: external)
            var firstResult = DrainResult()
            var secondResult = DrainResult()
            var deadline = ContinuousClock.now + .seconds(30)
            while try first.assignment().count < 4 {
                guard ContinuousClock.now < deadline else { throw TestFailure("first member never got 4 partitions") }
                try first.pollInto(&firstResult)
            }
            let second = try KafkaConsumer(configuration: configuration)
            try second.subscribe(topics: [topic], onRebalance: external)
            deadline = ContinuousClock.now + .seconds(60)
            while try !(first.assignment().count == 2 && second.assignment().count == 2) {
                guard ContinuousClock.now < deadline else {
                    throw TestFailure(
                        "rebalance did not split 2/2: \(try first.assignment()) \(try second.assignment())")
                }
                try first.pollInto(&firstResult)
                try second.pollInto(&secondResult)
            }
            let firstOwns = Set(try first.assignment().map(\.partition))
            let secondOwns = Set(try second.assignment().map(\.partition))
            for index in 0..<400 {
                try producer.send(topic: topic, value: Array("new-\(index)".utf8), partition: Int32(index % 4))
            }
            try producer.flush(timeout: .seconds(30))
            deadline = ContinuousClock.now + .seconds(30)
            while firstResult.messages.count + secondResult.messages.count < 400
                || !firstOwns.isSubset(of: firstResult.drained) || !secondOwns.isSubset(of: secondResult.drained)
            {
                guard ContinuousClock.now < deadline else {
                    throw TestFailure(
                        "only \(firstResult.messages.count)+\(secondResult.messages.count) of 400 arrived")
                }
                try first.pollInto(&firstResult)
                try second.pollInto(&secondResult)
            }
            let events = (first: first.takeRebalanceEvents(), second: second.takeRebalanceEvents())
            try second.close()
            try first.close()
            return (
                firstOwns: firstOwns, secondOwns: secondOwns, first: firstResult.messages,
                second: secondResult.messages,
                events: events
            )
        }
        #expect(outcome.firstOwns.isDisjoint(with: outcome.secondOwns))
        #expect(outcome.firstOwns.union(outcome.secondOwns) == [0, 1, 2, 3])
        let all = outcome.first + outcome.second
        #expect(all.count == 400)
        #expect(Set(all.map(\.valueText)) == Set((0..<400).map { "new-\($0)" }), "old data read, or new data lost")
        #expect(outcome.first.allSatisfy { outcome.firstOwns.contains($0.partition) })
        #expect(outcome.second.allSatisfy { outcome.secondOwns.contains($0.partition) })
        // The rebalances were surfaced: the first member got all four and gave up two of them
        // (eager: revoke all four, then two come back; cooperative: revoke just the two that
        // moved). On a loaded machine the group may take more than one round to settle, so the
        // events are replayed rather than matched to one sequence: replaying them must give
        // what each member finally owns.
        let firstEvents = outcome.events.first
        #expect(firstEvents.first?.kind == .assigned)
        #expect(firstEvents.first?.partitions.count == 4)
        #expect(firstEvents.contains { $0.kind == .revoked }, "\(firstEvents)")
        #expect(firstEvents.allSatisfy { $0.isCooperative == cooperative })
        #expect(Self.replay(firstEvents, cooperative: cooperative) == outcome.firstOwns, "\(firstEvents)")
        #expect(
            Self.replay(outcome.events.second, cooperative: cooperative) == outcome.secondOwns,
            "\(outcome.events.second)")
        if cooperative {
            // Incremental: nothing the first member keeps is ever revoked.
            #expect(
                firstEvents.filter { $0.kind == .revoked }.allSatisfy {
                    Set($0.partitions.map(\.partition)).isDisjoint(with: outcome.firstOwns)
                })
        } else {
            // Eager: assignments alternate with taking everything away (revoked, or lost when
            // a session timed out).
            #expect(
                firstEvents.enumerated().allSatisfy { ($0.element.kind == .assigned) == ($0.offset % 2 == 0) },
                "\(firstEvents)")
        }
    }

    /// The partitions a member holds after its rebalance events: eager assignments replace what
    /// it holds, cooperative ones add to it; revocations and losses take away.
    static func replay(_ events: [KafkaRebalanceEvent], cooperative: Bool) -> Set<Int32> {
        var owned = Set<Int32>()
        for event in events {
            let partitions = Set(event.partitions.map(\.partition))
            switch event.kind {
            case .assigned: owned = cooperative ? owned.union(partitions) : partitions
            case .revoked, .lost: owned.subtract(partitions)
            }
        }
        return owned
    }

    @Test func injectedErrorsAndABrokerOutageLoseNothing() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 3)
            defer { cluster.close() }
            let topic = uniqueTopic("faults")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            let log = DeliveryLog()
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["retry.backoff.ms": "50"]),
                onDelivery: log.handler)
            try cluster.pushRequestErrors(
                apiKey: .produce,
                errors: [.notLeaderForPartition, .requestTimedOut, .transport, .notEnoughReplicas, .leaderNotAvailable])
            for index in 0..<2000 {
                if index == 700 { try cluster.setBroker(1, up: false) }
                if index == 1400 {
                    Thread.sleep(forTimeInterval: 0.5)
                    try cluster.setBroker(1, up: true)
                }
                try producer.send(
                    topic: topic, key: Array("k\(index % 13)".utf8), value: Array("m-\(index)".utf8), tag: index)
            }
            try producer.flush(timeout: .seconds(60))

            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["fetch.error.backoff.ms": "50"]))
            try cluster.pushRequestErrors(
                apiKey: .fetch, errors: [.notLeaderForPartition, .transport, .requestTimedOut, .leaderNotAvailable])
            try consumer.assign((0..<4).map { TopicPartitionOffset.beginning(topic, $0) })
            var result = DrainResult()
            let deadline = ContinuousClock.now + .seconds(60)
            while result.messages.count < 600 && ContinuousClock.now < deadline {
                try consumer.pollInto(&result, maxMessages: 50)
            }
            try cluster.setBroker(2, up: false)
            Thread.sleep(forTimeInterval: 0.5)
            try cluster.setBroker(2, up: true)
            while result.drained.count < 4 || result.messages.count < 2000 {
                guard ContinuousClock.now < deadline else {
                    throw TestFailure("only \(result.messages.count) of 2000 consumed; errors: \(result.errors)")
                }
                try consumer.pollInto(&result)
            }
            try consumer.close()
            return (
                delivered: producer.delivered, failed: producer.failed, failures: producer.takeFailures(),
                tags: log.tagsByPosition, consumed: result.messages
            )
        }
        #expect(outcome.delivered == 2000)
        #expect(outcome.failed == 0, "\(outcome.failures.prefix(5))")
        #expect(outcome.tags.count == 2000)
        try requireNoDuplicates(outcome.consumed, "after faults")
        #expect(outcome.consumed.count == 2000)
        #expect(Set(outcome.consumed.map(\.valueText)) == Set((0..<2000).map { "m-\($0)" }))
        for message in outcome.consumed { #expect(message.valueText == "m-\(outcome.tags[message.position] ?? -1)") }
    }

    /// Broker-side rejections end as failed delivery reports carrying the caller's tag.
    @Test(arguments: [KafkaErrorCode.messageSizeTooLarge, .recordListTooLarge, .invalidRecord])
    func brokerRejectionIsReportedNotLost(code: KafkaErrorCode) async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("reject")
            try cluster.createTopic(topic, partitions: 1)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "0"]))
            try producer.send(topic: topic, value: Array("warm-up".utf8), tag: 1)
            try producer.flush(timeout: .seconds(30))
            try cluster.pushRequestErrors(apiKey: .produce, errors: [code])
            try producer.send(topic: topic, value: Array("rejected".utf8), tag: 42)
            try producer.flush(timeout: .seconds(30))
            // The producer keeps working afterwards (the rejection was not fatal).
            var laterError: String?
            do {
                try producer.send(topic: topic, value: Array("later".utf8), tag: 43)
                try producer.flush(timeout: .seconds(30))
            } catch { laterError = "\(error)" }
            return (
                delivered: producer.delivered, failed: producer.failed, failures: producer.takeFailures(),
                laterError: laterError
            )
        }
        #expect(outcome.failed == 1)
        #expect(outcome.failures.map(\.tag) == [42])
        #expect(outcome.failures.first?.error?.errorCode == code)
        #expect(outcome.failures.first?.partition == 0)
        #expect(outcome.laterError == nil)
        #expect(outcome.delivered == 2)
    }

    @Test func unknownTopicWithoutAutoCreateIsReportedPerMessage() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            // The mock auto-creates topics whatever the client asks, so make it deny this one.
            try cluster.setTopicError("no-such-topic", .unknownTopicOrPartition)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers,
                    properties: [
                        "allow.auto.create.topics": "false", "topic.metadata.propagation.max.ms": "200",
                        "message.timeout.ms": "3000",
                    ]))
            for index in 0..<5 { try producer.send(topic: "no-such-topic", value: Array("x".utf8), tag: index) }
            try producer.flush(timeout: .seconds(30))
            return (delivered: producer.delivered, failed: producer.failed, failures: producer.takeFailures())
        }
        #expect(outcome.delivered == 0)
        #expect(outcome.failed == 5)
        #expect(outcome.failures.map(\.tag).sorted() == [0, 1, 2, 3, 4])
        #expect(outcome.failures.allSatisfy { $0.topic == "no-such-topic" && $0.offset == nil })
        let codes = Set(outcome.failures.compactMap { $0.error?.errorCode })
        #expect(codes.isSubset(of: [.unknownTopic, .unknownTopicOrPartition, .messageTimedOut]), "\(codes)")
    }

    @Test func messagesTimingOutWhileBrokersAreDownAreReported() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("timeout")
            try cluster.createTopic(topic, partitions: 2)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["message.timeout.ms": "1000"]))
            try producer.send(topic: topic, value: Array("before".utf8), tag: 0)
            try producer.flush(timeout: .seconds(30))
            try cluster.setBroker(-1, up: false)
            for index in 1...20 { try producer.send(topic: topic, value: Array("m-\(index)".utf8), tag: index) }
            try producer.flush(timeout: .seconds(30))
            return (delivered: producer.delivered, failed: producer.failed, failures: producer.takeFailures())
        }
        #expect(outcome.delivered == 1)
        #expect(outcome.failed == 20)
        #expect(outcome.failures.map(\.tag).sorted() == Array(1...20))
        #expect(
            outcome.failures.allSatisfy { $0.error?.errorCode == .messageTimedOut }, "\(outcome.failures.prefix(3))")
    }

    /// What librdkafka refuses outright is thrown from `send` and never counted as in flight.
    @Test func refusedMessagesThrowFromSend() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("refuse")
            try cluster.createTopic(topic, partitions: 3)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["message.max.bytes": "10000"]))
            try producer.send(topic: topic, value: Array("fine".utf8))
            try producer.flush(timeout: .seconds(30))
            var thrown: [KafkaError] = []
            do { try producer.send(topic: topic, value: [UInt8](repeating: 7, count: 20_000)) } catch let error
                as KafkaError
            {
                thrown.append(error)
            }
            do { try producer.send(topic: topic, value: Array("x".utf8), partition: 99) } catch let error as KafkaError
            {
                thrown.append(error)
            }
            try producer.close()
            do { try producer.send(topic: topic, value: Array("closed".utf8)) } catch let error as KafkaError {
                thrown.append(error)
            }
            return (
                thrown: thrown, delivered: producer.delivered, failed: producer.failed,
                outstanding: producer.outstanding
            )
        }
        #expect(outcome.thrown.map(\.errorCode) == [.messageSizeTooLarge, .unknownPartition, .state])
        #expect(outcome.delivered == 1)
        #expect(outcome.failed == 0)
        #expect(outcome.outstanding == 0)
    }

    /// A full local queue makes `send` wait (serving delivery reports) instead of growing;
    /// it gives up after `queueFullTimeout` when nothing can drain.
    @Test func fullQueueBlocksThenTimesOut() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("queue")
            try cluster.createTopic(topic, partitions: 1)
            try cluster.setRoundTripTime(.milliseconds(20))
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: ["queue.buffering.max.messages": "5"]),
                queueFullTimeout: .milliseconds(500))
            for index in 0..<100 { try producer.send(topic: topic, value: Array("m-\(index)".utf8), tag: index) }
            try producer.flush(timeout: .seconds(30))
            let deliveredWhileSlow = producer.delivered

            try cluster.setBroker(-1, up: false)
            var accepted = 0
            var refusal: KafkaError?
            for index in 0..<50 {
                do {
                    try producer.send(topic: topic, value: Array("late-\(index)".utf8))
                    accepted += 1
                } catch let error as KafkaError {
                    refusal = error
                    break
                }
            }
            var flushError: KafkaError?
            do { try producer.flush(timeout: .milliseconds(200)) } catch let error as KafkaError { flushError = error }
            try cluster.setBroker(-1, up: true)
            try producer.flush(timeout: .seconds(60))
            return (
                deliveredWhileSlow: deliveredWhileSlow, accepted: accepted, refusal: refusal,
                flushError: flushError, delivered: producer.delivered, failed: producer.failed
            )
        }
        #expect(outcome.deliveredWhileSlow == 100)
        #expect(outcome.accepted <= 5)
        #expect(outcome.refusal?.errorCode == .queueFull)
        #expect(outcome.flushError?.errorCode == .timedOut)
        #expect(outcome.delivered == 100 + outcome.accepted)
        #expect(outcome.failed == 0)
    }
}
