import Foundation
import Kafka
import STITestSupport
import Testing

/// Offsets, commits, watermarks, admin and the mock cluster's own error paths.
@Suite(.serialized, .timeLimit(.minutes(2)), .mockCluster)
struct KafkaMockOffsetAndAdminTests {
    @Test func watermarksPositionAndStoredOffsets() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("marks")
            try cluster.createTopic(topic, partitions: 1)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            for index in 0..<10 { try producer.send(topic: topic, value: Array("m-\(index)".utf8)) }
            try producer.flush(timeout: .seconds(30))
            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, groupId: uniqueTopic("g"))
            )
            let marks = try consumer.queryWatermarks(topic: topic, partition: 0, timeout: .seconds(10))
            try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: 3)])
            let read = try consumer.drain(partitions: [0])
            let position = try consumer.position([TopicPartitionOffset(topic: topic, partition: 0)])
            try consumer.storeOffsets([TopicPartitionOffset(topic: topic, partition: 0, offset: 8)])
            try consumer.commitStoredOffsets()
            let committed = try consumer.committed(
                [TopicPartitionOffset(topic: topic, partition: 0)], timeout: .seconds(10))
            var unassignedStore: KafkaError?
            do {
                try consumer.storeOffsets([TopicPartitionOffset(topic: topic + "-other", partition: 0, offset: 1)])
            } catch let error as KafkaError { unassignedStore = error }
            try consumer.close()
            return (
                marks: marks, read: read.messages.map(\.offset), position: position, committed: committed,
                unassignedStore: unassignedStore
            )
        }
        #expect(outcome.marks.low == 0)
        #expect(outcome.marks.high == 10)
        #expect(outcome.read == Array(3..<10))
        #expect(outcome.position.map(\.offset) == [10])
        #expect(outcome.committed.map(\.offset) == [8])
        #expect(outcome.unassignedStore != nil)
    }

    @Test func commitFailuresAreThrownOrReported() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 1)
            defer { cluster.close() }
            let topic = uniqueTopic("commitfail")
            try cluster.createTopic(topic, partitions: 1)
            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, groupId: uniqueTopic("g"))
            )
            try consumer.assign([TopicPartitionOffset.beginning(topic, 0)])
            let offsets = [TopicPartitionOffset(topic: topic, partition: 0, offset: 0)]
            try consumer.commit(offsets, synchronous: true)  // coordinator known from here on
            try cluster.pushRequestErrors(apiKey: .offsetCommit, errors: [.groupAuthorizationFailed])
            var syncError: KafkaError?
            do { try consumer.commit(offsets, synchronous: true) } catch let error as KafkaError { syncError = error }
            try cluster.pushRequestErrors(apiKey: .offsetCommit, errors: [.groupAuthorizationFailed])
            try consumer.commit(offsets, synchronous: false)
            var asyncErrors: [KafkaError] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while asyncErrors.isEmpty && ContinuousClock.now < deadline {
                try consumer.poll(maxMessages: 10, timeout: .milliseconds(100)) { _ in }
                asyncErrors += consumer.takeAsyncCommitErrors()
            }
            try consumer.commit(offsets, synchronous: false)  // succeeds: reports nothing
            try consumer.poll(maxMessages: 10, timeout: .milliseconds(500)) { _ in }
            let laterErrors = consumer.takeAsyncCommitErrors()
            try consumer.close()
            var afterClose: [KafkaError] = []
            do { try consumer.poll(maxMessages: 1, timeout: .zero) { _ in } } catch let error as KafkaError {
                afterClose.append(error)
            }
            do { try consumer.commit(offsets) } catch let error as KafkaError { afterClose.append(error) }
            do { try consumer.assign(offsets) } catch let error as KafkaError { afterClose.append(error) }
            try consumer.close()  // idempotent
            return (syncError: syncError, asyncErrors: asyncErrors, laterErrors: laterErrors, afterClose: afterClose)
        }
        #expect(outcome.syncError?.errorCode == .groupAuthorizationFailed, "\(String(describing: outcome.syncError))")
        #expect(outcome.asyncErrors.map(\.errorCode).contains(.groupAuthorizationFailed), "\(outcome.asyncErrors)")
        #expect(outcome.laterErrors.isEmpty)
        #expect(outcome.afterClose.map(\.errorCode) == [.state, .state, .state])
    }

    @Test func adminListsTopicsAndClusterId() async throws {
        let outcome = try await onDedicatedThread {
            let cluster = try MockCluster(brokers: 2)
            defer { cluster.close() }
            let topic = uniqueTopic("admin")
            try cluster.createTopic(topic, partitions: 5)
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
            let metadata = try admin.metadata(timeout: .seconds(10))
            let clusterId = try admin.clusterId(timeout: .seconds(10))
            var createError: KafkaError?
            var createResults: [CreateTopicResult] = []
            do {
                createResults = try admin.createTopics(
                    [NewTopic(name: uniqueTopic("new"), partitions: 2)], timeout: .seconds(2))
            } catch let error as KafkaError { createError = error }
            return (
                metadata: metadata, topic: topic, clusterId: clusterId, createError: createError,
                createResults: createResults
            )
        }
        let described = try #require(outcome.metadata.first { $0.name == outcome.topic })
        #expect(described.partitions == [0, 1, 2, 3, 4])
        #expect(described.error == nil)
        #expect(!outcome.clusterId.isEmpty)
        // The 2.0.2 mock has no CreateTopics: the failure must surface (thrown or per topic), never pass as created.
        #expect(
            outcome.createError != nil || outcome.createResults.allSatisfy { !$0.exists },
            "\(String(describing: outcome.createError)) \(outcome.createResults)")
    }

    @Test func mockClusterRejectsUseAfterClose() throws {
        let cluster = try MockCluster(brokers: 1)
        cluster.close()
        cluster.close()
        #expect(throws: KafkaError.self) { try cluster.createTopic("t", partitions: 1) }
        #expect(throws: KafkaError.self) { try cluster.setBroker(1, up: false) }
        #expect(throws: KafkaError.self) { try cluster.pushRequestErrors(apiKey: .produce, errors: [.transport]) }
    }

    @Test func mockClusterReportsUnknownBroker() throws {
        let cluster = try MockCluster(brokers: 1)
        defer { cluster.close() }
        #expect(throws: KafkaError.self) { try cluster.setBroker(7, up: false) }
        #expect(throws: KafkaError.self) { try cluster.setRoundTripTime(.milliseconds(5), brokerId: 9) }
        try cluster.setPartitionLeader(topic: "t", partition: 0, brokerId: 1)
    }
}
