public import Foundation
import GRDB
// The per-message record lookup and insert bind and step SQLite statements directly: GRDB's
// argument arrays and `Data` results cost more than the SQLite work itself on that path.
import GRDBSQLite
public import STIProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The aggregator's durable state (`StateStore`) in one SQLite database through GRDB, the
/// embedded default: the current record of every identity, the aggregate totals derived from
/// them, per topic-partition the next offset to read, and what has been consumed since the last
/// snapshot (offset ranges, counts, rejections).
///
/// The stored offsets are the source of truth for where a run starts. Records, totals and
/// offsets change together in one transaction per batch, so the database never holds a record
/// without the offset that produced it, or an offset without its records.
public final class SQLiteStateStore: StateStore {
    /// Bumped whenever the layout changes incompatibly; an old file then asks for `--rebuild`.
    /// 2: pending counts and rejection codes stored typed (a code per row, not `E_A;E_B` text
    /// or `rejected.E_X` names), records keyed by identity with only the columns read.
    static let layoutVersion = 2

    /// The path as given (`--state`), for messages.
    public let path: String
    /// Its real path (symlinks and `..` resolved): the run lock and SQLite use this one.
    public let realPath: String
    /// The database file open: `realPath`, or the new state a rebuild is building beside it.
    public let databasePath: String
    let queue: DatabaseQueue
    /// Read-only connections for `forEachCurrentRecord`, which the snapshot calls from more than
    /// one thread at once (section 8's `records/`): a `DatabaseQueue` serialises its reads.
    private let recordReaders = Mutex<[DatabaseQueue]>([])
    private let lock: RunLock?
    /// For a rebuild not yet swapped in: the state it replaces (`realPath`).
    private var rebuildTarget: String?
    private var closed = false

    /// Opens the state database at `path` for reading only, without the run lock, so that
    /// `sti status` can look while a run is going (WAL lets readers see the last commit).
    public init(readingFrom path: String) throws(StateStoreError) {
        self.path = path
        self.lock = nil
        let missing = StateStoreError(
            .missing, "state file \(path) does not exist (no aggregation has run with it yet)", path: path)
        guard FileManager.default.fileExists(atPath: path) else { throw missing }
        let real = try StateFile.resolve(path)
        self.realPath = real
        self.databasePath = real
        let identity = StateFile.identify(real)
        guard identity != .absent else { throw missing }
        if let refusal = StateFile.refusal(identity, path: path) { throw refusal }
        do {
            var config = Configuration()
            config.readonly = true
            config.label = "sti-state-readonly"
            self.queue = try DatabaseQueue(path: real, configuration: config)
            try queue.read { db in
                let version = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'layout_version'")
                guard version == String(Self.layoutVersion) else {
                    throw Self.layoutError(
                        version, path: path,
                        "state file \(path) has layout version \(version ?? "none"), this program uses \(Self.layoutVersion)"
                    )
                }
            }
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError(
                .unreadable,
                "state file \(path) cannot be read (\(error)); if it is corrupt, run the aggregator with --rebuild",
                path: path, underlying: error)
        }
    }

    /// Opens (creating if absent) the state database at `path`, taking the run lock first so
    /// that two runs never work on one state. A file that is not an sti state is refused.
    public convenience init(path: String) throws(StateStoreError) {
        try self.init(path: path, rebuild: false)
    }

    /// Starts a rebuild of the state at `path` (`--rebuild`): takes its run lock, checks that
    /// the file there, if any, is an sti state, and opens a new, empty state beside it
    /// (`<state>.rebuild-<pid>`). `commitRebuild()` swaps the new state in; until then the old
    /// one is untouched, and a store released without committing removes the new one.
    public convenience init(rebuildingAt path: String) throws(StateStoreError) {
        try self.init(path: path, rebuild: true)
    }

