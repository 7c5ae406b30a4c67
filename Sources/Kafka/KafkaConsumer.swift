import CRdKafka
import Foundation  // strcmp, strlen
import Synchronization

/// A change of the partitions a group member owns, as the group coordinator decided it.
public struct KafkaRebalanceEvent: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// These partitions now belong to this consumer.
        case assigned
        /// These partitions were taken away in an orderly rebalance (commit what you processed).
        case revoked
        /// These partitions were taken away because the session was lost (another member may
        /// already be reading them: a commit now would fail).
        case lost
    }

    public let kind: Kind
    public let partitions: [TopicPartitionOffset]
    /// The group uses the cooperative (incremental) protocol: only the listed partitions changed.
    public let isCooperative: Bool

    public var description: String {
        "\(kind) \(partitions.map(\.description).joined(separator: ", "))\(isCooperative ? " (cooperative)" : "")"
    }
}

/// Called on the polling thread during `poll` (and `close`) for every rebalance.
///
/// For `.assigned`, return the start positions for (some of) the assigned partitions — e.g.
/// offsets kept outside Kafka — or nil to start where the group's committed offsets (then
/// `auto.offset.reset`) say. Partitions missing from the returned list start there too. The
/// return value is ignored for `.revoked` and `.lost`. With the cooperative protocol only the
/// partitions that move are reported, and rounds that move nothing are not reported at all.
public typealias KafkaRebalanceHandler = @Sendable (KafkaRebalanceEvent) -> [TopicPartitionOffset]?

/// A Kafka consumer that never moves offsets on its own: nothing is committed or stored unless
/// the caller says so, so offsets can live outside Kafka (next to the results they produced)
/// and a restart resumes exactly where those results end.
///
/// Fixed settings: `enable.auto.commit=false` and `enable.auto.offset.store=false`; a
/// configuration that sets either to anything else is rejected. Defaults the caller may
/// override: `enable.partition.eof=true` (so a caller learns that a partition is drained)
/// and `auto.offset.reset=earliest` (never skip unread data silently; set `error` to be told).
///
/// Two ways to get partitions: `assign` (explicit start offsets, no group) or `subscribe`
/// (group membership, rebalances reported to a handler). Without a `groupId`, the consumer
/// gets a private random one (librdkafka's consumer API needs an id even to `assign`); it
/// never joins a group unless `subscribe` is called.
///
/// Blocking: `poll`, `commit(synchronous: true)`, `committed`, `queryWatermarks`, `messages(at:)`, `logEnds` and `close`
/// block up to their timeouts. Run a consumer on a dedicated thread, not on Swift's
/// cooperative pool. Sendable because librdkafka's consumer handle is thread-safe and all
/// Swift-side state is behind a Mutex; still, poll from one thread at a time to keep order.
public final class KafkaConsumer: Sendable {
    let handle: NativeHandle
    private let queue: NativeHandle
    private let state: ConsumerState
    private let closed = Atomic<Bool>(false)
    private let hasGroup: Bool

