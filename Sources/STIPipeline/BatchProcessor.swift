import Foundation
import Kafka
import Logging
import STIProtocol

// One batch in three steps (issue 12, point 4):
// 1. `BatchValidator` (no state): each message polled is validated (JSON, rules, signature,
//    partition) and copied out of librdkafka into the batch's one buffer, into a `ValidatedBatch`.
// 2. `BatchProcessor.decide` (reads the state, writes nothing): each record's revision is decided
//    against the current record (the state as the batches before left it, plus this batch's own
//    decisions), plausibility warnings are found (section 5a), the aggregate book is updated, and
//    the rejection notices are written: a `DecidedBatch`.
// 3. The run sends the notices, waits until the brokers confirmed them (`NoticeSender`), then
//    applies the `BatchDecision` to the `StateStore` in one transaction.
// Step 1 of a batch may run on one thread while steps 2 and 3 of the batch before run on
// another; steps 2 and 3 run in batch order on one thread, so the outcome is a single thread's.

/// One message of a batch, validated.
struct ValidatedMessage: Sendable {
    enum Outcome: Sendable {
        case record(Record, identity: String)
        case rejected([FieldError], county: String?)
    }
    var partition: TopicPartitionKey
    var offset: Int64
    var outcome: Outcome
    /// The message's key and value in the batch's `bytes` (a notice carries them).
    var key: Range<Int>?
    var value: Range<Int>
}

/// One batch as polled and validated: no state read yet.
struct ValidatedBatch: Sendable {
    var messages: [ValidatedMessage] = []
    /// Keys and values of `messages`, one after the other: one growing buffer instead of two
    /// arrays per message.
    var bytes: [UInt8] = []
    /// Messages read, also those of topics that are not submission topics.
    var read = 0
    var ranges: [TopicPartitionKey: OffsetRange] = [:]
    /// The last message of each partition, with the offsets it ends (`LogCheck`).
    var tails: [TopicPartitionKey: ConsumedTail] = [:]
    /// Ids of the keys that signed accepted-so-far messages (section 4: a key must stay listed
    /// while the log holds messages it signed).
    var signingKeys: Set<String> = []

    mutating func removeAll() {
        messages.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        read = 0
        ranges.removeAll(keepingCapacity: true)
        tails.removeAll(keepingCapacity: true)
        signingKeys.removeAll(keepingCapacity: true)
    }
}

/// Step 1: validation, which needs no state.
struct BatchValidator {
    let validator: MessageValidator
    /// The submission topics and the kind each carries.
    let topicKinds: [String: RecordKind]
    /// Each submission topic's partition count, for the `E_PARTITION` rule (section 2).
    let partitionCounts: [String: Int32]
    /// The key id of the last signed message: spares a String per message.
    private var lastKeyId: [UInt8] = []

    init(validator: MessageValidator, topicKinds: [String: RecordKind], partitionCounts: [String: Int32]) {
        self.validator = validator
        self.topicKinds = topicKinds
        self.partitionCounts = partitionCounts
    }

    mutating func add(_ view: borrowing KafkaMessageView, key: TopicPartitionKey, to batch: inout ValidatedBatch) {
        guard let kind = topicKinds[view.topic] else {
            batch.count(key, offset: view.offset)
            return
        }
        let message = InboundMessage(
            topicKind: kind, key: view.key, value: view.value,
            keyIdHeader: view.header(named: "sti-key-id"),
            signatureHeader: view.header(named: "sti-signature"),
            timestampMillis: view.timestampMillis,
            timestampSource: view.timestampType == .logAppendTime ? .broker : .producer,
            placement: partitionCounts[view.topic].map {
                MessagePlacement(partition: view.partition, partitionCount: $0)
            })
        add(message, key: key, offset: view.offset, to: &batch)
    }

