import Foundation
public import Kafka
public import STIProtocol

// The seam between deciding a batch and storing it (issue 12, point 4). `BatchProcessor` decides
// a batch into a `BatchDecision` value, reading the state only through `currentRecords`; the run
// then applies that value with `apply`, one transaction. Nothing here names SQLite: the embedded
// default is `SQLiteStateStore` (GRDB), and a server database (PostgreSQL through postgres-nio)
// would implement the same calls, each one round trip per batch, never one per message.

/// The aggregator's durable state: the current record of every identity, the totals derived
/// from them, per topic-partition the next offset to read and the last message consumed, and
/// what has been consumed since the last snapshot (offset ranges, counts, rejections, warnings).
///
/// Promises every implementation keeps:
/// - `apply` is atomic and durable: when it returns, the whole batch (records, totals, offsets,
///   counts, rejections) is on disk; when it throws, nothing of it is. Offsets therefore never
///   count before the batch that produced them.
/// - Reads see every batch applied before them.
/// - One run at a time works on a state (the implementation's run lock).
public protocol StateStore: AnyObject {
    /// The current records of those of `identities` that have one (one query for the batch).
    func currentRecords(_ identities: Set<String>) throws(StateStoreError) -> [String: Record]
    /// Stores one decided batch in one transaction. `beforeCommit` runs after the writes and
    /// before the commit (the run waits there for the batch's notices); when it throws, nothing
    /// of the batch is stored.
    func apply(_ decision: BatchDecision, beforeCommit: () throws(StateStoreError) -> Void) throws(StateStoreError)

    func meta(_ key: String) throws(StateStoreError) -> String?
    /// Sets each entry whose key has no value yet (the cluster id and topic prefix a state was
    /// first built from).
    func setMetaIfAbsent(_ entries: [(key: String, value: String)]) throws(StateStoreError)
    /// The next offset to read of every topic-partition seen so far.
    func offsets() throws(StateStoreError) -> [TopicPartitionKey: Int64]
    func consumedTails() throws(StateStoreError) -> [TopicPartitionKey: ConsumedTail]
    func partitionCounts() throws(StateStoreError) -> [String: Int]
    /// Records topics' partition counts; a count already recorded stays.
    func recordPartitionCounts(_ counts: [(topic: String, partitions: Int)]) throws(StateStoreError)
    /// Every stored totals entry.
    func totals() throws(StateStoreError) -> [AggregateKey: CountyYearTotals]
    func signingKeyIds() throws(StateStoreError) -> Set<String>
    func hasRecords() throws(StateStoreError) -> Bool
    func hasWarningRows() throws(StateStoreError) -> Bool

    /// What has been consumed since the last snapshot.
    func pending() throws(StateStoreError) -> PendingWork
    /// Every pending rejection in `rejections.csv` order, streamed (never all in memory).
    func forEachPendingRejection(_ body: (PendingRejection) throws -> Void) throws(StateStoreError)
    /// Every row of `warnings.csv` in its order (section 8), streamed.
    func forEachWarningRow(registry: Registry, _ body: (WarningRow) throws -> Void) throws(StateStoreError)
    /// The years whose current records changed since the last snapshot (section 8: the other
    /// years' record files may be hard links to the previous snapshot's).
    func pendingRecordYears() throws(StateStoreError) -> Set<Int>
    /// Every current record of `kind` in `county` (withdrawn ones too) as the fields of its
    /// `records/` line (section 8), with the message that made it current, in identity byte
    /// order, streamed; the fields are valid only during each call of `body`.
    func forEachCurrentRecord(
        kind: RecordKind, county: String,
        _ body: (RecordLineFields) throws -> Void) throws(StateStoreError)
    /// The commit point of a snapshot: everything pending is covered by `runId`.
    func markSnapshotted(runId: String, finishedAt: String) throws(StateStoreError)

    /// For `--rebuild`: whether this store is a new state not yet swapped in, and the swap.
    var isRebuilding: Bool { get }
    func commitRebuild() throws(StateStoreError)
}

