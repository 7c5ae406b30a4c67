import CRdKafka
import Synchronization

/// librdkafka's in-process mock Kafka cluster, for tests: real TCP listeners on loopback that
/// speak the Kafka protocol, with fault injection (request errors, brokers down, leader moves,
/// latency).
///
/// Limits (librdkafka 2.0.2): no CreateTopics (use `createTopic`), and only about 5 MiB or
/// 100,000 message sets are kept per partition — older data is dropped silently, so use many
/// partitions for volume and count what comes back.
///
/// The mock API has no ABI promise: `init` refuses to run unless the loaded librdkafka is the
/// one whose headers this module was built with.
public final class MockCluster: Sendable {
    /// Kafka protocol request types, for `pushRequestErrors`.
    public enum APIKey: Int16, Sendable, CaseIterable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case leaveGroup = 13
        case syncGroup = 14
        case describeGroups = 15
        case apiVersions = 18
        case initProducerId = 22
        case offsetForLeaderEpoch = 23
    }

    /// The `bootstrap.servers` string for clients of this cluster.
    public let bootstrapServers: String
    /// Number of brokers; their ids are 1...brokerCount.
    public let brokerCount: Int
    private let owner: NativeHandle
    private let cluster: Mutex<NativeHandle?>

    /// Starts a cluster of `brokers` brokers on random loopback ports.
    public init(brokers: Int = 3) throws {
        guard librdkafkaVersionNumber() == librdkafkaHeaderVersionNumber else {
            throw KafkaError(
                code: .unsupportedFeature,
                message: "the mock cluster needs the librdkafka its headers came from "
                    + "(0x\(String(librdkafkaHeaderVersionNumber, radix: 16))); loaded \(librdkafkaVersion())",
                operation: "MockCluster")
        }
        // librdkafka ties a mock cluster to a client instance; this one does nothing else.
        let conf = try KafkaConfiguration(bootstrapServers: "", properties: ["log_level": "3"]).makeNative()
        let owner = try makeClient(type: RD_KAFKA_PRODUCER, configuration: conf)
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw KafkaError(code: .fatal, message: "rd_kafka_mock_cluster_new failed", operation: "MockCluster")
        }
        self.owner = NativeHandle(pointer: owner)
        self.cluster = Mutex(NativeHandle(pointer: cluster))
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit { close() }

    /// Stops the brokers. Idempotent; later operations throw `_STATE`.
    public func close() {
        let cluster = self.cluster.withLock { cluster in
            defer { cluster = nil }
            return cluster
        }
        guard let cluster else { return }
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        rd_kafka_destroy(owner.pointer)
    }

    /// Creates a topic (the mock has no CreateTopics request).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        try run("createTopic \(name)") { rd_kafka_mock_topic_create($0, name, partitions, replicationFactor) }
    }

    /// The next `errors.count` requests of this type fail with these errors, in order, whichever
    /// broker receives them. `.transport` makes the broker drop the connection instead.
    public func pushRequestErrors(apiKey: APIKey, errors: [KafkaErrorCode]) throws {
        let codes = errors.map(\.native)
        try run("pushRequestErrors") { cluster in
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey.rawValue, buffer.count, buffer.baseAddress)
            }
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Forgets errors pushed for this request type and not yet used.
    public func clearRequestErrors(apiKey: APIKey) throws {
        try run("clearRequestErrors") { cluster in
            rd_kafka_mock_clear_request_errors(cluster, apiKey.rawValue)
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Makes Metadata responses report this error for a topic (creating the topic if needed),
    /// e.g. `.unknownTopicOrPartition` to simulate a topic that does not exist.
    public func setTopicError(_ topic: String, _ error: KafkaErrorCode) throws {
        try run("setTopicError") { cluster in
            rd_kafka_mock_topic_set_error(cluster, topic, error.native)
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Disconnects a broker and refuses connections (`up: false`), or accepts them again.
    /// Leadership does not move. `brokerId` -1 means all brokers.
    public func setBroker(_ brokerId: Int32, up: Bool) throws {
        try run("setBroker \(brokerId) \(up ? "up" : "down")") { cluster in
            up ? rd_kafka_mock_broker_set_up(cluster, brokerId) : rd_kafka_mock_broker_set_down(cluster, brokerId)
        }
    }

    /// Moves a partition's leadership (creating the topic if needed); -1 leaves it leaderless.
    public func setPartitionLeader(topic: String, partition: Int32, brokerId: Int32) throws {
        try run("setPartitionLeader") { rd_kafka_mock_partition_set_leader($0, topic, partition, brokerId) }
    }

    /// Delays every response of a broker (-1: all brokers).
    public func setRoundTripTime(_ delay: Duration, brokerId: Int32 = -1) throws {
        try run("setRoundTripTime") { rd_kafka_mock_broker_set_rtt($0, brokerId, milliseconds(delay)) }
    }

    /// Makes a broker the coordinator of a consumer group.
    public func setGroupCoordinator(group: String, brokerId: Int32) throws {
        try run("setGroupCoordinator") { rd_kafka_mock_coordinator_set($0, "group", group, brokerId) }
    }

    private func run(_ operation: String, _ body: (OpaquePointer) -> rd_kafka_resp_err_t) throws {
        let err = try cluster.withLock { cluster throws -> rd_kafka_resp_err_t in
            guard let cluster else {
                throw KafkaError(code: .state, message: "mock cluster is closed", operation: operation)
            }
            return body(cluster.pointer)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: operation) }
    }
}