    /// Validates one message of `key`'s partition at `offset` into `batch`.
    mutating func add(_ message: InboundMessage, key: TopicPartitionKey, offset: Int64, to batch: inout ValidatedBatch)
    {
        batch.count(key, offset: offset)
        let outcome: ValidatedMessage.Outcome
        switch validator.validate(message) {
        case .failure(let failure):
            outcome = .rejected(failure.errors, county: failure.county)
        case .success(let record):
            if validator.keyRing != nil, let keyId = message.keyIdHeader, !keyId.elementsEqual(lastKeyId) {
                lastKeyId = Array(keyId)
                batch.signingKeys.insert(String(decoding: keyId, as: UTF8.self))
            }
            outcome = .record(record, identity: record.identity)
        }
        var keyRange: Range<Int>?
        if let messageKey = message.key {
            let start = batch.bytes.count
            batch.bytes.append(contentsOf: messageKey)
            keyRange = start..<batch.bytes.count
        }
        let start = batch.bytes.count
        batch.bytes.append(contentsOf: message.value)
        batch.messages.append(
            ValidatedMessage(
                partition: key, offset: offset, outcome: outcome, key: keyRange,
                value: start..<batch.bytes.count))
    }
}

extension ValidatedBatch {
    /// Counts a message read and grows its partition's range.
    mutating func count(_ key: TopicPartitionKey, offset: Int64) {
        read += 1
        if let range = ranges[key] {
            ranges[key] = OffsetRange(first: range.first, next: offset + 1)
        } else {
            ranges[key] = OffsetRange(first: offset, next: offset + 1)
        }
    }
}

/// A notice to send, with the key it goes under.
struct OutgoingNotice: Sendable {
    var notice: RejectionNotice
    var key: [UInt8]?
}

/// Step 2's result: what the state stores and the notices that must reach the brokers first.
struct DecidedBatch: Sendable {
    var decision: BatchDecision
    var notices: [OutgoingNotice]
}

/// Step 2: decides each message of a batch against the state, in order. Holds the aggregate book
/// and what the run remembers between batches; reads the store only through `currentRecords`,
/// once per batch.
struct BatchProcessor {
    private(set) var book: AggregateBook
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
    /// The time written into notices (`rejected_at`, `held_at`).
    var now: () -> Date = Date.init

    init(book: AggregateBook, startedEmpty: Bool, identityMemoryLimit: Int, warningRowsMayExist: Bool = true) {
        self.book = book
        self.tracking = startedEmpty
        self.identityMemoryLimit = identityMemoryLimit
        self.warningRowsMayExist = warningRowsMayExist
    }

    /// What to look up of one record, found in message order before the lookup.
    private struct Lookup {
        /// The identity may have a current record (a stored one or one of this batch).
        var current: Bool
        /// Section 5a's previous-year identity, when it may have one.
        var previous: String?
    }