    private init(path: String, rebuild: Bool) throws(StateStoreError) {
        self.path = path
        let real = try StateFile.resolve(path)
        self.realPath = real
        // Checked before the lock, so that a wrong --state does not even get a lock file beside
        // it, and again under the lock, which is what counts.
        if let refusal = StateFile.refusal(StateFile.identify(real), path: path) { throw refusal }
        self.lock = try RunLock(path: real + ".lock")
        if let refusal = StateFile.refusal(StateFile.identify(real), path: path) { throw refusal }
        // With the lock held, a `<state>.rebuild-<pid>` is what a killed rebuild left.
        StateFile.removeStaleRebuilds(of: real)
        let database = rebuild ? StateFile.rebuildPath(of: real) : real
        self.databasePath = database
        self.rebuildTarget = rebuild ? real : nil
        do {
            var config = Configuration()
            config.label = "sti-state"
            config.busyMode = .immediateError
            self.queue = try DatabaseQueue(path: database, configuration: config)
            // An older layout is refused before anything (even the journal mode) touches it.
            try Self.checkLayout(queue, path: path)
            try queue.writeWithoutTransaction { db in
                // WAL: a crash mid-transaction leaves the last committed state intact.
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // A batch writes thousands of records: with SQLite's 2 MB page cache they spilled
                // into the WAL mid-transaction and were read back, and a checkpoint every 4 MB of
                // WAL copied the same hot pages into the file again and again. 16 MB each cut the
                // system time of a million-message run by a quarter (Benchmarks/README.md).
                try db.execute(sql: "PRAGMA cache_size = -16384")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 4096")
            }
            try Self.migrator.migrate(queue)
            try queue.read { db in
                let version = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'layout_version'")
                guard version == String(Self.layoutVersion) else {
                    throw Self.layoutError(
                        version, path: path,
                        "state file \(path) has layout version \(version ?? "none"), this program uses \(Self.layoutVersion); run with --rebuild to rebuild it from the topics"
                    )
                }
            }
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError(
                .unreadable,
                "state file \(path) cannot be used (\(error)); if it is corrupt, run with --rebuild to rebuild it from the topics",
                path: path, underlying: error)
        }
    }

    deinit {
        // The readers first, so that the main connection closes last: SQLite then checkpoints
        // the WAL into the file and removes it, as it did before the readers existed (a
        // read-only connection closing last cannot, and would leave the WAL for the next run).
        closeRecordReaders()
        discardRebuild()
    }

    /// Whether this store is a rebuild not yet swapped in.
    public var isRebuilding: Bool { rebuildTarget != nil }

    /// Swaps a rebuilt state in for the old one (the end of a successful `--rebuild` run): the
    /// new database is checkpointed, closed and fsynced, the old one's WAL merged and its side
    /// files removed, then the new file is renamed over the old (atomic) and the directory
    /// fsynced. The store is closed afterwards. Does nothing for a store that is not a rebuild.
    public func commitRebuild() throws(StateStoreError) {
        guard let target = rebuildTarget else { return }
        closeRecordReaders()
        do {
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try queue.close()
            closed = true
        } catch {
            throw StateStoreError(
                .rebuildIncomplete,
                "rebuild: cannot complete the new state \(databasePath) (\(error)); the old state \(path) is kept",
                path: path, underlying: error)
        }
        // Closed: its WAL is merged and SQLite removed it; nothing may hold a stale one.
        unlink(databasePath + "-wal")
        unlink(databasePath + "-shm")
        try StateFile.fsync(path: databasePath, directory: false)
        StateFile.retireSideFiles(of: target)
        guard rename(databasePath, target) == 0 else {
            throw StateStoreError(
                .rebuildIncomplete, path: path, errno: errno,
                "rebuild: cannot move \(databasePath) to \(target): \(String(cString: strerror(errno))); the old state is kept"
            )
        }
        rebuildTarget = nil
        try StateFile.fsync(path: (target as NSString).deletingLastPathComponent, directory: true)
    }

    /// Removes a rebuild's new state that was not swapped in (the run failed); the old state
    /// stays as it was.
    public func discardRebuild() {
        guard rebuildTarget != nil else { return }
        closeRecordReaders()
        if !closed {
            try? queue.close()
            closed = true
        }
        for suffix in ["", "-wal", "-shm"] { unlink(databasePath + suffix) }
        rebuildTarget = nil
    }

    /// The refusal of a state whose `meta` records another layout: older (or none recorded)
    /// asks for `--rebuild`; newer was written by a later sti.
    static func layoutError(_ version: String?, path: String, _ description: String) -> StateStoreError {
        let found = version.flatMap { Int($0) }
        return StateStoreError(
            (found ?? 0) > layoutVersion ? .newerLayout : .olderLayout, path: path, foundLayout: found, description)
    }

