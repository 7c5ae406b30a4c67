import CRdKafka

/// Who set a message's timestamp (librdkafka's `rd_kafka_timestamp_type_t`).
public enum KafkaTimestampType: Sendable, Hashable {
    case notAvailable
    /// Set by the producer.
    case createTime
    /// Set by the broker when it appended the message.
    case logAppendTime
}

/// One consumed message (or consumer event) lent to the body of `KafkaConsumer.poll` without
/// copying: `key`, `value` and headers point into librdkafka's buffer and are valid only until
/// the body returns (the message is destroyed right after). Copy what you keep.
///
/// Non-copyable so it cannot be stored by accident.
public struct KafkaMessageView: ~Copyable {
    /// What this entry is.
    public enum Kind: Sendable, Hashable {
        /// A message with key, value, headers.
        case message
        /// The consumer reached the end of `topic`/`partition`; `offset` is the next offset that
        /// will be written there (what a caller should store to resume after everything read).
        /// Reported once per time the partition is drained (`enable.partition.eof=true`).
        case partitionEOF
        /// A non-fatal consumer error (librdkafka keeps retrying; e.g. `_TRANSPORT`). `topic`
        /// and `partition` are set when the error concerns one partition.
        case error(KafkaError)
    }

    let message: UnsafePointer<rd_kafka_message_t>
    /// The topic name (cached per topic handle: no allocation per message). Empty for errors not
    /// tied to a topic.
    public let topic: String
    public let kind: Kind

    init(message: UnsafePointer<rd_kafka_message_t>, topic: String, kind: Kind) {
        self.message = message
        self.topic = topic
        self.kind = kind
    }

    public var isMessage: Bool { kind == .message }
    public var isPartitionEOF: Bool { kind == .partitionEOF }

    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    /// The message timestamp in milliseconds since the epoch (create or log-append time,
    /// whichever the topic records), or -1 when there is none.
    public var timestampMillis: Int64 {
        guard kind == .message else { return -1 }
        return rd_kafka_message_timestamp(message, nil)
    }

    /// Who set `timestampMillis`: the producer (`CreateTime`) or the broker on append
    /// (`LogAppendTime`, the topic's `message.timestamp.type`).
    public var timestampType: KafkaTimestampType {
        guard kind == .message else { return .notAvailable }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        _ = rd_kafka_message_timestamp(message, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return .createTime
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return .logAppendTime
        default: return .notAvailable
        }
    }

    /// The key bytes, or nil for a message without a key.
    public var key: UnsafeRawBufferPointer? {
        guard kind == .message, let key = message.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: key, count: message.pointee.key_len)
    }

    /// The value bytes (empty for a null value and for events).
    public var value: UnsafeRawBufferPointer {
        guard kind == .message, let payload = message.pointee.payload else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: payload, count: message.pointee.len)
    }

    /// The last header with this name, or nil if the message has none by that name.
    /// A header present with a null value reads as an empty buffer.
    public func header(named name: String) -> UnsafeRawBufferPointer? {
        guard kind == .message else { return nil }
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else {
            return nil
        }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return nil
        }
        return UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : size)
    }

    /// All headers, copied (convenient for tests and logs; `header(named:)` avoids the copies).
    public var headers: [KafkaHeader] {
        guard kind == .message else { return [] }
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                let name
            else { break }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            result.append(KafkaHeader(key: String(cString: name), value: bytes))
            index += 1
        }
        return result
    }

    /// The key copied into an array (nil without a key).
    public var keyBytes: [UInt8]? { key.map { Array($0) } }
    /// The value copied into an array.
    public var valueBytes: [UInt8] { Array(value) }
}
