import CRdKafka
public import Foundation
import Synchronization

/// The outcome of one produced message, as librdkafka's delivery report told it.
public struct KafkaDeliveryReport: Sendable, Hashable, CustomStringConvertible {
    public let topic: String
    /// The partition, or -1 if the message never got one (e.g. unknown topic).
    public let partition: Int32
    /// The offset the broker assigned, when it is known.
    public let offset: Int64?
    /// nil when the message was delivered.
    public let error: KafkaError?
    /// The caller's tag given to `send` (e.g. an input row number).
    public let tag: Int

    public var description: String {
        let place = "\(topic)[\(partition)]" + (offset.map { "@\($0)" } ?? "")
        if let error { return "message \(tag) to \(place) failed: \(error)" }
        return "message \(tag) delivered to \(place)"
    }
}

/// A Kafka producer that accounts for every message it accepts: each ends as `delivered` or
/// `failed` (with the caller's tag), never silently dropped.
///
/// Idempotence is on unless the configuration says otherwise (`enable.idempotence=false`), so
/// librdkafka's retries cannot duplicate or reorder messages within a partition.
///
/// Thread-safe: `send` may be called from several threads. It blocks while librdkafka's queue is
/// full (bounded by `queueFullTimeout`), and `flush` blocks until deliveries finish: call them
/// from a dedicated thread, not from Swift's cooperative pool.
///
/// Delivery reports are processed inside `send` (every few hundred messages), `poll` and `flush`,
/// on the calling thread; `onDelivery` runs there too. Call `flush` or `close` before letting go
/// of a producer: messages still queued when it is deinitialized are dropped by librdkafka
/// without reports.
public final class KafkaProducer: Sendable {
    private let handle: NativeHandle
    private let state: ProducerState
    private let topics = Mutex<[String: NativeHandle]>([:])
    private let closed = Atomic<Bool>(false)
    private let sendCounter = Atomic<Int>(0)
    private let queueFullTimeout: Duration

