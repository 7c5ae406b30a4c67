// The vocabulary of validation (protocol section 6): codes, errors, and the message as the
// validator sees it. The checks themselves live in `MessageValidator`.

/// The validation codes of section 6, in the table's order.
public enum ErrorCode: String, CaseIterable, Sendable, Hashable, Codable, Comparable {
    case encoding = "E_ENCODING"
    case size = "E_SIZE"
    case json = "E_JSON"
    case schema = "E_SCHEMA"
    case fieldMissing = "E_FIELD_MISSING"
    case fieldUnknown = "E_FIELD_UNKNOWN"
    case type = "E_TYPE"
    case county = "E_COUNTY"
    case keyMismatch = "E_KEY_MISMATCH"
    case partition = "E_PARTITION"
    case period = "E_PERIOD"
    case range = "E_RANGE"
    case precision = "E_PRECISION"
    case enumeration = "E_ENUM"
    case inconsistent = "E_INCONSISTENT"
    case auth = "E_AUTH"
    case staleRevision = "E_STALE_REVISION"
    case revisionConflict = "E_REVISION_CONFLICT"

    private var order: Int { ErrorCode.allCases.firstIndex(of: self)! }
    public static func < (a: ErrorCode, b: ErrorCode) -> Bool { a.order < b.order }
}

/// One broken rule: its code, the field it concerns (nil for whole-message rules such as
/// `E_JSON`), and a sentence naming the rule, e.g. "must be between 0 and 10000000000".
public struct FieldError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var field: String?
    public var message: String

    public init(_ code: ErrorCode, field: String?, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "\(code.rawValue) \(field): \(message)" }
        return "\(code.rawValue): \(message)"
    }
}

/// Who set a message's timestamp, and so whether a key's validity window may be judged on it
/// (section 4).
public enum TimestampSource: Sendable, Hashable {
    /// The broker, on append (`message.timestamp.type=LogAppendTime`): trustworthy.
    case broker
    /// The producer (`CreateTime`), or unknown: a holder of a retired key could back-date it.
    case producer
    /// This machine's clock, for offline checks (`sti validate`, `sti submit` before sending).
    case localClock

    /// Whether a key's `not_before`/`not_after` may be compared with this timestamp.
    public var isTrusted: Bool { self != .producer }
}

/// Where a consumed message sits: its partition among the topic's partitions (section 2).
public struct MessagePlacement: Sendable, Hashable {
    public var partition: Int32
    public var partitionCount: Int32
    public init(partition: Int32, partitionCount: Int32) {
        self.partition = partition
        self.partitionCount = partitionCount
    }
}

/// A message as received from (or about to be sent to) a submission topic.
/// The value is borrowed: validation reads the bytes in place and copies only what a
/// `Record` keeps.
public struct InboundMessage {
    /// Which submission topic the message came from (decides the expected schema).
    public var topicKind: RecordKind
    /// The message key; nil when the message has none.
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer
    /// `sti-key-id` header value, if present.
    public var keyIdHeader: UnsafeRawBufferPointer?
    /// `sti-signature` header value, if present.
    public var signatureHeader: UnsafeRawBufferPointer?
    /// The Kafka message timestamp, milliseconds since the Unix epoch (validity window of keys).
    public var timestampMillis: Int64
    /// Who set `timestampMillis`. Unknown is treated as the producer: not trusted.
    public var timestampSource: TimestampSource
    /// Where the message was consumed; nil before it is sent (offline checks), which skips
    /// the `E_PARTITION` rule.
    public var placement: MessagePlacement?

    public init(
        topicKind: RecordKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        keyIdHeader: UnsafeRawBufferPointer? = nil, signatureHeader: UnsafeRawBufferPointer? = nil,
        timestampMillis: Int64, timestampSource: TimestampSource = .producer, placement: MessagePlacement? = nil
    ) {
        self.topicKind = topicKind
        self.key = key
        self.value = value
        self.keyIdHeader = keyIdHeader
        self.signatureHeader = signatureHeader
        self.timestampMillis = timestampMillis
        self.timestampSource = timestampSource
        self.placement = placement
    }
}