    mutating func decide(_ batch: ValidatedBatch, store: any StateStore) throws(StateStoreError) -> DecidedBatch {
        // Which identities may have a current record, in message order (the memory of met
        // identities changes as it goes), then one lookup for the whole batch.
        var lookups: [Lookup] = []
        lookups.reserveCapacity(batch.messages.count)
        var wanted = Set<String>()
        for message in batch.messages {
            guard case .record(let record, let identity) = message.outcome else {
                lookups.append(Lookup(current: false))
                continue
            }
            if tracking && met.count >= identityMemoryLimit {
                tracking = false
                met = []
            }
            let mayBeStored = !tracking || !met.insert(identity.hashValue).inserted
            if mayBeStored { wanted.insert(identity) }
            var previous: String?
            // Section 5a: an active record is checked against the previous year's current record
            // of its identity. That identity may have been met in this run even when this one
            // was not, so `met` is asked for it too.
            if record.isActive, let previousIdentity = Plausibility.previousYearIdentity(of: record),
                !tracking || met.contains(previousIdentity.hashValue)
            {
                previous = previousIdentity
                wanted.insert(previousIdentity)
            }
            lookups.append(Lookup(current: mayBeStored, previous: previous))
        }
        let stored = try store.currentRecords(wanted)

        var decision = BatchDecision()
        decision.ranges = batch.ranges
        decision.tails = batch.tails
        decision.signingKeys = batch.signingKeys
        decision.counts.read = batch.read
        var notices: [OutgoingNotice] = []
        // The records this batch made current: later messages of the batch see them.
        var decided: [String: Record] = [:]
        var dirty = Set<AggregateKey>()
        func current(_ identity: String) -> Record? { decided[identity] ?? stored[identity] }

        for (message, lookup) in zip(batch.messages, lookups) {
            let record: Record
            let identity: String
            switch message.outcome {
            case .rejected(let errors, let county):
                reject(message, batch: batch, errors: errors, county: county, into: &decision, notices: &notices)
                continue
            case .record(let valid, let validIdentity):
                record = valid
                identity = validIdentity
            }
            let currentRecord = lookup.current ? current(identity) : nil
            switch decideRevision(current: currentRecord, incoming: record) {
            case .applied:
                var warnings: [PlausibilityWarning] = []
                if record.isActive {
                    warnings = Plausibility.warnings(for: record, previousYear: lookup.previous.flatMap(current))
                }
                if !warnings.isEmpty && record.explanation == nil {
                    hold(message, batch: batch, record: record, warnings: warnings, into: &decision, notices: &notices)
                    continue
                }
                if let currentRecord { dirty.insert(book.remove(currentRecord)) }
                dirty.insert(book.add(record))
                decided[identity] = record
                decision.writes.append(
                    .putRecord(
                        record, identity: identity,
                        source: RecordSource(
                            topic: message.partition.topic, partition: message.partition.partition,
                            offset: message.offset)))
                // Section 8: the warnings of an explained record are listed while it is current; a
                // record becoming current supersedes the identity's held message.
                if !warnings.isEmpty {
                    decision.writes.append(
                        .putRecordWarnings(
                            StoredWarnings(
                                record: record, warnings: warnings, topic: message.partition.topic,
                                partition: message.partition.partition, offset: message.offset)))
                    warningRowsMayExist = true
                } else if warningRowsMayExist && lookup.current {
                    decision.writes.append(.clearWarnings(identity: identity))
                }
                decision.counts.accepted += 1
            case .duplicate:
                decision.counts.duplicates += 1
            case .stale(let currentRevision):
                reject(
                    message, batch: batch,
                    errors: [
                        FieldError(
                            .staleRevision, field: MessageField.revision.name,
                            "revision \(record.revision) is lower than revision \(currentRevision), the current one of this record"
                        )
                    ],
                    county: record.county, into: &decision, notices: &notices)
            case .conflict(let currentRevision):
                reject(
                    message, batch: batch,
                    errors: [
                        FieldError(
                            .revisionConflict, field: MessageField.revision.name,
                            "revision \(currentRevision) of this record was already received with different values; the first one stands"
                        )
                    ],
                    county: record.county, into: &decision, notices: &notices)
            }
        }
        for key in dirty { decision.totals[key] = .some(book[key]) }
        return DecidedBatch(decision: decision, notices: notices)
    }

    private func noticeKey(_ message: ValidatedMessage, _ batch: ValidatedBatch) -> [UInt8]? {
        guard let range = message.key else { return nil }
        return batch.bytes.withUnsafeBytes { bytes in
            RejectionNotice.key(for: UnsafeRawBufferPointer(rebasing: bytes[range])).map { Array($0) }
        }
    }

    /// Section 5a: a message with warnings and no explanation is held. Nothing of the current
    /// records changes; a notice with disposition `held` names each warning; the message is
    /// listed in `rejections.csv` and, as the identity's last held message, in `warnings.csv`.
    private mutating func hold(
        _ message: ValidatedMessage, batch: ValidatedBatch, record: Record, warnings: [PlausibilityWarning],
        into decision: inout BatchDecision, notices: inout [OutgoingNotice]
    ) {
        decision.counts.held += 1
        let key = message.partition
        let notice = RejectionNotice.held(
            topic: key.topic, partition: key.partition, offset: message.offset, county: record.county,
            warnings: warnings, heldAt: UTCTime.rfc3339(now()),
            payload: Array(batch.bytes[message.value]))
        for code in notice.warningCodes { decision.counts.heldByCode[code, default: 0] += 1 }
        notices.append(OutgoingNotice(notice: notice, key: noticeKey(message, batch)))
        decision.rejections.append(
            PendingRejection(
                topic: key.topic, partition: key.partition, offset: message.offset,
                county: record.county, codes: [], warningCodes: notice.warningCodes,
                firstMessage: notice.firstMessage))
        decision.writes.append(
            .putHeld(
                StoredWarnings(
                    record: record, warnings: warnings, topic: key.topic,
                    partition: key.partition, offset: message.offset)))
        warningRowsMayExist = true
    }