/// One batch, decided: everything its transaction stores. A value, so deciding needs no open
/// transaction and the Kafka poll never runs inside one.
public struct BatchDecision: Sendable {
    /// Record and warning changes in message order; the order matters only within one identity.
    public var writes: [StateWrite] = []
    /// The totals entries the batch changed, nil where an entry became empty (removed).
    public var totals: [AggregateKey: CountyYearTotals?] = [:]
    /// Per partition, the offsets the batch consumed.
    public var ranges: [TopicPartitionKey: OffsetRange] = [:]
    /// Per partition, the last message the batch consumed.
    public var tails: [TopicPartitionKey: ConsumedTail] = [:]
    public var signingKeys: Set<String> = []
    public var counts = RunCounts()
    public var rejections: [PendingRejection] = []

    public init() {}
}

/// One change to the records of an identity.
public enum StateWrite: Sendable, Hashable {
    /// `record` becomes the current record of its identity, made current by the message at
    /// `source` (section 8's `topic,partition,offset` in `records/`).
    case putRecord(Record, identity: String, source: RecordSource)
    /// The warnings of the current record accepted with an explanation (section 5a); the
    /// identity's held message, if any, is superseded.
    case putRecordWarnings(StoredWarnings)
    /// The identity's last held message.
    case putHeld(StoredWarnings)
    /// A record without warnings became current: its identity's warnings and held message go.
    case clearWarnings(identity: String)

    public var identity: String {
        switch self {
        case .putRecord(_, let identity, _): identity
        case .putRecordWarnings(let entry), .putHeld(let entry): entry.identity
        case .clearWarnings(let identity): identity
        }
    }
}

/// A topic-partition, as a dictionary key: the Kafka module's, not a second type with the same
/// fields that every call to the broker had to convert to and from.
public typealias TopicPartitionKey = KafkaPartition

/// Offsets `[first, next)` of one partition.
public struct OffsetRange: Hashable, Sendable {
    public var first: Int64
    public var next: Int64
    public init(first: Int64, next: Int64) {
        self.first = first
        self.next = next
    }
}

/// The last message consumed from a partition, remembered so that a later run can tell that
/// the log it resumes is still the one it read (a topic deleted and recreated has other
/// messages at the same offsets): its offset, its Kafka timestamp and the SHA-256 of its key
/// and value (`PartitionTails.digest`).
public struct ConsumedTail: Hashable, Sendable {
    public var offset: Int64
    public var timestampMillis: Int64
    public var digest: [UInt8]
    public init(offset: Int64, timestampMillis: Int64, digest: [UInt8]) {
        self.offset = offset
        self.timestampMillis = timestampMillis
        self.digest = digest
    }
}

/// A rejection not yet listed in a snapshot's `rejections.csv`: the state keeps exactly the
/// row that file will hold (section 8), so the two are one type.
public typealias PendingRejection = RejectionRow

/// The warnings of one message as the state keeps them (section 5a): of a current record
/// accepted with an explanation (`record_warnings`), or of the last held message of an
/// identity (`held_messages`). What `warnings.csv` needs, with the message that carried them.
public struct StoredWarnings: Sendable, Hashable, Codable {
    public var identity: String
    public var year: Int
    public var county: String
    public var kind: RecordKind
    /// `warnings.csv`'s `identity`: the performer, the contract number, or empty.
    public var displayIdentity: String
    /// Empty for a held message.
    public var explanation: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// In section 5a's order, then section 3's field order.
    public var warnings: [PlausibilityWarning]

    public init(
        record: STIProtocol.Record, warnings: [PlausibilityWarning], topic: String, partition: Int32, offset: Int64
    ) {
        identity = record.identity
        year = record.year
        county = record.county
        kind = record.kind
        switch record.body {
        case .rd(let r): displayIdentity = r.performer.rawValue
        case .techContract(let c): displayIdentity = c.contractNo
        case .countyProfile: displayIdentity = ""
        }
        explanation = record.explanation ?? ""
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.warnings = warnings
    }

    /// `warnings.csv` orders kinds `rd`, `tech-contract`, `county-profile` (section 8).
    var kindOrder: Int { RecordKind.allCases.firstIndex(of: kind)! }

