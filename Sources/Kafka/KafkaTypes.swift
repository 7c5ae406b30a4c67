import CRdKafka

/// One Kafka record header as the producer sends it. Values are bytes; Kafka allows repeated keys.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }

    /// A header whose value is the UTF-8 bytes of `value`.
    public init(key: String, string value: String) {
        self.init(key: key, value: Array(value.utf8))
    }
}

/// The special offsets librdkafka understands in place of a real one.
///
/// Real offsets are non-negative `Int64`s; `TopicPartitionOffset.offset` holds either a real
/// offset or one of these.
public enum KafkaOffset {
    /// The oldest message still in the partition.
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// The next message to arrive (skip everything that is there now).
    public static let end = Int64(RD_KAFKA_OFFSET_END)
    /// The offset committed for the consumer group (then `auto.offset.reset` when there is none).
    public static let stored = Int64(RD_KAFKA_OFFSET_STORED)
    /// No offset: what librdkafka reports for a partition without a position or commit.
    public static let invalid = Int64(RD_KAFKA_OFFSET_INVALID)

    /// Human-readable form of an offset, naming the specials.
    public static func describe(_ offset: Int64) -> String {
        switch offset {
        case beginning: "beginning"
        case end: "end"
        case stored: "stored"
        case invalid: "invalid"
        default: String(offset)
        }
    }
}

/// A topic, a partition and an offset: a start position for `assign`, a position to commit
/// (the next offset to read), or what a rebalance or position query reports.
public struct TopicPartitionOffset: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// A real offset (≥ 0) or one of `KafkaOffset`'s specials.
    public var offset: Int64
    /// A per-partition error, when librdkafka reported one (e.g. from a commit).
    public var error: KafkaError?

    public init(topic: String, partition: Int32, offset: Int64 = KafkaOffset.invalid, error: KafkaError? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
    }

    public static func beginning(_ topic: String, _ partition: Int32) -> TopicPartitionOffset {
        TopicPartitionOffset(topic: topic, partition: partition, offset: KafkaOffset.beginning)
    }

    public var description: String {
        var text = "\(topic)[\(partition)]@\(KafkaOffset.describe(offset))"
        if let error { text += " (\(error))" }
        return text
    }
}

/// The librdkafka version actually loaded at run time, e.g. `2.0.2` (which may differ from the
/// headers this module was built with when `LD_LIBRARY_PATH` points elsewhere).
public func librdkafkaVersion() -> String {
    String(cString: rd_kafka_version_str())
}

/// The loaded librdkafka's version as an integer (`0xMMmmrrxx`, e.g. `0x020002ff` for 2.0.2).
public func librdkafkaVersionNumber() -> Int {
    Int(rd_kafka_version())
}

/// The version of the librdkafka headers this module was compiled against. The mock cluster has
/// no ABI promise, so it only runs when this equals `librdkafkaVersionNumber()`.
public let librdkafkaHeaderVersionNumber = Int(RD_KAFKA_VERSION)

// MARK: - Internal helpers shared by the clients

/// A librdkafka handle (`rd_kafka_t`, `rd_kafka_topic_t`, ...) made sendable. librdkafka
/// documents its handles as thread-safe; lifetimes are managed by the owning Swift class.
struct NativeHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Builds an `rd_kafka_topic_partition_list_t`; the caller destroys it.
func makePartitionList(_ partitions: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
    for item in partitions {
        let element = rd_kafka_topic_partition_list_add(list, item.topic, item.partition)!
        element.pointee.offset = item.offset
    }
    return list
}

/// Reads an `rd_kafka_topic_partition_list_t` into Swift values (per-partition errors included).
func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?, operation: String = "")
    -> [TopicPartitionOffset]
{
    guard let list, list.pointee.cnt > 0, let elements = list.pointee.elems else { return [] }
    var result: [TopicPartitionOffset] = []
    result.reserveCapacity(Int(list.pointee.cnt))
    for index in 0..<Int(list.pointee.cnt) {
        let element = elements[index]
        let error: KafkaError? =
            element.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.from(element.err, operation: operation)
        result.append(
            TopicPartitionOffset(
                topic: String(cString: element.topic), partition: element.partition, offset: element.offset,
                error: error))
    }
    return result
}

/// Milliseconds for librdkafka's `int timeout_ms` arguments, clamped to what an Int32 holds.
func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 { return 0 }
    let millis = seconds.multipliedReportingOverflow(by: 1000)
    if millis.overflow || millis.partialValue > Int64(Int32.max) { return Int32.max }
    let total = millis.partialValue + attoseconds / 1_000_000_000_000_000
    return Int32(min(total, Int64(Int32.max)))
}