    /// - Parameters:
    ///   - configuration: connection and librdkafka properties; checked here.
    ///   - queueFullTimeout: how long `send` waits for room in librdkafka's queue before it
    ///     throws `queueFull` (the queue is bounded by `queue.buffering.max.messages`/`.kbytes`).
    ///   - onDelivery: called for every delivery report, success or failure. Leave nil when
    ///     the counters and `takeFailures()` are enough (it saves a String per message).
    public init(
        configuration: KafkaConfiguration, queueFullTimeout: Duration = .seconds(60),
        onDelivery: (@Sendable (KafkaDeliveryReport) -> Void)? = nil
    ) throws {
        let state = ProducerState(onDelivery: onDelivery)
        let conf = try configuration.makeNative(defaults: ["enable.idempotence": "true"])
        rd_kafka_conf_set_dr_msg_cb(conf, producerDeliveryReport)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(state).toOpaque())
        self.handle = NativeHandle(
            pointer: try makeClient(
                type: RD_KAFKA_PRODUCER, configuration: conf, properties: configuration.allProperties))
        self.state = state
        self.queueFullTimeout = queueFullTimeout
    }

    deinit {
        let handles = topics.withLock { $0 }
        for topic in handles.values { rd_kafka_topic_destroy(topic.pointer) }
        // librdkafka purges whatever is still queued; `state` outlives the handle because it
        // is released only after this body returns.
        rd_kafka_destroy(handle.pointer)
    }

    /// Messages the broker acknowledged so far (as far as delivery reports were processed).
    public var delivered: Int { state.delivered.load(ordering: .relaxed) }
    /// Messages that definitely failed so far.
    public var failed: Int { state.failed.load(ordering: .relaxed) }
    /// Messages accepted by `send` whose delivery report has not been processed yet
    /// (librdkafka's `rd_kafka_outq_len`, which also counts a few internal requests).
    public var outstanding: Int { Int(rd_kafka_outq_len(handle.pointer)) }

    /// Returns and forgets the failed deliveries recorded so far (in the order reported).
    public func takeFailures() -> [KafkaDeliveryReport] {
        state.failures.withLock { failures in
            defer { failures.removeAll() }
            return failures
        }
    }

    /// Sends one message. The bytes are copied before this returns.
    ///
    /// - Parameters:
    ///   - partition: nil lets librdkafka's partitioner choose from the key (the same key always
    ///     lands on the same partition).
    ///   - tag: echoed in the delivery report (e.g. a row number).
    /// - Throws: `KafkaError` when librdkafka refuses the message outright (unknown partition,
    ///   message larger than `message.max.bytes`, queue still full after `queueFullTimeout`,
    ///   fatal producer error) — such a message was not accepted and gets no delivery report.
    public func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: [KafkaHeader] = [], partition: Int32? = nil, tag: Int = 0
    ) throws {
        guard !closed.load(ordering: .relaxed) else {
            throw KafkaError(code: .state, message: "producer is closed", operation: "send")
        }
        let rkt = try topicHandle(topic)
        let partition = partition ?? RD_KAFKA_PARTITION_UA
        var waitedSince: ContinuousClock.Instant?
        while true {
            let err: rd_kafka_resp_err_t
            if headers.isEmpty {
                err = produceSimple(rkt: rkt, partition: partition, key: key, value: value, tag: tag)
            } else {
                err = produceWithHeaders(
                    rkt: rkt, partition: partition, key: key, value: value, headers: headers, tag: tag)
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { break }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                // Make room by serving delivery reports; give up only after a bounded wait.
                let now = ContinuousClock.now
                let since = waitedSince ?? now
                waitedSince = since
                if now - since >= queueFullTimeout {
                    throw KafkaError.from(
                        err, message: "producer queue still full after \(queueFullTimeout)", operation: "send")
                }
                rd_kafka_poll(handle.pointer, 100)
                continue
            }
            if err == RD_KAFKA_RESP_ERR__FATAL, let fatal = KafkaError.fatalError(of: handle.pointer, operation: "send")
            {
                throw fatal
            }
            throw KafkaError.from(err, operation: "send to \(topic)")
        }
        // Serve delivery reports now and then so they do not pile up (they count against the queue).
        if sendCounter.wrappingAdd(1, ordering: .relaxed).newValue & 255 == 0 {
            rd_kafka_poll(handle.pointer, 0)
        }
    }

    /// Sends one message whose key and value are any contiguous bytes (`[UInt8]`, `Data`, ...).
    public func send(
        topic: String, key: (some ContiguousBytes)?, value: some ContiguousBytes,
        headers: [KafkaHeader] = [], partition: Int32? = nil, tag: Int = 0
    ) throws {
        try value.withUnsafeBytes { valueBytes in
            if let key {
                try key.withUnsafeBytes { keyBytes in
                    try send(
                        topic: topic, key: keyBytes, value: valueBytes, headers: headers, partition: partition, tag: tag
                    )
                }
            } else {
                try send(topic: topic, key: nil, value: valueBytes, headers: headers, partition: partition, tag: tag)
            }
        }
    }

    /// Sends one message without a key.
    public func send(
        topic: String, value: some ContiguousBytes, headers: [KafkaHeader] = [], partition: Int32? = nil, tag: Int = 0
    ) throws {
        try value.withUnsafeBytes { valueBytes in
            try send(topic: topic, key: nil, value: valueBytes, headers: headers, partition: partition, tag: tag)
        }
    }

    /// Processes pending delivery reports, waiting up to `timeout` for the first one.
    /// Returns how many events were served.
    @discardableResult
    public func poll(timeout: Duration = .zero) -> Int {
        Int(rd_kafka_poll(handle.pointer, milliseconds(timeout)))
    }

    /// Waits until every accepted message has its delivery report processed.
    ///
    /// Failed deliveries do not make this throw: check `failed` / `takeFailures()`.
    /// - Throws: `KafkaError` `_TIMED_OUT` if messages are still outstanding after `timeout`,
    ///   or the producer's fatal error.
    public func flush(timeout: Duration) throws {
        let err = rd_kafka_flush(handle.pointer, milliseconds(timeout))
        if let fatal = KafkaError.fatalError(of: handle.pointer, operation: "flush") { throw fatal }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let left = rd_kafka_outq_len(handle.pointer)
            throw KafkaError.from(
                err, message: "\(left) message(s) still awaiting delivery after \(timeout)", operation: "flush")
        }
    }

    /// Flushes, then refuses further sends. The librdkafka handle is released when the
    /// producer is deinitialized (so a concurrent caller can never use a freed handle).
    public func close(timeout: Duration = .seconds(30)) throws {
        closed.store(true, ordering: .relaxed)
        try flush(timeout: timeout)
    }

    // MARK: - Internals

    private func topicHandle(_ name: String) throws -> OpaquePointer {
        try topics.withLock { topics throws -> OpaquePointer in
            if let existing = topics[name] { return existing.pointer }
            guard let rkt = rd_kafka_topic_new(handle.pointer, name, nil) else {
                throw KafkaError.from(rd_kafka_last_error(), operation: "topic \(name)")
            }
            topics[name] = NativeHandle(pointer: rkt)
            return rkt
        }
    }

    private func produceSimple(
        rkt: OpaquePointer, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, tag: Int
    ) -> rd_kafka_resp_err_t {
        let result = rd_kafka_produce(
            rkt, partition, RD_KAFKA_MSG_F_COPY,
            UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
            key?.baseAddress, key?.count ?? 0,
            UnsafeMutableRawPointer(bitPattern: tag))
        return result == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error()
    }

    private func produceWithHeaders(
        rkt: OpaquePointer, partition: Int32, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: [KafkaHeader], tag: Int
    ) -> rd_kafka_resp_err_t {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(list, header.key, -1, bytes.baseAddress, bytes.count)
            }
        }
        var args = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
        args[0].vtype = RD_KAFKA_VTYPE_RKT
        args[0].u.rkt = rkt
        args[1].vtype = RD_KAFKA_VTYPE_PARTITION
        args[1].u.i32 = partition
        args[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
        args[2].u.i = RD_KAFKA_MSG_F_COPY
        args[3].vtype = RD_KAFKA_VTYPE_VALUE
        args[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
        args[3].u.mem.size = value.count
        args[4].vtype = RD_KAFKA_VTYPE_OPAQUE
        args[4].u.ptr = UnsafeMutableRawPointer(bitPattern: tag)
        args[5].vtype = RD_KAFKA_VTYPE_HEADERS
        args[5].u.headers = list
        var count = 6
        if let key {
            args[6].vtype = RD_KAFKA_VTYPE_KEY
            args[6].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
            args[6].u.mem.size = key.count
            count = 7
        }
        guard let error = rd_kafka_produceva(handle.pointer, args, count) else {
            return RD_KAFKA_RESP_ERR_NO_ERROR  // librdkafka now owns the header list
        }
        rd_kafka_headers_destroy(list)
        let code = rd_kafka_error_code(error)
        rd_kafka_error_destroy(error)
        return code
    }
}

