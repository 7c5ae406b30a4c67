import CRdKafka
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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
    /// Sockets bound (not listening) to the ports of brokers that are down; see `setBroker`.
    private let heldPorts = Mutex<[Int32]>([])

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
        releaseHeldPorts()
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
    ///
    /// A broker that goes down closes its listener, and one that comes back listens on the same
    /// port again: librdkafka aborts the process when that port was taken meanwhile, which a
    /// test process whose clients and other mock brokers take ports all the time did (CI:
    /// "Failed to bind mock broker socket to Address already in use"). So while a broker is down
    /// its port is held by a socket bound to it without listening (a connection there is still
    /// refused, as by a down broker), and let go only just before the broker listens again.
    public func setBroker(_ brokerId: Int32, up: Bool) throws {
        if up { releaseHeldPorts() }
        defer { holdFreedPorts() }
        try run("setBroker \(brokerId) \(up ? "up" : "down")") { cluster in
            up ? rd_kafka_mock_broker_set_up(cluster, brokerId) : rd_kafka_mock_broker_set_down(cluster, brokerId)
        }
    }

    /// The brokers' ports, from `bootstrapServers` (`127.0.0.1:port,…`).
    private var brokerPorts: [UInt16] {
        bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
    }

    /// Binds a socket, without listening, to every broker port that nothing listens on (the
    /// brokers that are down); a port whose broker listens refuses the bind and is left alone.
    private func holdFreedPorts() {
        for port in brokerPorts {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound == 0 { heldPorts.withLock { $0.append(fd) } } else { Glibc.close(fd) }
        }
    }

    private func releaseHeldPorts() {
        for fd in heldPorts.withLock({ held in
            defer { held.removeAll() }
            return held
        }) {
            Glibc.close(fd)
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