    private func reject(
        _ message: ValidatedMessage, batch: ValidatedBatch, errors: [FieldError], county: String?,
        into decision: inout BatchDecision, notices: inout [OutgoingNotice]
    ) {
        decision.counts.rejected += 1
        let key = message.partition
        let notice = RejectionNotice(
            topic: key.topic, partition: key.partition, offset: message.offset, county: county,
            errors: errors, rejectedAt: UTCTime.rfc3339(now()), payload: Array(batch.bytes[message.value]))
        for code in Set(errors.map(\.code)) { decision.counts.rejectedByCode[code, default: 0] += 1 }
        notices.append(OutgoingNotice(notice: notice, key: noticeKey(message, batch)))
        decision.rejections.append(
            PendingRejection(
                topic: key.topic, partition: key.partition, offset: message.offset,
                county: county, codes: notice.codes, firstMessage: notice.firstMessage))
    }
}

/// Step 3's first half: sends a batch's notices and waits until the brokers confirmed every one,
/// so that no rejected source offset is committed without its notice.
struct NoticeSender {
    let rejectedTopic: String
    let logger: Logger
    /// The notices of this batch, without their payloads, by delivery tag: what a resend needs
    /// when the brokers refuse one for its size.
    private var notices: [SentNotice] = []
    private var noticesSent = 0

    init(rejectedTopic: String, logger: Logger) {
        self.rejectedTopic = rejectedTopic
        self.logger = logger
    }

    /// Hands every notice to the producer; `deliver` then waits for the brokers' confirmation.
    mutating func send(_ outgoing: [OutgoingNotice], producer: KafkaProducer) throws(AggregateError) {
        notices.removeAll(keepingCapacity: true)
        noticesSent = 0
        do {
            for notice in outgoing { try send(notice.notice, key: notice.key, producer: producer) }
        } catch {
            throw AggregateError(
                .noticesUndelivered, context: "batch failed, nothing of it committed", underlying: error)
        }
    }

    /// Sends one notice. One that librdkafka refuses outright for its size (the producer's
    /// `message.max.bytes`) is sent again without its payload, and if even that is refused the
    /// rejection stands without a notice (logged; `rejections.csv` still lists it): a refusal
    /// that no retry can cure must never fail the batch, or the run would stop on this message
    /// at every attempt.
    private mutating func send(_ notice: RejectionNotice, key: [UInt8]?, producer: KafkaProducer) throws {
        let reduced = notice.payload.isEmpty
        do {
            try producer.send(topic: rejectedTopic, key: key, value: notice.encoded(), tag: notices.count)
        } catch let error as KafkaError where error.refusesTheMessageItself {
            if !reduced { return try send(notice.withoutPayload, key: key, producer: producer) }
            noticeUndeliverable(notice, error)
            return
        }
        notices.append(SentNotice(notice: notice.withoutPayload, key: key, reduced: reduced))
        noticesSent += 1
    }

    /// Waits until every notice of the batch is delivered. Notices the brokers refused for their
    /// size are sent again without payload; transport failures and timeouts fail the batch, which
    /// is then redone.
    mutating func deliver(producer: KafkaProducer, timeout: Duration) throws(AggregateError) {
        var round = 0
        while noticesSent > 0 {
            do { try producer.flush(timeout: timeout) } catch {
                throw AggregateError(
                    .noticesUndelivered,
                    context:
                        "batch failed, nothing of it committed: rejection notices to \(rejectedTopic) not confirmed",
                    underlying: error)
            }
            let failures = producer.takeFailures()
            guard !failures.isEmpty else { return }
            var resend: [SentNotice] = []
            for failure in failures {
                guard let error = failure.error, error.refusesTheMessageItself, notices.indices.contains(failure.tag)
                else {
                    throw AggregateError(
                        .noticesUndelivered,
                        "\(failures.count) rejection notice(s) could not be delivered to \(rejectedTopic): \(failure)",
                        underlying: failure.error)
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
                throw AggregateError(
                    .noticesUndelivered, context: "rejection notices to \(rejectedTopic)", underlying: error)
            }
        }
    }

    private func noticeUndeliverable(_ notice: RejectionNotice, _ error: KafkaError) {
        logger.error(
            """
            the brokers refuse the rejection notice of \(notice.topic)[\(notice.partition)]@\(notice.offset) even without its \
            payload (\(error)); the message stays rejected and is listed in rejections.csv, without a notice on \
            \(rejectedTopic)
            """)
    }
}

/// A notice as sent in the current batch, kept without its payload for a resend.
struct SentNotice {
    var notice: RejectionNotice
    var key: [UInt8]?
    /// Already sent without its payload: a further size refusal is final.
    var reduced: Bool
}