    public init(configuration: KafkaConfiguration) throws {
        let state = ConsumerState()
        var configuration = configuration
        hasGroup = configuration.groupId != nil
        if configuration.groupId == nil {
            // librdkafka's consumer API (assign, consumer_poll) needs a group id even when no
            // group is joined; a private one keeps assign-only readers from sharing anything.
            configuration.groupId = "kafka-assign-\(UInt64.random(in: 0...UInt64.max))"
        }
        let conf = try configuration.makeNative(
            defaults: ["enable.partition.eof": "true", "auto.offset.reset": "earliest"],
            required: ["enable.auto.commit": "false", "enable.auto.offset.store": "false"])
        rd_kafka_conf_set_rebalance_cb(conf, consumerRebalance)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(state).toOpaque())
        let handle = try makeClient(
            type: RD_KAFKA_CONSUMER, configuration: conf, properties: configuration.allProperties)
        // Everything (errors, rebalances, commit results) then arrives through the one queue
        // that `poll` serves, and nothing piles up unserved on the main queue.
        rd_kafka_poll_set_consumer(handle)
        self.handle = NativeHandle(pointer: handle)
        self.queue = NativeHandle(pointer: rd_kafka_queue_get_consumer(handle)!)
        self.state = state
    }

    deinit {
        if !closed.load(ordering: .relaxed) { rd_kafka_consumer_close(handle.pointer) }
        rd_kafka_queue_destroy(queue.pointer)
        rd_kafka_destroy(handle.pointer)
    }

    // MARK: Partitions

    /// Reads exactly these partitions from these offsets (real offsets or `KafkaOffset`
    /// specials), replacing any previous assignment. No group membership is involved.
    public func assign(_ partitions: [TopicPartitionOffset]) throws {
        try checkOpen("assign")
        let list = makePartitionList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "assign") }
    }

    /// Stops reading all assigned partitions.
    public func unassign() throws {
        let err = rd_kafka_assign(handle.pointer, nil)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "unassign") }
    }

    /// Joins the configuration's group (`group.id` required) for these topics. Partitions arrive
    /// through rebalances, served inside `poll`; `onRebalance` sees each one and may choose
    /// start offsets. Every rebalance is also kept for `takeRebalanceEvents()`.
    public func subscribe(topics: [String], onRebalance: KafkaRebalanceHandler? = nil) throws {
        try checkOpen("subscribe")
        guard hasGroup else {
            throw KafkaError(
                code: .invalidArgument, message: "subscribe needs a group id (KafkaConfiguration.groupId)",
                operation: "subscribe")
        }
        state.shared.withLock { $0.rebalanceHandler = onRebalance }
        let list = rd_kafka_topic_partition_list_new(Int32(max(topics.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "subscribe") }
    }

    /// Leaves the subscription (the revocation is reported at the next `poll`).
    public func unsubscribe() throws {
        let err = rd_kafka_unsubscribe(handle.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "unsubscribe") }
    }

    /// The partitions currently assigned (offsets as given at assignment).
    public func assignment() throws -> [TopicPartitionOffset] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(handle.pointer, &list)
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "assignment") }
        return partitions(of: list)
    }

    /// Returns and forgets the rebalances seen so far (oldest first; at most the last 1,000).
    public func takeRebalanceEvents() -> [KafkaRebalanceEvent] {
        state.shared.withLock { shared in
            defer { shared.rebalanceEvents.removeAll() }
            return shared.rebalanceEvents
        }
    }

    // MARK: Consuming

    /// Serves the consumer queue: waits up to `timeout` for the first entry, then takes whatever
    /// else is already there, up to `maxMessages` entries, handing each to `body` without
    /// copying. Entries are messages, partition-EOF events and non-fatal errors (see
    /// `KafkaMessageView.Kind`); rebalances are served in between.
    ///
    /// - Returns: the number of entries passed to `body` (0 when the timeout passed quietly).
    /// - Throws: a fatal consumer error, a failure to apply a rebalance, or what `body` throws
    ///   (the current message is still released).
    @discardableResult
    public func poll(
        maxMessages: Int, timeout: Duration, _ body: (borrowing KafkaMessageView) throws -> Void
    ) throws -> Int {
        try checkOpen("poll")
        var names = TopicNameCache(entries: state.shared.withLock { $0.topicNames })
        defer {
            if names.changed { state.shared.withLock { $0.topicNames = names.entries } }
        }
        var handled = 0
        var wait = milliseconds(timeout)
        while handled < maxMessages {
            guard let message = rd_kafka_consumer_poll(handle.pointer, wait) else { break }
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let err = message.pointee.err
            let kind: KafkaMessageView.Kind
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                kind = .message
            } else if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                kind = .partitionEOF
            } else if err == RD_KAFKA_RESP_ERR__FATAL {
                throw KafkaError.fatalError(of: handle.pointer, operation: "poll")
                    ?? KafkaError.from(err, operation: "poll")
            } else {
                let text = rd_kafka_message_errstr(message).map { String(cString: $0) }
                kind = .error(KafkaError.from(err, message: text, operation: "consume"))
            }
            let topic = message.pointee.rkt.map { names.name(of: $0) } ?? ""
            let view = KafkaMessageView(message: message, topic: topic, kind: kind)
            try body(view)
            handled += 1
        }
        if let error = state.shared.withLock({ $0.takePendingError() }) { throw error }
        return handled
    }

    // MARK: Offsets

    /// Commits these offsets for the group (offset = the next message to read). Synchronous
    /// commits throw on failure (including per-partition failures); asynchronous ones report
    /// failures through `takeAsyncCommitErrors()` once a later `poll` has served their result.
    public func commit(_ offsets: [TopicPartitionOffset], synchronous: Bool = true) throws {
        try checkOpen("commit")
        guard !offsets.isEmpty else { return }
        let list = makePartitionList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if synchronous {
            let err = rd_kafka_commit(handle.pointer, list, 0)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "commit") }
            if let failed = partitions(of: list, operation: "commit").first(where: { $0.error != nil }) {
                throw KafkaError(
                    code: KafkaErrorCode(rawValue: failed.error!.code),
                    message: "\(failed.topic)[\(failed.partition)]: \(failed.error!.message)", operation: "commit")
            }
        } else {
            let err = rd_kafka_commit_queue(
                handle.pointer, list, queue.pointer, consumerAsyncCommitResult,
                Unmanaged.passUnretained(state).toOpaque())
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "commit") }
        }
    }

    /// Returns and forgets the failures of asynchronous commits reported so far.
    public func takeAsyncCommitErrors() -> [KafkaError] {
        state.shared.withLock { shared in
            defer { shared.asyncCommitErrors.removeAll() }
            return shared.asyncCommitErrors
        }
    }

    /// Stores offsets (next to read) in librdkafka for a later `commitStoredOffsets()`. Only for
    /// assigned partitions.
    public func storeOffsets(_ offsets: [TopicPartitionOffset]) throws {
        try checkOpen("storeOffsets")
        guard !offsets.isEmpty else { return }
        let list = makePartitionList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_store(handle.pointer, list)
        if let failed = partitions(of: list, operation: "storeOffsets").first(where: { $0.error != nil }) {
            throw KafkaError(
                code: KafkaErrorCode(rawValue: failed.error!.code),
                message: "\(failed.topic)[\(failed.partition)]: \(failed.error!.message)", operation: "storeOffsets")
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "storeOffsets") }
    }

    /// Synchronously commits what `storeOffsets` stored (nothing stored: no error).
    public func commitStoredOffsets() throws {
        try checkOpen("commit")
        let err = rd_kafka_commit(handle.pointer, nil, 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError.from(err, operation: "commit")
        }
    }

    /// The group's committed offsets for these partitions (`KafkaOffset.invalid` where none).
    public func committed(_ partitions: [TopicPartitionOffset], timeout: Duration) throws -> [TopicPartitionOffset] {
        try checkOpen("committed")
        let list = makePartitionList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(handle.pointer, list, milliseconds(timeout))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "committed") }
        return Kafka.partitions(of: list, operation: "committed")
    }

    /// The next offset this consumer will return for each partition (`KafkaOffset.invalid`
    /// before anything was fetched).
    public func position(_ partitions: [TopicPartitionOffset]) throws -> [TopicPartitionOffset] {
        try checkOpen("position")
        let list = makePartitionList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_position(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "position") }
        return Kafka.partitions(of: list, operation: "position")
    }

    /// Asks the partition leader for the low and high watermarks.
    ///
    /// Do not trust `high` on Tansu 0.6: it reports the last batch's base offset + 1, too low
    /// when that batch holds several records. To know a partition is fully read, consume until
    /// its partition-EOF event instead.
    public func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws -> (low: Int64, high: Int64)
    {
        try checkOpen("queryWatermarks")
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, milliseconds(timeout))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.from(err, operation: "queryWatermarks \(topic)[\(partition)]")
        }
        return (low, high)
    }

    /// Leaves the group (serving the final revocation through the rebalance handler) and stops
    /// fetching. Idempotent. Commits nothing.
    public func close() throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let err = rd_kafka_consumer_close(handle.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "close") }
    }

    private func checkOpen(_ operation: String) throws {
        if closed.load(ordering: .relaxed) {
            throw KafkaError(code: .state, message: "consumer is closed", operation: operation)
        }
    }
}