    /// A state written by another layout: its `meta` says which. Checked before migrating, so
    /// an old file is left exactly as it was and the error says what to do.
    private static func checkLayout(_ queue: DatabaseQueue, path: String) throws {
        let version: String? = try queue.read { db in
            guard try db.tableExists("meta") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'layout_version'") ?? "none"
        }
        if let version, version != String(layoutVersion) {
            throw layoutError(
                version, path: path,
                "state file \(path) has layout version \(version), this program uses \(layoutVersion); run with --rebuild to rebuild it from the topics"
            )
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Layout 2 in one step (layout 1 files are refused above and rebuilt with --rebuild).
        migrator.registerMigration("layout-2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    INSERT INTO meta(key, value) VALUES ('layout_version', '\(layoutVersion)');
                    CREATE TABLE offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                         PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                    CREATE TABLE records(identity TEXT PRIMARY KEY, kind TEXT NOT NULL, year INTEGER NOT NULL, body BLOB NOT NULL,
                                         source_topic TEXT, source_partition INTEGER, source_offset INTEGER) WITHOUT ROWID;
                    -- Section 8, records/: the years whose records changed since the last snapshot (the
                    -- trigger marks the year a record leaves and the one it enters; a contract's year
                    -- can change with a revision), so unchanged years' files are hard links.
                    CREATE TABLE pending_record_years(year INTEGER PRIMARY KEY) WITHOUT ROWID;
                    CREATE TRIGGER records_mark_year BEFORE INSERT ON records BEGIN
                        INSERT OR IGNORE INTO pending_record_years(year) SELECT year FROM records WHERE identity = NEW.identity;
                        INSERT OR IGNORE INTO pending_record_years(year) VALUES (NEW.year);
                    END;
                    CREATE TABLE totals(year INTEGER NOT NULL, geo TEXT NOT NULL, body BLOB NOT NULL,
                                        PRIMARY KEY(year, geo)) WITHOUT ROWID;
                    CREATE TABLE pending_ranges(topic TEXT NOT NULL, partition INTEGER NOT NULL,
                                                first_offset INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                                PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                    CREATE TABLE pending_counts(counter TEXT NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL,
                                                PRIMARY KEY(counter, code)) WITHOUT ROWID;
                    CREATE TABLE pending_rejections(topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                                    county TEXT, first_message TEXT NOT NULL,
                                                    PRIMARY KEY(topic, partition, "offset")) WITHOUT ROWID;
                    CREATE TABLE pending_rejection_codes(topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                                         position INTEGER NOT NULL, code TEXT NOT NULL,
                                                         PRIMARY KEY(topic, partition, "offset", position)) WITHOUT ROWID;
                    CREATE TABLE consumed_tails(topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                                timestamp_ms INTEGER NOT NULL, digest BLOB NOT NULL,
                                                PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                    CREATE TABLE partition_counts(topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE signing_keys(key_id TEXT PRIMARY KEY) WITHOUT ROWID;
                    CREATE TABLE record_warnings(identity TEXT PRIMARY KEY, year INTEGER NOT NULL, county TEXT NOT NULL,
                                                 kind_order INTEGER NOT NULL, sort_key TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE held_messages(identity TEXT PRIMARY KEY, year INTEGER NOT NULL, county TEXT NOT NULL,
                                               kind_order INTEGER NOT NULL, sort_key TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    // MARK: Reading

    public func meta(_ key: String) throws(StateStoreError) -> String? {
        try wrap {
            try queue.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
            }
        }
    }

    /// The next offset to read for every topic-partition seen so far.
    public func offsets() throws(StateStoreError) -> [TopicPartitionKey: Int64] {
        try wrap {
            try queue.read { db in
                var result: [TopicPartitionKey: Int64] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT topic, partition, next_offset FROM offsets") {
                    result[TopicPartitionKey(topic: row[0], partition: row[1])] = row[2]
                }
                return result
            }
        }
    }

    /// Per partition, the last message consumed from it (see `ConsumedTail`). Partitions read
    /// only before this was recorded (an older state) have none.
    public func consumedTails() throws(StateStoreError) -> [TopicPartitionKey: ConsumedTail] {
        try wrap {
            try queue.read { db in
                var result: [TopicPartitionKey: ConsumedTail] = [:]
                for row in try Row.fetchAll(
                    db, sql: #"SELECT topic, partition, "offset", timestamp_ms, digest FROM consumed_tails"#)
                {
                    let digest: Data = row[4]
                    result[TopicPartitionKey(topic: row[0], partition: row[1])] =
                        ConsumedTail(offset: row[2], timestampMillis: row[3], digest: Array(digest))
                }
                return result
            }
        }
    }

    /// The partition count of every submission topic, as first seen.
    public func partitionCounts() throws(StateStoreError) -> [String: Int] {
        try wrap {
            try queue.read { db in
                var result: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT topic, partitions FROM partition_counts") {
                    result[row[0]] = row[1]
                }
                return result
            }
        }
    }

    /// Every stored totals entry.
    public func totals() throws(StateStoreError) -> [AggregateKey: CountyYearTotals] {
        let decoder = JSONDecoder()
        return try wrap {
            try queue.read { db in
                var result: [AggregateKey: CountyYearTotals] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT year, geo, body FROM totals ORDER BY year, geo") {
                    let key = AggregateKey(year: row[0], geo: row[1])
                    let body: Data = row[2]
                    do { result[key] = try decoder.decode(CountyYearTotals.self, from: body) } catch {
                        throw StateStoreError(
                            .unreadable, path: path, underlying: error,
                            "state file \(path): totals of \(key) unreadable (\(error)); run with --rebuild")
                    }
                }
                return result
            }
        }
    }

    /// What has been consumed since the last snapshot.
    public func pending() throws(StateStoreError) -> PendingWork {
        try wrap {
            try queue.read { db in
                var work = PendingWork()
                for row in try Row.fetchAll(
                    db,
                    sql:
                        "SELECT topic, partition, first_offset, next_offset FROM pending_ranges ORDER BY topic, partition"
                ) {
                    work.ranges[TopicPartitionKey(topic: row[0], partition: row[1])] = OffsetRange(
                        first: row[2], next: row[3])
                }
                for row in try Row.fetchAll(db, sql: "SELECT counter, code, count FROM pending_counts") {
                    try Self.addPendingCount(&work.counts, counter: row[0], code: row[1], count: row[2])
                }
                work.rejectionCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM pending_rejections") ?? 0
                return work
            }
        }
    }

    /// Calls `body` with every rejection not yet in a snapshot, in `rejections.csv` order, read
    /// one row at a time from an SQLite cursor: a snapshot never holds them all (a bureau could
    /// send millions of invalid messages; hostile review #4).
    public func forEachPendingRejection(_ body: (PendingRejection) throws -> Void) throws(StateStoreError) {
        try wrap {
            try queue.read { db in
                // Two cursors in the same order, merged: each rejection's codes are rows of their own.
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT topic, partition, "offset", county, first_message FROM pending_rejections
                        ORDER BY topic, partition, "offset"
                        """)
                let codeRows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT topic, partition, "offset", code FROM pending_rejection_codes ORDER BY topic, partition, "offset", position
                        """)
                var nextCode = try codeRows.next().map(Self.codeEntry)
                while let row = try rows.next() {
                    var rejection = PendingRejection(
                        topic: row[0], partition: row[1], offset: row[2], county: row[3],
                        codes: [], firstMessage: row[4])
                    while let entry = nextCode, entry.topic == rejection.topic, entry.partition == rejection.partition,
                        entry.offset == rejection.offset
                    {
                        if let code = ErrorCode(rawValue: entry.code) {
                            rejection.codes.append(code)
                        } else if let code = WarningCode(rawValue: entry.code) {
                            rejection.warningCodes.append(code)
                        } else {
                            throw StateStoreError(
                                .unreadable, path: path,
                                "pending rejection \(rejection.topic)[\(rejection.partition)]@\(rejection.offset) has unknown code \(entry.code); run with --rebuild"
                            )
                        }
                        nextCode = try codeRows.next().map(Self.codeEntry)
                    }
                    try body(rejection)
                }
            }
        }
    }

    private static func codeEntry(_ row: Row) -> (topic: String, partition: Int32, offset: Int64, code: String) {
        (row[0], row[1], row[2], row[3])
    }

    /// Adds one `pending_counts` row to `counts`: `counter` is `read`, `accepted`,
    /// `duplicates`, `rejected` or `held`; `code` is empty for the counter's total, else the
    /// code counted (rejections and held messages per code).
    static func addPendingCount(_ counts: inout RunCounts, counter: String, code: String, count: Int) throws {
        switch (counter, code) {
        case ("read", ""): counts.read += count
        case ("accepted", ""): counts.accepted += count
        case ("duplicates", ""): counts.duplicates += count
        case ("rejected", ""): counts.rejected += count
        case ("held", ""): counts.held += count
        case ("rejected", _):
            guard let code = ErrorCode(rawValue: code) else {
                throw StateStoreError(.unreadable, "pending count of unknown code \(code); run with --rebuild")
            }
            counts.rejectedByCode[code, default: 0] += count
        case ("held", _):
            guard let code = WarningCode(rawValue: code) else {
                throw StateStoreError(.unreadable, "pending count of unknown code \(code); run with --rebuild")
            }
            counts.heldByCode[code, default: 0] += count
        default:
            throw StateStoreError(.unreadable, "pending count \(counter) \(code) unknown; run with --rebuild")
        }
    }

    /// Whether any explained warnings or held messages are stored (a run that starts without
    /// any need not delete them record by record).
    public func hasWarningRows() throws(StateStoreError) -> Bool {
        try wrap {
            try queue.read { db in
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS(SELECT 1 FROM record_warnings) OR EXISTS(SELECT 1 FROM held_messages)")
                    ?? false
            }
        }
    }

    /// Calls `body` with every row of `warnings.csv` (section 8), in its order: year, registry
    /// order of the county, kind, identity (performer in section 3 order, contract number in
    /// byte order), explained before held, then code and field (the order the warnings were
    /// stored in, section 5a's). Read from an SQLite cursor one entry at a time. Counties no
    /// longer in `registry` come after the registry's, in byte order.
    public func forEachWarningRow(registry: Registry, _ body: (WarningRow) throws -> Void) throws(StateStoreError) {
        try wrap {
            try queue.read { db in
                let codes = registry.geographies.map(\.code)
                let ranks =
                    codes.isEmpty
                    ? "SELECT NULL AS county, 0 AS rank WHERE 0"
                    : "VALUES " + codes.indices.map { _ in "(?, ?)" }.joined(separator: ", ")
                var arguments: [any DatabaseValueConvertible] = []
                for (i, code) in codes.enumerated() {
                    arguments.append(code)
                    arguments.append(i)
                }
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        WITH reg(county, rank) AS (\(ranks)),
                        entries(year, county, kind_order, sort_key, disposition, body) AS (
                            SELECT year, county, kind_order, sort_key, 0, body FROM record_warnings
                            UNION ALL SELECT year, county, kind_order, sort_key, 1, body FROM held_messages)
                        SELECT e.disposition, e.body FROM entries e LEFT JOIN reg r ON r.county = e.county
                        ORDER BY e.year, r.rank IS NULL, r.rank, e.county, e.kind_order, e.sort_key, e.disposition
                        """, arguments: StatementArguments(arguments))
                let decoder = JSONDecoder()
                while let row = try rows.next() {
                    let disposition: Int = row[0]
                    let data: Data = row[1]
                    let entry: StoredWarnings
                    do { entry = try decoder.decode(StoredWarnings.self, from: data) } catch {
                        throw StateStoreError(
                            .unreadable, path: path, underlying: error,
                            "stored warnings unreadable (\(error)); run with --rebuild")
                    }
                    for row in entry.rows(disposition: disposition == 0 ? .explained : .held) { try body(row) }
                }
            }
        }
    }

    /// The ids of the keys that signed a message this state accepted.
    public func signingKeyIds() throws(StateStoreError) -> Set<String> {
        try wrap { try queue.read { db in Set(try String.fetchAll(db, sql: "SELECT key_id FROM signing_keys")) } }
    }

    /// Whether any current record is stored.
    public func hasRecords() throws(StateStoreError) -> Bool {
        try wrap {
            try queue.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM records)") ?? false }
        }
    }

    /// Current records count by kind (for status and metrics).
    public func recordCounts() throws(StateStoreError) -> [String: Int] {
        try wrap {
            try queue.read { db in
                var result: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) FROM records GROUP BY kind") {
                    result[row[0]] = row[1]
                }
                return result
            }
        }
    }

    /// The years whose current records changed since the last snapshot (section 8: a year's
    /// record files that did not change may be hard links to the previous snapshot's).
    public func pendingRecordYears() throws(StateStoreError) -> Set<Int> {
        try wrap { try queue.read { db in Set(try Int.fetchAll(db, sql: "SELECT year FROM pending_record_years")) } }
    }

    /// Calls `body` with every current record of `kind` in `county` (all years, withdrawn ones
    /// too) as its line fields, with the message that made it current, in identity byte order
    /// (for a contract: by contract number as bytes). A range of the primary key stepped through
    /// SQLite's own API, the body read where SQLite holds it, so the snapshot's record files
    /// cost one pass over the records, county by county in registry order.
    public func forEachCurrentRecord(
        kind: RecordKind, county: String,
        _ body: (RecordLineFields) throws -> Void
    ) throws(StateStoreError) {
        let range = RecordFiles.identityRange(kind: kind, county: county)
        try wrap {
            let reader = try recordReaders.withLock { $0.popLast() } ?? openRecordReader()
            defer { recordReaders.withLock { $0.append(reader) } }
            try reader.read { db in
                try StateTransaction(db: db).forEachRecordLine(in: range, body)
            }
        }
    }

    /// A read-only connection to the database this store has open. It sees every committed
    /// batch (WAL); the run lock is this store's, so no other writer exists.
    private func openRecordReader() throws -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.label = "sti-state-records"
        return try DatabaseQueue(path: databasePath, configuration: config)
    }

    /// Closes the record readers: before a rebuild is checkpointed and renamed or removed, no
    /// other connection may hold its WAL.
    private func closeRecordReaders() {
        for reader in recordReaders.withLock({ r in
            defer { r.removeAll() }
            return r
        }) {
            try? reader.close()
        }
    }

    // MARK: Writing

    /// Runs `body` in one write transaction: everything it stores commits together or not at all.
    public func transaction<T>(_ body: (StateTransaction) throws -> T) throws -> T {
        var result: T?
        try queue.write { db in
            result = try body(StateTransaction(db: db))
        }
        return result!
    }

    /// The stored form of the record being stored, reused from record to record (`apply` runs
    /// on one thread at a time: the run's).
    private var body: [UInt8] = []
    private let totalsEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    public func currentRecords(_ identities: Set<String>) throws(StateStoreError) -> [String: STIProtocol.Record] {
        guard !identities.isEmpty else { return [:] }
        return try wrap {
            try queue.read { db in
                let tx = StateTransaction(db: db)
                var result: [String: STIProtocol.Record] = [:]
                for identity in identities {
                    result[identity] = try tx.withRecordBody(identity: identity) { body throws -> STIProtocol.Record in
                        switch StoredRecord.decode(body) {
                        case .success(let stored) where stored.identity == identity: return stored
                        case .success(let stored):
                            throw StateStoreError(
                                .unreadable, path: path,
                                "state file \(path): the record stored under \(identity) is \(stored.identity); run with --rebuild"
                            )
                        case .failure(let failure):
                            throw StateStoreError(
                                .unreadable, path: path, underlying: failure,
                                "state file \(path): stored record \(identity) unreadable (\(failure)); run with --rebuild"
                            )
                        }
                    }
                }
                return result
            }
        }
    }

    /// Stores one decided batch in one transaction, committed (WAL, `synchronous = FULL`: on
    /// disk) when this returns.
    public func apply(_ decision: BatchDecision, beforeCommit: () throws(StateStoreError) -> Void)
        throws(StateStoreError)
    {
        try wrap {
            try queue.write { db in
                let tx = StateTransaction(db: db)
                for write in decision.writes {
                    switch write {
                    case .putRecord(let record, let identity, let source):
                        body.removeAll(keepingCapacity: true)
                        StoredRecord.append(record, to: &body)
                        try tx.putRecord(record, identity: identity, body: body, source: source)
                    case .putRecordWarnings(let entry):
                        try tx.putRecordWarnings(entry)
                        try tx.clearHeld(identity: entry.identity)
                    case .putHeld(let entry):
                        try tx.putHeld(entry)
                    case .clearWarnings(let identity):
                        try tx.clearWarnings(identity: identity)
                    }
                }
                for rejection in decision.rejections { try tx.addRejection(rejection) }
                for (key, totals) in decision.totals {
                    try tx.putTotals(
                        year: key.year, geo: key.geo, body: try totals.map { try totalsEncoder.encode($0) })
                }
                for (key, range) in decision.ranges { try tx.consumed(key, range: range) }
                for (key, tail) in decision.tails { try tx.setConsumedTail(key, tail) }
                for id in decision.signingKeys { try tx.recordSigningKey(id) }
                try tx.addCounts(decision.counts)
                try beforeCommit()
            }
        }
    }

    public func setMetaIfAbsent(_ entries: [(key: String, value: String)]) throws(StateStoreError) {
        guard !entries.isEmpty else { return }
        try wrap {
            try queue.write { db in
                for entry in entries {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                        arguments: [entry.key, entry.value])
                }
            }
        }
    }

    public func recordPartitionCounts(_ counts: [(topic: String, partitions: Int)]) throws(StateStoreError) {
        guard !counts.isEmpty else { return }
        try wrap {
            try queue.write { db in
                let tx = StateTransaction(db: db)
                for entry in counts { try tx.recordPartitionCount(topic: entry.topic, partitions: entry.partitions) }
            }
        }
    }

    /// Marks everything pending as covered by snapshot `runId` and records it as the last run.
    /// This is the commit point of a snapshot: before it, a crash leaves only an orphan folder.
    public func markSnapshotted(runId: String, finishedAt: String) throws(StateStoreError) {
        try wrap {
            try queue.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM pending_ranges; DELETE FROM pending_counts; DELETE FROM pending_rejections;
                        DELETE FROM pending_rejection_codes; DELETE FROM pending_record_years;
                        """)
                try db.execute(
                    sql:
                        "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_run_id', ?), ('last_run_finished_at', ?)",
                    arguments: [runId, finishedAt])
            }
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws(StateStoreError) -> T {
        do { return try body() } catch let error as StateStoreError { throw error } catch {
            throw StateStoreError(
                .unreadable, "state file \(path): \(error); if it is corrupt, run with --rebuild", path: path,
                underlying: error)
        }
    }
}

/// The writes of one batch, inside one SQLite transaction.
public struct StateTransaction {
    let db: Database

    public func record(identity: String) throws -> Data? {
        let statement = try db.cachedStatement(sql: "SELECT body FROM records WHERE identity = ?")
        return try Data.fetchOne(statement, arguments: [identity])
    }

    /// Calls `body` with the stored body of `identity` (valid only during the call), or returns
    /// nil when the identity has no stored record.
    public func withRecordBody<T>(identity: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        let statement = try db.cachedStatement(sql: "SELECT body FROM records WHERE identity = ?").sqliteStatement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bindText(statement, 1, identity)
        switch sqlite3_step(statement) {
        case SQLITE_ROW:
            let count = Int(sqlite3_column_bytes(statement, 0))
            return try body(UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, 0), count: count))
        case SQLITE_DONE:
            return nil
        case let code:
            throw sqliteError(code)
        }
    }

    /// Calls `body` with the line fields of every record whose identity is in `range`, in
    /// identity byte order (see `SQLiteStateStore.forEachCurrentRecord`).
    func forEachRecordLine(in range: Range<String>, _ body: (RecordLineFields) throws -> Void) throws {
        let statement = try db.cachedStatement(
            sql: """
                SELECT body, source_topic, source_partition, source_offset FROM records
                WHERE identity >= ? AND identity < ? ORDER BY identity
                """
        ).sqliteStatement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bindText(statement, 1, range.lowerBound)
        try bindText(statement, 2, range.upperBound)
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw sqliteError(code) }
            let stored = UnsafeRawBufferPointer(
                start: sqlite3_column_blob(statement, 0), count: Int(sqlite3_column_bytes(statement, 0)))
            var fields: RecordLineFields
            switch StoredRecord.lineFields(stored) {
            case .success(let f): fields = f
            case .failure(let error):
                throw StateStoreError(
                    .unreadable, "stored record unreadable (\(error)); run with --rebuild", underlying: error)
            }
            if sqlite3_column_type(statement, 1) != SQLITE_NULL {
                let topic = UnsafeRawBufferPointer(
                    start: sqlite3_column_text(statement, 1), count: Int(sqlite3_column_bytes(statement, 1)))
                guard UTF8Validation.isValid(topic) else {
                    throw StateStoreError(
                        .unreadable, "stored record source unreadable (not UTF-8); run with --rebuild")
                }
                fields.sourceTopic = topic
                fields.sourcePartition = Int32(truncatingIfNeeded: sqlite3_column_int64(statement, 2))
                fields.sourceOffset = sqlite3_column_int64(statement, 3)
            }
            try body(fields)
        }
    }

    /// Stores `record` (canonical JSON `body`) as the current record of `identity`, made current
    /// by the message at `source` (section 8's `topic,partition,offset`).
    public func putRecord(_ record: STIProtocol.Record, identity: String, body: [UInt8], source: RecordSource? = nil)
        throws
    {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO records(identity, kind, year, body, source_topic, source_partition, source_offset)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).sqliteStatement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bindText(statement, 1, identity)
        try bindText(statement, 2, record.kind.rawValue)
        try check(sqlite3_bind_int64(statement, 3, Int64(record.year)))
        if let source {
            try bindText(statement, 5, source.topic)
            try check(sqlite3_bind_int64(statement, 6, Int64(source.partition)))
            try check(sqlite3_bind_int64(statement, 7, source.offset))
        }
        let code = body.withUnsafeBytes { bytes -> Int32 in
            // SQLITE_STATIC: the bytes stay valid until the step below has run.
            let bound = sqlite3_bind_blob(
                statement, 4, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
            guard bound == SQLITE_OK else { return bound }
            return sqlite3_step(statement)
        }
        guard code == SQLITE_DONE else { throw sqliteError(code) }
    }

    private func bindText(_ statement: OpaquePointer, _ index: Int32, _ text: String) throws {
        var text = text
        // SQLITE_TRANSIENT: SQLite copies the bytes, which live only inside `withUTF8`.
        let code = text.withUTF8 { utf8 in
            sqlite3_bind_text(
                statement, index,
                UnsafeRawPointer(utf8.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                    .assumingMemoryBound(to: CChar.self), Int32(utf8.count), sqliteTransient)
        }
        try check(code)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw sqliteError(code) }
    }

    private func sqliteError(_ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) })
    }

    public func putRecord(_ record: STIProtocol.Record, body: Data) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO records(identity, kind, year, body) VALUES (?, ?, ?, ?)")
        try statement.execute(arguments: [record.identity, record.kind.rawValue, record.year, body])
    }

    public func putTotals(year: Int, geo: String, body: Data?) throws {
        if let body {
            let statement = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO totals(year, geo, body) VALUES (?, ?, ?)")
            try statement.execute(arguments: [year, geo, body])
        } else {
            let statement = try db.cachedStatement(sql: "DELETE FROM totals WHERE year = ? AND geo = ?")
            try statement.execute(arguments: [year, geo])
        }
    }

    /// Records that `[first, next)` of a partition was consumed: the stored offset moves to
    /// `next`, and the pending range since the last snapshot grows.
    public func consumed(_ key: TopicPartitionKey, range: OffsetRange) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO offsets(topic, partition, next_offset) VALUES (?, ?, ?)",
            arguments: [key.topic, key.partition, range.next])
        try db.execute(
            sql: """
                INSERT INTO pending_ranges(topic, partition, first_offset, next_offset) VALUES (?, ?, ?, ?)
                ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                """, arguments: [key.topic, key.partition, range.first, range.next])
    }

    /// Adds a batch's counts to the pending ones: one row per counter and per code counted.
    public func addCounts(_ counts: RunCounts) throws {
        var rows: [(counter: String, code: String, count: Int)] = [
            ("read", "", counts.read), ("accepted", "", counts.accepted), ("duplicates", "", counts.duplicates),
            ("rejected", "", counts.rejected), ("held", "", counts.held),
        ]
        for (code, n) in counts.rejectedByCode { rows.append(("rejected", code.rawValue, n)) }
        for (code, n) in counts.heldByCode { rows.append(("held", code.rawValue, n)) }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO pending_counts(counter, code, count) VALUES (?, ?, ?)
                ON CONFLICT(counter, code) DO UPDATE SET count = count + excluded.count
                """)
        for row in rows where row.count != 0 { try statement.execute(arguments: [row.counter, row.code, row.count]) }
    }

    public func addRejection(_ rejection: PendingRejection) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO pending_rejections(topic, partition, "offset", county, first_message) VALUES (?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [
            rejection.topic, rejection.partition, rejection.offset,
            rejection.county, rejection.firstMessage,
        ])
        // The codes, `E_` codes first, one row each (typed: no text to split again).
        let codes = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO pending_rejection_codes(topic, partition, "offset", position, code) VALUES (?, ?, ?, ?, ?)
                """)
        for (position, code) in (rejection.codes.map(\.rawValue) + rejection.warningCodes.map(\.rawValue)).enumerated()
        {
            try codes.execute(arguments: [rejection.topic, rejection.partition, rejection.offset, position, code])
        }
    }

    /// Stores the warnings of the current record of `entry.identity`, accepted with an
    /// explanation (section 5a), replacing those of the record it replaced.
    public func putRecordWarnings(_ entry: StoredWarnings) throws {
        try putWarnings(entry, table: "record_warnings")
    }

    /// Stores `entry` as the last held message of its identity, replacing an earlier one.
    public func putHeld(_ entry: StoredWarnings) throws {
        try putWarnings(entry, table: "held_messages")
    }

    /// A record without warnings became current for `identity`: its former record's warnings
    /// and its held message, if any, are no longer listed (section 8).
    public func clearWarnings(identity: String) throws {
        for table in ["record_warnings", "held_messages"] {
            let statement = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE identity = ?")
            try statement.execute(arguments: [identity])
        }
    }

    /// A record became current for `identity`: its held message, if any, is superseded.
    public func clearHeld(identity: String) throws {
        let statement = try db.cachedStatement(sql: "DELETE FROM held_messages WHERE identity = ?")
        try statement.execute(arguments: [identity])
    }

    private func putWarnings(_ entry: StoredWarnings, table: String) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO \(table)(identity, year, county, kind_order, sort_key, body) VALUES (?, ?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [
            entry.identity, entry.year, entry.county, entry.kindOrder, entry.sortKey,
            try JSONEncoder().encode(entry),
        ])
    }

    /// Remembers that key `id` signed a message this state accepted.
    public func recordSigningKey(_ id: String) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO signing_keys(key_id) VALUES (?)")
        try statement.execute(arguments: [id])
    }

    /// Records the last message consumed from a partition; written with the batch that
    /// consumed it, so it always describes the message just before the stored offset.
    public func setConsumedTail(_ key: TopicPartitionKey, _ tail: ConsumedTail) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO consumed_tails(topic, partition, "offset", timestamp_ms, digest) VALUES (?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [
            key.topic, key.partition, tail.offset, tail.timestampMillis, Data(tail.digest),
        ])
    }

    /// Records a topic's partition count unless one is recorded already: the first one seen stays.
    public func recordPartitionCount(topic: String, partitions: Int) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO partition_counts(topic, partitions) VALUES (?, ?)",
            arguments: [topic, partitions])
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
    }
}

/// SQLite's `SQLITE_TRANSIENT` destructor (a C macro Swift does not import): copy the bytes.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// An exclusive, non-blocking `flock` on a side file: a second run on the same state fails at
/// once with a clear error. The kernel releases it when the process dies, even by SIGKILL.
final class RunLock {
    private let fd: Int32

    init(path: String) throws(StateStoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StateStoreError(
                .lockUnusable, path: path, errno: errno,
                "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy {
                throw StateStoreError(
                    .locked, path: path,
                    "another sti run holds the state lock \(path); two runs must never work on one state — wait for it to finish"
                )
            }
            throw StateStoreError(
                .lockUnusable, path: path, errno: errno, "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
