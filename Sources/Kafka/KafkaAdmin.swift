import CRdKafka

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic-level configuration, e.g. `["retention.ms": "-1"]`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What happened to one topic of a `createTopics` request.
public struct CreateTopicResult: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// nil when the topic was created.
    public let error: KafkaError?

    /// The topic was there already: not a failure for an idempotent "make sure it exists".
    public var alreadyExisted: Bool { error?.errorCode == .topicAlreadyExists }
    /// The topic exists now (created by this request or before it).
    public var exists: Bool { error == nil || alreadyExisted }

    public var description: String {
        if let error { return alreadyExisted ? "\(name): already exists" : "\(name): \(error)" }
        return "\(name): created"
    }
}

/// One topic as the cluster's metadata describes it.
public struct TopicMetadata: Sendable, Hashable {
    public let name: String
    /// Partition ids, ascending.
    public let partitions: [Int32]
    /// The broker's error for this topic (e.g. `UNKNOWN_TOPIC_OR_PART`), nil when fine.
    public let error: KafkaError?
}

/// Cluster administration: create topics, list topics and partitions, read the cluster id.
///
/// Every call blocks up to its timeout (run it off Swift's cooperative pool). Thread-safe.
public final class KafkaAdmin: Sendable {
    private let handle: NativeHandle

    public init(configuration: KafkaConfiguration) throws {
        let conf = try configuration.makeNative()
        handle = NativeHandle(
            pointer: try makeClient(
                type: RD_KAFKA_PRODUCER, configuration: conf, properties: configuration.allProperties))
    }

    deinit { rd_kafka_destroy(handle.pointer) }