/// Delivery bookkeeping shared with librdkafka's callback through the configuration opaque.
final class ProducerState: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let failures = Mutex<[KafkaDeliveryReport]>([])
    let onDelivery: (@Sendable (KafkaDeliveryReport) -> Void)?

    init(onDelivery: (@Sendable (KafkaDeliveryReport) -> Void)?) {
        self.onDelivery = onDelivery
    }

    func record(_ message: UnsafePointer<rd_kafka_message_t>) {
        let err = message.pointee.err
        let tag = Int(bitPattern: message.pointee._private)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            delivered.wrappingAdd(1, ordering: .relaxed)
            guard let onDelivery else { return }
            onDelivery(report(message, error: nil, tag: tag))
        } else {
            let error = KafkaError(
                code: KafkaErrorCode(err), message: String(cString: rd_kafka_err2str(err)), operation: "delivery")
            let failure = report(message, error: error, tag: tag)
            failures.withLock { $0.append(failure) }
            failed.wrappingAdd(1, ordering: .relaxed)
            onDelivery?(failure)
        }
    }

    private func report(_ message: UnsafePointer<rd_kafka_message_t>, error: KafkaError?, tag: Int)
        -> KafkaDeliveryReport
    {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let offset = message.pointee.offset
        return KafkaDeliveryReport(
            topic: topic, partition: message.pointee.partition, offset: offset >= 0 ? offset : nil, error: error,
            tag: tag)
    }
}

/// librdkafka's delivery-report callback (a top-level function, so it carries no actor isolation).
private func producerDeliveryReport(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message, let opaque else { return }
    Unmanaged<ProducerState>.fromOpaque(opaque).takeUnretainedValue().record(message)
}
