import CRdKafka

/// A librdkafka error code as a Swift value, so callers (and tests that inject faults into the
/// mock cluster) can name codes without importing the C module.
///
/// Negative codes are librdkafka's local errors (`_TRANSPORT`, `_PARTITION_EOF`, ...); positive
/// ones are Kafka protocol errors as the broker sent them.
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }
    var native: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

    /// librdkafka's symbolic name without the `RD_KAFKA_RESP_ERR_` prefix, e.g. `_TRANSPORT`.
    public var name: String { String(cString: rd_kafka_err2name(native)) }
    /// librdkafka's human-readable text for the code.
    public var text: String { String(cString: rd_kafka_err2str(native)) }
    public var description: String { name }

    public static let noError = KafkaErrorCode(RD_KAFKA_RESP_ERR_NO_ERROR)
    // Local (client-side) errors.
    public static let badMessage = KafkaErrorCode(RD_KAFKA_RESP_ERR__BAD_MSG)
    public static let transport = KafkaErrorCode(RD_KAFKA_RESP_ERR__TRANSPORT)
    public static let messageTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    public static let partitionEOF = KafkaErrorCode(RD_KAFKA_RESP_ERR__PARTITION_EOF)
    public static let unknownPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    public static let allBrokersDown = KafkaErrorCode(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    public static let invalidArgument = KafkaErrorCode(RD_KAFKA_RESP_ERR__INVALID_ARG)
    public static let timedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let queueFull = KafkaErrorCode(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    public static let unknownTopic = KafkaErrorCode(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    public static let state = KafkaErrorCode(RD_KAFKA_RESP_ERR__STATE)
    public static let unsupportedFeature = KafkaErrorCode(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
    public static let noOffset = KafkaErrorCode(RD_KAFKA_RESP_ERR__NO_OFFSET)
    public static let fatal = KafkaErrorCode(RD_KAFKA_RESP_ERR__FATAL)
    public static let destroyed = KafkaErrorCode(RD_KAFKA_RESP_ERR__DESTROY)
    public static let autoOffsetReset = KafkaErrorCode(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
    // Broker (protocol) errors.
    public static let offsetOutOfRange = KafkaErrorCode(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
    public static let corruptMessage = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_MSG)
    public static let unknownTopicOrPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    public static let leaderNotAvailable = KafkaErrorCode(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
    public static let notLeaderForPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
    public static let requestTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
    public static let brokerNotAvailable = KafkaErrorCode(RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE)
    public static let messageSizeTooLarge = KafkaErrorCode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    public static let coordinatorLoadInProgress = KafkaErrorCode(RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS)
    public static let coordinatorNotAvailable = KafkaErrorCode(RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
    public static let notCoordinator = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_COORDINATOR)
    public static let notEnoughReplicas = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
    public static let recordListTooLarge = KafkaErrorCode(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
    public static let invalidRecord = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_RECORD)
    public static let topicAuthorizationFailed = KafkaErrorCode(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    public static let groupAuthorizationFailed = KafkaErrorCode(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
    public static let topicAlreadyExists = KafkaErrorCode(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    public static let invalidPartitions = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS)
    public static let invalidReplicationFactor = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR)
    public static let unknownMemberId = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
    public static let rebalanceInProgress = KafkaErrorCode(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
    public static let illegalGeneration = KafkaErrorCode(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
    public static let unsupportedVersion = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION)
    public static let policyViolation = KafkaErrorCode(RD_KAFKA_RESP_ERR_POLICY_VIOLATION)
    public static let saslAuthenticationFailed = KafkaErrorCode(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)
}

/// An error reported by librdkafka, carrying librdkafka's own code, name and text so that what
/// a user sees is what librdkafka said (and can be looked up in its documentation).
public struct KafkaError: Error, Sendable, CustomStringConvertible, Hashable {
    /// librdkafka's `rd_kafka_resp_err_t` value.
    public let code: Int32
    /// librdkafka's symbolic name, e.g. `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    public let name: String
    /// librdkafka's message for this occurrence (more specific than the code's generic text
    /// when librdkafka supplied one).
    public let message: String
    /// The client instance can no longer be used (e.g. idempotent producer sequence lost).
    public let isFatal: Bool
    /// The operation may succeed if retried.
    public let isRetriable: Bool
    /// What this library was doing when the error occurred, e.g. `commit` (may be empty).
    public let operation: String

    public init(
        code: KafkaErrorCode, message: String? = nil, isFatal: Bool = false,
        isRetriable: Bool = false, operation: String = ""
    ) {
        self.code = code.rawValue
        self.name = code.name
        self.message = message ?? code.text
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.operation = operation
    }

    /// The broker (or librdkafka, before sending) refuses this very message: it is too large
    /// (`message.max.bytes`, `max.message.bytes`) or not a valid record for the topic. Sending
    /// the same bytes again can never succeed, unlike a transport error or a timeout.
    public var refusesTheMessageItself: Bool {
        let code = errorCode
        return code == .messageSizeTooLarge || code == .recordListTooLarge || code == .invalidRecord
    }

    /// The code as a Swift value, for comparisons such as `error.errorCode == .transport`.
    public var errorCode: KafkaErrorCode { KafkaErrorCode(rawValue: code) }

    public var description: String {
        var text = operation.isEmpty ? "" : "\(operation): "
        text += "\(message) [\(name)]"
        if isFatal { text += " (fatal)" }
        return text
    }

    /// Makes an error from a bare response code, using librdkafka's text for it.
    static func from(_ err: rd_kafka_resp_err_t, message: String? = nil, operation: String = "") -> KafkaError {
        KafkaError(
            code: KafkaErrorCode(err), message: message, isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            isRetriable: false, operation: operation)
    }

    /// Makes an error from an `rd_kafka_error_t` and destroys it (the caller hands over ownership).
    static func consuming(_ error: OpaquePointer, operation: String = "") -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: KafkaErrorCode(rd_kafka_error_code(error)),
            message: String(cString: rd_kafka_error_string(error)),
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            operation: operation)
    }

    /// The instance's fatal error, if one was raised (`rd_kafka_fatal_error`).
    static func fatalError(of handle: OpaquePointer, operation: String = "") -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(
            code: KafkaErrorCode(err), message: string(fromNullTerminated: buffer), isFatal: true,
            isRetriable: false, operation: operation)
    }
}

/// A configuration was rejected, with librdkafka's own explanation (for example
/// `No such configuration property: "foo.bar"`), so a user can fix the property they passed.
public struct KafkaConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The property at fault, if the error concerns one.
    public let key: String?
    /// librdkafka's (or this library's) explanation.
    public let message: String

    public init(key: String?, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "invalid Kafka configuration property \(key): \(message)" }
        return "invalid Kafka configuration: \(message)"
    }
}

/// Reads a C string out of a fixed-size buffer that librdkafka filled (an `errstr` argument).
func string(fromNullTerminated buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { pointer in
        let length = pointer.firstIndex(of: 0) ?? pointer.count
        return String(
            decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(pointer)[0..<length]),
            as: UTF8.self)
    }
}