// MARK: - State shared with librdkafka's callbacks

/// Consumer state reached from librdkafka's callbacks through the configuration opaque.
final class ConsumerState: Sendable {
    struct Shared {
        var rebalanceHandler: KafkaRebalanceHandler?
        var rebalanceEvents: [KafkaRebalanceEvent] = []
        var pendingError: KafkaError?
        var asyncCommitErrors: [KafkaError] = []
        var topicNames: [TopicNameCache.Entry] = []

        mutating func takePendingError() -> KafkaError? {
            defer { pendingError = nil }
            return pendingError
        }

        mutating func record(_ event: KafkaRebalanceEvent) {
            if rebalanceEvents.count >= 1000 { rebalanceEvents.removeFirst() }
            rebalanceEvents.append(event)
        }
    }

    let shared = Mutex(Shared())
}

/// Topic names per `rd_kafka_topic_t`, so messages do not allocate a String each. An entry is
/// trusted only while the handle still names the same topic (a freed handle's address could be
/// reused for another topic), checked with a `strcmp` against the kept C string.
struct TopicNameCache {
    struct Entry: @unchecked Sendable {
        // The handle address is only compared, never dereferenced from the cache.
        let handle: OpaquePointer
        let cName: [CChar]
        let name: String
    }

    var entries: [Entry]
    var changed = false
    private var last = -1