    /// Creates topics, reporting each one separately: a topic that exists already comes back
    /// with `alreadyExisted == true` rather than failing the whole call, so "create" can be
    /// repeated safely.
    ///
    /// - Throws: `KafkaError` when the request as a whole failed (timeout, unsupported by the
    ///   broker, invalid arguments).
    public func createTopics(_ topics: [NewTopic], timeout: Duration) throws -> [CreateTopicResult] {
        guard !topics.isEmpty else { return [] }
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for topic in topics {
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errstr, errstr.count)
            else {
                throw KafkaError(
                    code: .invalidArgument, message: "\(topic.name): \(string(fromNullTerminated: errstr))",
                    operation: "createTopics")
            }
            newTopics.append(newTopic)
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.from(
                        err, message: "\(topic.name): config \(key)=\(value) rejected", operation: "createTopics")
                }
            }
        }
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        let millis = milliseconds(timeout)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, millis, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, millis, &errstr, errstr.count)

        let event = try runAdmin(timeout: timeout, operation: "createTopics") { queue in
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(handle.pointer, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        defer { rd_kafka_event_destroy(event) }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .badMessage, message: "unexpected admin result event", operation: "createTopics")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        return (0..<count).map { index in
            let item = results[index]
            let name = String(cString: rd_kafka_topic_result_name(item))
            let err = rd_kafka_topic_result_error(item)
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return CreateTopicResult(name: name, error: nil) }
            let text = rd_kafka_topic_result_error_string(item).map { String(cString: $0) }
            return CreateTopicResult(
                name: name, error: KafkaError.from(err, message: text, operation: "create topic \(name)"))
        }
    }

    /// All topics in the cluster with their partitions (internal topics included), by name.
    public func metadata(timeout: Duration) throws -> [TopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, milliseconds(timeout))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.from(err, operation: "metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [TopicMetadata] = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            let partitions = (0..<Int(topic.partition_cnt)).map { topic.partitions[$0].id }.sorted()
            let error =
                topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.from(topic.err, operation: "metadata")
            topics.append(TopicMetadata(name: String(cString: topic.topic), partitions: partitions, error: error))
        }
        return topics.sorted { $0.name < $1.name }
    }

    /// The configuration of each topic as the brokers describe it (DescribeConfigs): every
    /// entry's name and value (nil for a sensitive or unset value). A topic the brokers could
    /// not describe comes back as its error.
    ///
    /// - Throws: `KafkaError` when the request as a whole failed (timeout, unsupported).
    public func describeTopicConfigs(_ names: [String], timeout: Duration) throws -> [String: Result<
        [String: String?], KafkaError
    >] {
        guard !names.isEmpty else { return [:] }
        var resources: [OpaquePointer?] = names.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
        defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
        var errstr = [CChar](repeating: 0, count: 512)
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds(timeout), &errstr, errstr.count)
        // Any broker describes a topic's configuration; librdkafka would wait for the controller,
        // which a cluster without one (librdkafka's mock) never names: ask a broker we know.
        var metadata: UnsafePointer<rd_kafka_metadata>?
        if rd_kafka_metadata(handle.pointer, 0, nil, &metadata, milliseconds(timeout)) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let metadata
        {
            let broker =
                metadata.pointee.broker_cnt > 0 ? metadata.pointee.brokers[0].id : metadata.pointee.orig_broker_id
            rd_kafka_metadata_destroy(metadata)
            _ = rd_kafka_AdminOptions_set_broker(options, broker, &errstr, errstr.count)
        }
        let event = try runAdmin(timeout: timeout, operation: "describeConfigs") { queue in
            resources.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_DescribeConfigs(handle.pointer, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        defer { rd_kafka_event_destroy(event) }
        guard let result = rd_kafka_event_DescribeConfigs_result(event) else {
            throw KafkaError(code: .badMessage, message: "unexpected admin result event", operation: "describeConfigs")
        }
        var count = 0
        guard let described = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return [:] }
        var out: [String: Result<[String: String?], KafkaError>] = [:]
        for index in 0..<count {
            guard let resource = described[index] else { continue }
            let name = String(cString: rd_kafka_ConfigResource_name(resource))
            let err = rd_kafka_ConfigResource_error(resource)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let text = rd_kafka_ConfigResource_error_string(resource).map { String(cString: $0) }
                out[name] = .failure(KafkaError.from(err, message: text, operation: "describe configs of \(name)"))
                continue
            }
            var entryCount = 0
            var entries: [String: String?] = [:]
            if let list = rd_kafka_ConfigResource_configs(resource, &entryCount) {
                for e in 0..<entryCount {
                    guard let entry = list[e] else { continue }
                    entries[String(cString: rd_kafka_ConfigEntry_name(entry))] = rd_kafka_ConfigEntry_value(entry).map {
                        String(cString: $0)
                    }
                }
            }
            out[name] = .success(entries)
        }
        return out
    }

    /// The cluster id the brokers report. A different id means a different cluster (so offsets
    /// kept from another one mean nothing here).
    public func clusterId(timeout: Duration) throws -> String {
        guard let id = rd_kafka_clusterid(handle.pointer, milliseconds(timeout)) else {
            throw KafkaError(code: .timedOut, message: "no cluster id within \(timeout)", operation: "clusterId")
        }
        defer { rd_kafka_mem_free(handle.pointer, id) }
        return String(cString: id)
    }

    /// Starts an admin request on a private queue and waits (bounded) for its result event.
    private func runAdmin(
        timeout: Duration, operation: String, _ start: (OpaquePointer) -> Void
    ) throws -> OpaquePointer {
        let queue = rd_kafka_queue_new(handle.pointer)!
        defer { rd_kafka_queue_destroy(queue) }
        start(queue)
        // librdkafka times the request out itself; the margin only guards against a lost event.
        guard let event = rd_kafka_queue_poll(queue, milliseconds(timeout + .seconds(5))) else {
            throw KafkaError(code: .timedOut, message: "no answer within \(timeout)", operation: operation)
        }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) }
            rd_kafka_event_destroy(event)
            throw KafkaError.from(err, message: text, operation: operation)
        }
        return event
    }
}
