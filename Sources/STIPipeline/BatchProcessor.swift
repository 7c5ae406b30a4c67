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

    init(aggregator: Aggregator, validator: MessageValidator) {
        self.aggregator = aggregator
        self.validator = validator
        encoder.outputFormatting = [.sortedKeys]
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
        let current = try tx.record(identity: record.identity).map { body throws -> Record in
            switch body.withUnsafeBytes({ RecordJSON.decodeStored($0) }) {
            case .success(let stored): return stored
            case .failure(let failure):
                throw AggregateError("state file: stored record \(record.identity) unreadable (\(failure)); run with --rebuild")
            }
        }
        switch decideRevision(current: current, incoming: record) {
        case .applied:
            if let current { dirtyTotals.insert(book.remove(current)) }
            dirtyTotals.insert(book.add(record))
            try tx.putRecord(record, body: Data(RecordJSON.encode(record).utf8))
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