    /// The identity's place within its kind: the performer's position in section 3's order
    /// (two digits, so text order is that order), the contract number (compared as bytes), or
    /// empty for a profile.
    var sortKey: String {
        switch kind {
        case .rd:
            let index = Performer(rawValue: displayIdentity).flatMap { Performer.allCases.firstIndex(of: $0) } ?? 99
            return index < 10 ? "0\(index)" : String(index)
        case .techContract, .countyProfile:
            return displayIdentity
        }
    }

    func rows(disposition: WarningDisposition) -> [WarningRow] {
        warnings.map {
            WarningRow(
                year: year, geoCode: county, kind: kind, identity: displayIdentity, warning: $0,
                disposition: disposition,
                explanation: disposition == .held ? "" : explanation, topic: topic, partition: partition, offset: offset
            )
        }
    }
}

/// Everything consumed since the last snapshot: it all goes into the next snapshot's manifest.
public struct PendingWork: Sendable {
    public var ranges: [TopicPartitionKey: OffsetRange] = [:]
    public var counts = RunCounts()
    /// How many rejections wait for the next snapshot (`StateStore.forEachPendingRejection`
    /// reads them).
    public var rejectionCount = 0
    public var isEmpty: Bool { ranges.isEmpty && counts == RunCounts() && rejectionCount == 0 }
}

/// A state file that cannot be opened or used, with what to do about it: a code a caller (a
/// test, the CLI, an alert) branches on, the state's path, and the error underneath (SQLite's,
/// the operating system's), kept as the value it was. `description` is the sentence shown to
/// the operator: it names the file and the rule, and says whether `--rebuild` helps.
public struct StateStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// `sti status` found no state at the path (no aggregation has run with it yet).
        case missing
        /// `--state` names something that is not an sti state (a directory, another file, an
        /// SQLite database without `meta`): nothing was changed, and `--rebuild` refuses it too.
        case notAState = "not_a_state"
        /// The path cannot be resolved or created (a dangling symlink, a missing directory, no
        /// permission).
        case pathUnusable = "path_unusable"
        /// Another run holds the state's run lock: two runs never work on one state.
        case locked
        /// The lock file cannot be opened or locked (other than being held).
        case lockUnusable = "lock_unusable"
        /// The file has an older layout than this program's: `--rebuild` rebuilds it.
        case olderLayout = "older_layout"
        /// The file has a newer layout (or none): written by a newer program; this one must not
        /// touch it (a `--rebuild` would replace it with this program's layout).
        case newerLayout = "newer_layout"
        /// The state cannot be read or written (SQLite refused, pages damaged, a stored value
        /// does not decode): if it is corrupt, `--rebuild` rebuilds it from the topics.
        case unreadable
        /// The end of a `--rebuild` failed (checkpoint, fsync, rename): the old state is kept.
        case rebuildIncomplete = "rebuild_incomplete"
        /// A batch's `beforeCommit` refused the commit (its notices were not confirmed):
        /// nothing of the batch was stored. `underlying` is what refused.
        case commitRefused = "commit_refused"
    }

    public var code: Code
    /// The file the error is about (the state as given to `--state`, or its lock file).
    public var path: String?
    /// The layout version found, for `olderLayout` and `newerLayout` (nil: none recorded).
    public var foundLayout: Int?
    /// The error underneath, as it was thrown (a GRDB `DatabaseError`, a `POSIXError`, the
    /// `AggregateError` that refused a commit, …); its text is already part of `description`.
    public var underlying: (any Error)?
    public var description: String

    public init(_ code: Code, _ description: String, path: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.description = description
        self.path = path
        self.underlying = underlying
    }

    /// The same, with the fields first (for long sentences); `errno` becomes a `POSIXError`.
    public init(
        _ code: Code, path: String, foundLayout: Int? = nil, underlying: (any Error)? = nil, errno: Int32? = nil,
        _ description: String
    ) {
        self.init(
            code, description, path: path,
            underlying: underlying ?? errno.flatMap { POSIXErrorCode(rawValue: $0) }.map { POSIXError($0) })
        self.foundLayout = foundLayout
    }
}
