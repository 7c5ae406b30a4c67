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
    /// Each submission topic's partition count, for the `E_PARTITION` rule (section 2).
    let partitionCounts: [String: Int32]
    private(set) var counts = RunCounts()
    private(set) var noticesSent = 0
    /// The notices of this batch, without their payloads, by delivery tag: what a resend needs
    /// when the brokers refuse one for its size.
    private var notices: [SentNotice] = []
    private var ranges: [TopicPartitionKey: OffsetRange] = [:]
    private var dirtyTotals = Set<AggregateKey>()
    /// Ids of the keys that signed this batch's accepted messages (section 4: a key must stay
    /// listed while the log holds messages it signed). `lastKeyId` spares a String per message.
    private var signingKeys = Set<String>()
    private var lastKeyId: [UInt8] = []
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
    /// Whether the state may hold explained warnings or held messages (section 5a): while it
    /// holds none, a record becoming current deletes nothing.
    private var warningRowsMayExist: Bool

    init(aggregator: Aggregator, validator: MessageValidator, partitionCounts: [String: Int32], startedEmpty: Bool,
         identityMemoryLimit: Int, warningRowsMayExist: Bool = true) {
        self.aggregator = aggregator
        self.validator = validator
        self.partitionCounts = partitionCounts
        self.tracking = startedEmpty
        self.identityMemoryLimit = identityMemoryLimit
        self.warningRowsMayExist = warningRowsMayExist
        encoder.outputFormatting = [.sortedKeys]
        body.reserveCapacity(1024)
    }

    mutating func reset() {
        counts = RunCounts()
        noticesSent = 0
        notices.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
        dirtyTotals.removeAll(keepingCapacity: true)
        signingKeys.removeAll(keepingCapacity: true)
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
                                     timestampMillis: view.timestampMillis,
                                     timestampSource: view.timestampType == .logAppendTime ? .broker : .producer,
                                     placement: partitionCounts[view.topic].map {
                                         MessagePlacement(partition: view.partition, partitionCount: $0)
                                     })
        let record: Record
        switch validator.validate(message) {
        case .failure(let failure):
            try reject(view, key: key, errors: failure.errors, county: failure.county, tx: tx, producer: producer)
            return
        case .success(let valid):
            record = valid
        }
        if validator.keyRing != nil, let keyId = message.keyIdHeader, !keyId.elementsEqual(lastKeyId) {
            lastKeyId = Array(keyId)
            signingKeys.insert(String(decoding: keyId, as: UTF8.self))
        }
        let identity = record.identity
        if tracking && met.count >= identityMemoryLimit {
            tracking = false
            met = []
        }
        let mayBeStored = !tracking || !met.insert(identity.hashValue).inserted
        let current = try !mayBeStored ? nil : storedRecord(identity, tx: tx)
        switch decideRevision(current: current, incoming: record) {
        case .applied:
            // Section 5a: an active record is checked against the previous year's current record
            // of its identity, as the state holds it now (partition order). That identity may have
            // been met in this run even when this one was not, so `met` is asked for it too.
            var warnings: [PlausibilityWarning] = []
            if record.isActive {
                let previous = try Plausibility.previousYearIdentity(of: record).flatMap { previousIdentity in
                    try !tracking || met.contains(previousIdentity.hashValue) ? storedRecord(previousIdentity, tx: tx) : nil
                }
                warnings = Plausibility.warnings(for: record, previousYear: previous)
            }
            if !warnings.isEmpty && record.explanation == nil {
                try hold(view, key: key, record: record, warnings: warnings, tx: tx, producer: producer)
                return
            }
            if let current { dirtyTotals.insert(book.remove(current)) }
            dirtyTotals.insert(book.add(record))
            body.removeAll(keepingCapacity: true)
            StoredRecord.append(record, to: &body)
            try tx.putRecord(record, identity: identity, body: body,
                             source: RecordSource(topic: key.topic, partition: key.partition, offset: offset))
            // Section 8: the warnings of an explained record are listed while it is current; a
            // record becoming current supersedes the identity's held message.
            if !warnings.isEmpty {
                try tx.putRecordWarnings(StoredWarnings(record: record, warnings: warnings, topic: key.topic,
                                                        partition: key.partition, offset: offset))
                try tx.clearHeld(identity: identity)
                warningRowsMayExist = true
            } else if warningRowsMayExist && mayBeStored {
                try tx.clearWarnings(identity: identity)
            }
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

    /// The current record stored for `identity`, nil when there is none.
    private func storedRecord(_ identity: String, tx: StateTransaction) throws -> Record? {
        try tx.withRecordBody(identity: identity) { body throws -> Record in
            switch StoredRecord.decode(body) {
            case .success(let stored) where stored.identity == identity: return stored
            case .success(let stored):
                throw AggregateError("state file: the record stored under \(identity) is \(stored.identity); run with --rebuild")
            case .failure(let failure):
                throw AggregateError("state file: stored record \(identity) unreadable (\(failure)); run with --rebuild")
            }
        }
    }

    /// Section 5a: a message with warnings and no explanation is held. Nothing of the current
    /// records changes; a notice with disposition `held` names each warning; the message is
    /// listed in `rejections.csv` and, as the identity's last held message, in `warnings.csv`.
    private mutating func hold(_ view: borrowing KafkaMessageView, key: TopicPartitionKey, record: Record,
                               warnings: [PlausibilityWarning], tx: StateTransaction, producer: KafkaProducer) throws {
        counts.held += 1
        let notice = RejectionNotice.held(topic: key.topic, partition: key.partition, offset: view.offset, county: record.county,
                                          warnings: warnings, heldAt: UTCTime.rfc3339(Date()), payload: Array(view.value))
        for code in notice.warningCodes { counts.heldByCode[code, default: 0] += 1 }
        try send(notice, key: RejectionNotice.key(for: view.key).map { Array($0) }, producer: producer)
        try tx.addRejection(PendingRejection(topic: key.topic, partition: key.partition, offset: view.offset,
                                             county: record.county, codes: [], warningCodes: notice.warningCodes,
                                             firstMessage: notice.firstMessage))
        try tx.putHeld(StoredWarnings(record: record, warnings: warnings, topic: key.topic, partition: key.partition,
                                      offset: view.offset))
        warningRowsMayExist = true
    }

    private mutating func reject(_ view: borrowing KafkaMessageView, key: TopicPartitionKey, errors: [FieldError],
                                 county: String?, tx: StateTransaction, producer: KafkaProducer) throws {
        counts.rejected += 1
        let notice = RejectionNotice(topic: key.topic, partition: key.partition, offset: view.offset, county: county,
                                     errors: errors, rejectedAt: UTCTime.rfc3339(Date()), payload: Array(view.value))
        for code in Set(errors.map(\.code)) { counts.rejectedByCode[code, default: 0] += 1 }
        try send(notice, key: RejectionNotice.key(for: view.key).map { Array($0) }, producer: producer)
        try tx.addRejection(PendingRejection(topic: key.topic, partition: key.partition, offset: view.offset,
                                             county: county, codes: notice.codes, firstMessage: notice.firstMessage))
    }

    /// Sends one notice. One that librdkafka refuses outright for its size (the producer's
    /// `message.max.bytes`) is sent again without its payload, and if even that is refused the
    /// rejection stands without a notice (logged; `rejections.csv` still lists it): a refusal
    /// that no retry can cure must never fail the batch, or the run would stop on this message
    /// at every attempt.
    private mutating func send(_ notice: RejectionNotice, key: [UInt8]?, producer: KafkaProducer) throws {
        let reduced = notice.payload.isEmpty
        do {
            try producer.send(topic: aggregator.rejectedTopic, key: key, value: notice.encoded(), tag: notices.count)
        } catch let error as KafkaError where error.refusesTheMessageItself {
            if !reduced { return try send(notice.withoutPayload, key: key, producer: producer) }
            noticeUndeliverable(notice, error)
            return
        }
        notices.append(SentNotice(notice: notice.withoutPayload, key: key, reduced: reduced))
        noticesSent += 1
    }

    /// Waits until every notice of the batch is delivered, so that no rejected source offset is
    /// committed without its notice. Notices the brokers refused for their size are sent again
    /// without payload; transport failures and timeouts fail the batch, which is then redone.
    mutating func deliverNotices(producer: KafkaProducer, timeout: Duration) throws(AggregateError) {
        var round = 0
        while noticesSent > 0 {
            do { try producer.flush(timeout: timeout) } catch {
                throw AggregateError("batch failed, nothing of it committed: rejection notices to \(aggregator.rejectedTopic) not confirmed: \(error)")
            }
            let failures = producer.takeFailures()
            guard !failures.isEmpty else { return }
            var resend: [SentNotice] = []
            for failure in failures {
                guard let error = failure.error, error.refusesTheMessageItself, notices.indices.contains(failure.tag) else {
                    throw AggregateError("\(failures.count) rejection notice(s) could not be delivered to \(aggregator.rejectedTopic): \(failure)")
                }
                let sent = notices[failure.tag]
                if sent.reduced { noticeUndeliverable(sent.notice, error) } else { resend.append(sent) }
            }
            round += 1
            guard !resend.isEmpty, round < 3 else { return }
            notices.removeAll(keepingCapacity: true)
            noticesSent = 0
            do {
                for sent in resend { try send(sent.notice, key: sent.key, producer: producer) }
            } catch {
                throw AggregateError("rejection notices to \(aggregator.rejectedTopic): \(error)")
            }
        }
    }

    private func noticeUndeliverable(_ notice: RejectionNotice, _ error: KafkaError) {
        aggregator.logger.error("""
            the brokers refuse the rejection notice of \(notice.topic)[\(notice.partition)]@\(notice.offset) even without its \
            payload (\(error)); the message stays rejected and is listed in rejections.csv, without a notice on \
            \(aggregator.rejectedTopic)
            """)
    }

    /// Adds the batch's totals, offsets and counts to its transaction.
    func persist(tx: StateTransaction, book: AggregateBook) throws {
        for key in dirtyTotals {
            let body = try book[key].map { try encoder.encode($0) }
            try tx.putTotals(year: key.year, geo: key.geo, body: body)
        }
        for (key, range) in ranges { try tx.consumed(key, range: range) }
        for id in signingKeys { try tx.recordSigningKey(id) }
        try tx.addCounts(counts.pendingCounts)
    }
}

/// A notice as sent in the current batch, kept without its payload for a resend.
struct SentNotice {
    var notice: RejectionNotice
    var key: [UInt8]?
    /// Already sent without its payload: a further size refusal is final.
    var reduced: Bool
}
