import Foundation
import Kafka
import Logging
import STIProtocol

/// What one batch does to the state: each message validated, its revision decided against the
/// current record, the aggregate book updated, a rejection notice sent when refused. Everything
/// it writes goes into the batch's transaction; `persist` adds the totals, offsets and counts.
struct BatchProcessor {
    let aggregator: Aggregator
    let validator: MessageValidator
    private(set) var counts = RunCounts()
    private(set) var noticesSent = 0
    private var ranges: [TopicPartitionKey: OffsetRange] = [:]
    private var dirtyTotals = Set<AggregateKey>()
    private let encoder = JSONEncoder()
    /// The stored form of the record being stored, reused from message to message.
    private var body: [UInt8] = []
    /// When the run started from an empty store, only an identity met earlier in the run can
    /// have a stored record: the hashes of those met so far. A new identity (the common case, a
    /// new contract) then costs no lookup; a hash collision only costs one. The set stops at
    /// `identityMemoryLimit` entries (8 bytes each, about 16 MB of memory per million): from
    /// there on every message is looked up, slower but never wrong.
    private var tracking: Bool
    private var met = Set<Int>()
    private let identityMemoryLimit: Int

    init(aggregator: Aggregator, validator: MessageValidator, startedEmpty: Bool, identityMemoryLimit: Int) {
        self.aggregator = aggregator
        self.validator = validator
        self.tracking = startedEmpty
        self.identityMemoryLimit = identityMemoryLimit
        encoder.outputFormatting = [.sortedKeys]
        body.reserveCapacity(1024)
    }

    mutating func reset() {
        counts = RunCounts()
        noticesSent = 0
        ranges.removeAll(keepingCapacity: true)
        dirtyTotals.removeAll(keepingCapacity: true)
    }

    mutating func process(_ view: borrowing KafkaMessageView, key: TopicPartitionKey, tx: StateTransaction,
                          book: inout AggregateBook, producer: KafkaProducer) throws {
        let offset = view.offset
        if let range = ranges[key] {
            ranges[key] = OffsetRange(first: range.first, next: offset + 1)
        } else {
            ranges[key] = OffsetRange(first: offset, next: offset + 1)
        }
        counts.read += 1
        guard let kind = aggregator.topicKinds[view.topic] else { return }
        let message = InboundMessage(topicKind: kind, key: view.key, value: view.value,
                                     keyIdHeader: view.header(named: "sti-key-id"),
                                     signatureHeader: view.header(named: "sti-signature"),
                                     timestampMillis: view.timestampMillis)
        let record: Record
        switch validator.validate(message) {
        case .failure(let failure):
            try reject(view, key: key, errors: failure.errors, county: failure.county, tx: tx, producer: producer)
            return
        case .success(let valid):
            record = valid
        }
        let identity = record.identity
        if tracking && met.count >= identityMemoryLimit {
            tracking = false
            met = []
        }
        let mayBeStored = !tracking || !met.insert(identity.hashValue).inserted
        let current = try !mayBeStored ? nil : tx.withRecordBody(identity: identity) { body throws -> Record in
            switch StoredRecord.decode(body) {
            case .success(let stored) where stored.identity == identity: return stored
            case .success(let stored):
                throw AggregateError("state file: the record stored under \(identity) is \(stored.identity); run with --rebuild")
            case .failure(let failure):
                throw AggregateError("state file: stored record \(identity) unreadable (\(failure)); run with --rebuild")
            }
        }
        switch decideRevision(current: current, incoming: record) {
        case .applied:
            if let current { dirtyTotals.insert(book.remove(current)) }
            dirtyTotals.insert(book.add(record))
            body.removeAll(keepingCapacity: true)
            StoredRecord.append(record, to: &body)
            try tx.putRecord(record, identity: identity, body: body)
            counts.accepted += 1
        case .duplicate:
            counts.duplicates += 1
        case .stale(let currentRevision):
            try reject(view, key: key, errors: [FieldError(.staleRevision, field: "revision",
                "revision \(record.revision) is lower than revision \(currentRevision), the current one of this record")],
                county: record.county, tx: tx, producer: producer)
        case .conflict(let currentRevision):
            try reject(view, key: key, errors: [FieldError(.revisionConflict, field: "revision",
                "revision \(currentRevision) of this record was already received with different values; the first one stands")],
                county: record.county, tx: tx, producer: producer)
        }
    }

    private mutating func reject(_ view: borrowing KafkaMessageView, key: TopicPartitionKey, errors: [FieldError],
                                 county: String?, tx: StateTransaction, producer: KafkaProducer) throws {
        counts.rejected += 1
        let notice = RejectionNotice(topic: key.topic, partition: key.partition, offset: view.offset, county: county,
                                     errors: errors, rejectedAt: UTCTime.rfc3339(Date()), payload: Array(view.value))
        for code in Set(errors.map(\.code)) { counts.rejectedByCode[code, default: 0] += 1 }
        let originalKey = view.key
        let value = notice.encoded()
        try value.withUnsafeBytes { bytes in
            try producer.send(topic: aggregator.rejectedTopic, key: originalKey, value: bytes)
        }
        noticesSent += 1
        try tx.addRejection(PendingRejection(topic: key.topic, partition: key.partition, offset: view.offset,
                                             county: county, codes: notice.codes, firstMessage: notice.firstMessage))
    }

    /// Adds the batch's totals, offsets and counts to its transaction.
    func persist(tx: StateTransaction, book: AggregateBook) throws {
        for key in dirtyTotals {
            let body = try book[key].map { try encoder.encode($0) }
            try tx.putTotals(year: key.year, geo: key.geo, body: body)
        }
        for (key, range) in ranges { try tx.consumed(key, range: range) }
        try tx.addCounts(counts.pendingCounts)
    }
}