    init(entries: [Entry]) { self.entries = entries }

    mutating func name(of rkt: OpaquePointer) -> String {
        let current = rd_kafka_topic_name(rkt)!
        if last >= 0, entries[last].handle == rkt, strcmp(entries[last].cName, current) == 0 {
            return entries[last].name
        }
        for index in entries.indices where entries[index].handle == rkt && strcmp(entries[index].cName, current) == 0 {
            last = index
            return entries[index].name
        }
        let length = strlen(current)
        let cName = Array(UnsafeBufferPointer(start: current, count: length + 1))
        let entry = Entry(handle: rkt, cName: cName, name: String(cString: current))
        entries.removeAll { $0.handle == rkt }
        if entries.count >= 64 { entries.removeFirst() }
        entries.append(entry)
        last = entries.count - 1
        changed = true
        return entry.name
    }
}

private func consumerRebalance(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let opaque else { return }
    let state = Unmanaged<ConsumerState>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) == "COOPERATIVE" } ?? false
    let handler = state.shared.withLock { $0.rebalanceHandler }
    let given = partitions(of: list)
    var failure: KafkaError?

    // A cooperative rebalance reports "no change" as an empty incremental list; it must still be
    // acknowledged with incremental_(un)assign, but it is not an event worth surfacing.
    let surface = !(cooperative && given.isEmpty)

    if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        let event = KafkaRebalanceEvent(kind: .assigned, partitions: given, isCooperative: cooperative)
        if surface { state.shared.withLock { $0.record(event) } }
        if surface, let list, let chosen = handler?(event), list.pointee.cnt > 0 {
            var starts: [String: [Int32: Int64]] = [:]
            for item in chosen { starts[item.topic, default: [:]][item.partition] = item.offset }
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                if let start = starts[String(cString: element.topic)]?[element.partition] {
                    list.pointee.elems[index].offset = start
                }
            }
        }
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, list) {
                failure = KafkaError.consuming(error, operation: "rebalance assign")
            }
        } else {
            let result = rd_kafka_assign(rk, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { failure = KafkaError.from(result, operation: "rebalance assign") }
        }
    } else if err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
        let lost = rd_kafka_assignment_lost(rk) != 0
        let event = KafkaRebalanceEvent(kind: lost ? .lost : .revoked, partitions: given, isCooperative: cooperative)
        if surface {
            state.shared.withLock { $0.record(event) }
            _ = handler?(event)
        }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, list) {
                failure = KafkaError.consuming(error, operation: "rebalance unassign")
            }
        } else {
            let result = rd_kafka_assign(rk, nil)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                failure = KafkaError.from(result, operation: "rebalance unassign")
            }
        }
    } else {
        // librdkafka's documented reaction to a rebalance error: drop the assignment.
        failure = KafkaError.from(err, operation: "rebalance")
        _ = rd_kafka_assign(rk, nil)
    }
    if let failure { state.shared.withLock { $0.pendingError = failure } }
}

private func consumerAsyncCommitResult(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    let state = Unmanaged<ConsumerState>.fromOpaque(opaque).takeUnretainedValue()
    var errors: [KafkaError] = []
    if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
        errors.append(KafkaError.from(err, operation: "async commit"))
    }
    for item in partitions(of: list, operation: "async commit") {
        if let error = item.error {
            errors.append(
                KafkaError(
                    code: error.errorCode, message: "\(item.topic)[\(item.partition)]: \(error.message)",
                    operation: "async commit"))
        }
    }
    if !errors.isEmpty { state.shared.withLock { $0.asyncCommitErrors.append(contentsOf: errors) } }
}
