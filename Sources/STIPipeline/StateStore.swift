public import Foundation
import GRDB
// The per-message record lookup and insert bind and step SQLite statements directly: GRDB's
// argument arrays and `Data` results cost more than the SQLite work itself on that path.
import GRDBSQLite
public import STIProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The aggregator's durable state, in one SQLite database: the current record of every
/// identity, the aggregate totals derived from them, per topic-partition the next offset to
/// read, and what has been consumed since the last snapshot (offset ranges, counts, rejections).
///
/// The stored offsets are the source of truth for where a run starts. Records, totals and
/// offsets change together in one transaction per batch, so the database never holds a record
/// without the offset that produced it, or an offset without its records.
public final class StateStore {
    /// Bumped whenever the layout changes incompatibly; an old file then asks for `--rebuild`.
    static let layoutVersion = 1

    /// The path as given (`--state`), for messages.
    public let path: String
    /// Its real path (symlinks and `..` resolved): the run lock and SQLite use this one.
    public let realPath: String
    /// The database file open: `realPath`, or the new state a rebuild is building beside it.
    public let databasePath: String
    let queue: DatabaseQueue
    private let lock: RunLock?
    /// For a rebuild not yet swapped in: the state it replaces (`realPath`).
    private var rebuildTarget: String?
    private var closed = false

    /// Opens the state database at `path` for reading only, without the run lock, so that
    /// `sti status` can look while a run is going (WAL lets readers see the last commit).
    public init(readingFrom path: String) throws(StateStoreError) {
        self.path = path
        self.lock = nil
        let missing = StateStoreError("state file \(path) does not exist (no aggregation has run with it yet)")
        guard FileManager.default.fileExists(atPath: path) else { throw missing }
        let real = try StateFile.resolve(path)
        self.realPath = real
        self.databasePath = real
        let identity = StateFile.identify(real)
        guard identity != .absent else { throw missing }
        if let refusal = StateFile.refusal(identity, path: path) { throw StateStoreError(refusal) }
        do {
            var config = Configuration()
            config.readonly = true
            config.label = "sti-state-readonly"
            self.queue = try DatabaseQueue(path: real, configuration: config)
            try queue.read { db in
                let version = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'layout_version'")
                guard version == String(Self.layoutVersion) else {
                    throw StateStoreError("state file \(path) has layout version \(version ?? "none"), this program uses \(Self.layoutVersion)")
                }
            }
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError("state file \(path) cannot be read (\(error)); if it is corrupt, run the aggregator with --rebuild")
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
        if let refusal = StateFile.refusal(StateFile.identify(real), path: path) { throw StateStoreError(refusal) }
        self.lock = try RunLock(path: real + ".lock")
        if let refusal = StateFile.refusal(StateFile.identify(real), path: path) { throw StateStoreError(refusal) }
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
                    throw StateStoreError("state file \(path) has layout version \(version ?? "none"), this program uses \(Self.layoutVersion); run with --rebuild to rebuild it from the topics")
                }
            }
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError("state file \(path) cannot be used (\(error)); if it is corrupt, run with --rebuild to rebuild it from the topics")
        }
    }

    deinit { discardRebuild() }

    /// Whether this store is a rebuild not yet swapped in.
    public var isRebuilding: Bool { rebuildTarget != nil }

    /// Swaps a rebuilt state in for the old one (the end of a successful `--rebuild` run): the
    /// new database is checkpointed, closed and fsynced, the old one's WAL merged and its side
    /// files removed, then the new file is renamed over the old (atomic) and the directory
    /// fsynced. The store is closed afterwards. Does nothing for a store that is not a rebuild.
    public func commitRebuild() throws(StateStoreError) {
        guard let target = rebuildTarget else { return }
        do {
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try queue.close()
            closed = true
        } catch {
            throw StateStoreError("rebuild: cannot complete the new state \(databasePath) (\(error)); the old state \(path) is kept")
        }
        // Closed: its WAL is merged and SQLite removed it; nothing may hold a stale one.
        unlink(databasePath + "-wal")
        unlink(databasePath + "-shm")
        try StateFile.fsync(path: databasePath, directory: false)
        StateFile.retireSideFiles(of: target)
        guard rename(databasePath, target) == 0 else {
            throw StateStoreError("rebuild: cannot move \(databasePath) to \(target): \(String(cString: strerror(errno))); the old state is kept")
        }
        rebuildTarget = nil
        try StateFile.fsync(path: (target as NSString).deletingLastPathComponent, directory: true)
    }

    /// Removes a rebuild's new state that was not swapped in (the run failed); the old state
    /// stays as it was.
    public func discardRebuild() {
        guard rebuildTarget != nil else { return }
        if !closed { try? queue.close(); closed = true }
        for suffix in ["", "-wal", "-shm"] { unlink(databasePath + suffix) }
        rebuildTarget = nil
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta(key, value) VALUES ('layout_version', '\(layoutVersion)');
                CREATE TABLE offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                     PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                CREATE TABLE records(identity TEXT PRIMARY KEY, kind TEXT NOT NULL, county TEXT NOT NULL,
                                     year INTEGER NOT NULL, revision INTEGER NOT NULL, status TEXT NOT NULL,
                                     body BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE totals(year INTEGER NOT NULL, geo TEXT NOT NULL, body BLOB NOT NULL,
                                    PRIMARY KEY(year, geo)) WITHOUT ROWID;
                CREATE TABLE pending_ranges(topic TEXT NOT NULL, partition INTEGER NOT NULL,
                                            first_offset INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                            PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                CREATE TABLE pending_counts(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE pending_rejections(topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                                county TEXT, codes TEXT NOT NULL, first_message TEXT NOT NULL,
                                                PRIMARY KEY(topic, partition, "offset")) WITHOUT ROWID;
                """)
        }
        // Additive, so layout 1 files keep working: the first batch after the upgrade records the
        // tails of the partitions it reads, and the next run's start records the partition counts.
        migrator.registerMigration("partition-tails") { db in
            try db.execute(sql: """
                CREATE TABLE consumed_tails(topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                            timestamp_ms INTEGER NOT NULL, digest BLOB NOT NULL,
                                            PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                CREATE TABLE partition_counts(topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        // Additive: which keys signed messages this state accepted, so that removing one from the
        // keys file (which would turn all of them into E_AUTH at the next rebuild) is noticed.
        migrator.registerMigration("signing-keys") { db in
            try db.execute(sql: "CREATE TABLE signing_keys(key_id TEXT PRIMARY KEY) WITHOUT ROWID")
        }
        // Additive (section 5a): the warnings kept with each current record accepted with an
        // explanation, and per identity the last held message no later message superseded. Both
        // carry what `warnings.csv` sorts by as columns, so a snapshot streams them in order.
        migrator.registerMigration("plausibility") { db in
            try db.execute(sql: """
                CREATE TABLE record_warnings(identity TEXT PRIMARY KEY, year INTEGER NOT NULL, county TEXT NOT NULL,
                                             kind_order INTEGER NOT NULL, sort_key TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE held_messages(identity TEXT PRIMARY KEY, year INTEGER NOT NULL, county TEXT NOT NULL,
                                           kind_order INTEGER NOT NULL, sort_key TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
                """)
        }
        // Additive (section 8, `records/`): the message that made each record current, and the
        // years whose records changed since the last snapshot (a trigger keeps them, so the batch
        // code stays as it was). Records stored before this have no source until a --rebuild;
        // every year of an upgraded state counts as changed once.
        migrator.registerMigration("record-sources") { db in
            try db.execute(sql: """
                ALTER TABLE records ADD COLUMN source_topic TEXT;
                ALTER TABLE records ADD COLUMN source_partition INTEGER;
                ALTER TABLE records ADD COLUMN source_offset INTEGER;
                CREATE TABLE pending_record_years(year INTEGER PRIMARY KEY) WITHOUT ROWID;
                INSERT OR IGNORE INTO pending_record_years(year) SELECT DISTINCT year FROM records;
                CREATE TRIGGER records_mark_year BEFORE INSERT ON records BEGIN
                    INSERT OR IGNORE INTO pending_record_years(year) SELECT year FROM records WHERE identity = NEW.identity;
                    INSERT OR IGNORE INTO pending_record_years(year) VALUES (NEW.year);
                END;
                """)
        }
        return migrator
    }

    // MARK: Reading

    public func meta(_ key: String) throws(StateStoreError) -> String? {
        try wrap { try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) } }
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
                for row in try Row.fetchAll(db, sql: #"SELECT topic, partition, "offset", timestamp_ms, digest FROM consumed_tails"#) {
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
                for row in try Row.fetchAll(db, sql: "SELECT topic, partitions FROM partition_counts") { result[row[0]] = row[1] }
                return result
            }
        }
    }

    /// Every stored totals entry as (year, geography, encoded body).
    public func totals() throws(StateStoreError) -> [(year: Int, geo: String, body: Data)] {
        try wrap {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT year, geo, body FROM totals ORDER BY year, geo").map { ($0[0], $0[1], $0[2]) }
            }
        }
    }

    /// What has been consumed since the last snapshot.
    public func pending() throws(StateStoreError) -> PendingWork {
        try wrap {
            try queue.read { db in
                var work = PendingWork()
                for row in try Row.fetchAll(db, sql: "SELECT topic, partition, first_offset, next_offset FROM pending_ranges ORDER BY topic, partition") {
                    work.ranges[TopicPartitionKey(topic: row[0], partition: row[1])] = OffsetRange(first: row[2], next: row[3])
                }
                for row in try Row.fetchAll(db, sql: "SELECT name, count FROM pending_counts") {
                    work.counts[row[0]] = row[1]
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
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT topic, partition, "offset", county, codes, first_message FROM pending_rejections
                    ORDER BY topic, partition, "offset"
                    """)
                while let row = try rows.next() {
                    let codes = try PendingRejection.decodeCodes(row[4])
                    try body(PendingRejection(topic: row[0], partition: row[1], offset: row[2], county: row[3],
                                              codes: codes.codes, warningCodes: codes.warningCodes, firstMessage: row[5]))
                }
            }
        }
    }

    /// Whether any explained warnings or held messages are stored (a run that starts without
    /// any need not delete them record by record).
    public func hasWarningRows() throws(StateStoreError) -> Bool {
        try wrap {
            try queue.read { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM record_warnings) OR EXISTS(SELECT 1 FROM held_messages)") ?? false
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
                let ranks = codes.isEmpty ? "SELECT NULL AS county, 0 AS rank WHERE 0"
                    : "VALUES " + codes.indices.map { _ in "(?, ?)" }.joined(separator: ", ")
                var arguments: [any DatabaseValueConvertible] = []
                for (i, code) in codes.enumerated() { arguments.append(code); arguments.append(i) }
                let rows = try Row.fetchCursor(db, sql: """
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
                        throw StateStoreError("stored warnings unreadable (\(error)); run with --rebuild")
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
        try wrap { try queue.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM records)") ?? false } }
    }

    /// Current records count by kind (for status and metrics).
    public func recordCounts() throws(StateStoreError) -> [String: Int] {
        try wrap {
            try queue.read { db in
                var result: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) FROM records GROUP BY kind") { result[row[0]] = row[1] }
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
    /// too) and the message that made it current, in identity byte order (for a contract: by
    /// contract number as bytes). A range of the primary key, so the snapshot's record files
    /// cost one pass over the records, county by county in registry order.
    public func forEachCurrentRecord(kind: RecordKind, county: String,
                                     _ body: (STIProtocol.Record, RecordSource?) throws -> Void) throws(StateStoreError) {
        let range = RecordFiles.identityRange(kind: kind, county: county)
        try wrap {
            try queue.read { db in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT body, source_topic, source_partition, source_offset FROM records
                    WHERE identity >= ? AND identity < ? ORDER BY identity
                    """, arguments: [range.lowerBound, range.upperBound])
                while let row = try rows.next() {
                    let data: Data = row[0]
                    let record: STIProtocol.Record
                    switch StoredRecord.decode(Array(data)) {
                    case .success(let r): record = r
                    case .failure(let error): throw StateStoreError("stored record unreadable (\(error)); run with --rebuild")
                    }
                    let topic: String? = row[1]
                    let source = topic.map { RecordSource(topic: $0, partition: row[2], offset: row[3]) }
                    try body(record, source)
                }
            }
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

    /// Marks everything pending as covered by snapshot `runId` and records it as the last run.
    /// This is the commit point of a snapshot: before it, a crash leaves only an orphan folder.
    public func markSnapshotted(runId: String, finishedAt: String) throws(StateStoreError) {
        try wrap {
            try queue.write { db in
                try db.execute(sql: "DELETE FROM pending_ranges; DELETE FROM pending_counts; DELETE FROM pending_rejections; DELETE FROM pending_record_years;")
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_run_id', ?), ('last_run_finished_at', ?)",
                               arguments: [runId, finishedAt])
            }
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws(StateStoreError) -> T {
        do { return try body() } catch let error as StateStoreError { throw error } catch {
            throw StateStoreError("state file \(path): \(error); if it is corrupt, run with --rebuild")
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
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
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

    /// Stores `record` (canonical JSON `body`) as the current record of `identity`, made current
    /// by the message at `source` (section 8's `topic,partition,offset`).
    public func putRecord(_ record: STIProtocol.Record, identity: String, body: [UInt8], source: RecordSource? = nil) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO records(identity, kind, county, year, revision, status, body,
                                           source_topic, source_partition, source_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).sqliteStatement
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try bindText(statement, 1, identity)
        try bindText(statement, 2, record.kind.rawValue)
        try bindText(statement, 3, record.county)
        try check(sqlite3_bind_int64(statement, 4, Int64(record.year)))
        try check(sqlite3_bind_int64(statement, 5, Int64(record.revision)))
        try bindText(statement, 6, record.status.rawValue)
        if let source {
            try bindText(statement, 8, source.topic)
            try check(sqlite3_bind_int64(statement, 9, Int64(source.partition)))
            try check(sqlite3_bind_int64(statement, 10, source.offset))
        }
        let code = body.withUnsafeBytes { bytes -> Int32 in
            // SQLITE_STATIC: the bytes stay valid until the step below has run.
            let bound = sqlite3_bind_blob(statement, 7, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
            guard bound == SQLITE_OK else { return bound }
            return sqlite3_step(statement)
        }
        guard code == SQLITE_DONE else { throw sqliteError(code) }
    }

    private func bindText(_ statement: OpaquePointer, _ index: Int32, _ text: String) throws {
        var text = text
        // SQLITE_TRANSIENT: SQLite copies the bytes, which live only inside `withUTF8`.
        let code = text.withUTF8 { utf8 in
            sqlite3_bind_text(statement, index, UnsafeRawPointer(utf8.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                .assumingMemoryBound(to: CChar.self), Int32(utf8.count), sqliteTransient)
        }
        try check(code)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw sqliteError(code) }
    }

    private func sqliteError(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) })
    }

    public func putRecord(_ record: STIProtocol.Record, body: Data) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO records(identity, kind, county, year, revision, status, body) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [record.identity, record.kind.rawValue, record.county, record.year,
                                          record.revision, record.status.rawValue, body])
    }

    public func putTotals(year: Int, geo: String, body: Data?) throws {
        if let body {
            let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO totals(year, geo, body) VALUES (?, ?, ?)")
            try statement.execute(arguments: [year, geo, body])
        } else {
            let statement = try db.cachedStatement(sql: "DELETE FROM totals WHERE year = ? AND geo = ?")
            try statement.execute(arguments: [year, geo])
        }
    }

    /// Records that `[first, next)` of a partition was consumed: the stored offset moves to
    /// `next`, and the pending range since the last snapshot grows.
    public func consumed(_ key: TopicPartitionKey, range: OffsetRange) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO offsets(topic, partition, next_offset) VALUES (?, ?, ?)",
                       arguments: [key.topic, key.partition, range.next])
        try db.execute(sql: """
            INSERT INTO pending_ranges(topic, partition, first_offset, next_offset) VALUES (?, ?, ?, ?)
            ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset
            """, arguments: [key.topic, key.partition, range.first, range.next])
    }

    public func addCounts(_ counts: [String: Int]) throws {
        for (name, count) in counts where count != 0 {
            try db.execute(sql: """
                INSERT INTO pending_counts(name, count) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET count = count + excluded.count
                """, arguments: [name, count])
        }
    }

    public func addRejection(_ rejection: PendingRejection) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO pending_rejections(topic, partition, "offset", county, codes, first_message) VALUES (?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [rejection.topic, rejection.partition, rejection.offset,
                                          rejection.county, PendingRejection.encodeCodes(rejection.codes, rejection.warningCodes),
                                          rejection.firstMessage])
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
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO \(table)(identity, year, county, kind_order, sort_key, body) VALUES (?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [entry.identity, entry.year, entry.county, entry.kindOrder, entry.sortKey,
                                          try JSONEncoder().encode(entry)])
    }

    /// Remembers that key `id` signed a message this state accepted.
    public func recordSigningKey(_ id: String) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO signing_keys(key_id) VALUES (?)")
        try statement.execute(arguments: [id])
    }

    /// Records the last message consumed from a partition; written with the batch that
    /// consumed it, so it always describes the message just before the stored offset.
    public func setConsumedTail(_ key: TopicPartitionKey, _ tail: ConsumedTail) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO consumed_tails(topic, partition, "offset", timestamp_ms, digest) VALUES (?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [key.topic, key.partition, tail.offset, tail.timestampMillis, Data(tail.digest)])
    }

    /// Records a topic's partition count unless one is recorded already: the first one seen stays.
    public func recordPartitionCount(topic: String, partitions: Int) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO partition_counts(topic, partitions) VALUES (?, ?)", arguments: [topic, partitions])
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
    }
}

/// SQLite's `SQLITE_TRANSIENT` destructor (a C macro Swift does not import): copy the bytes.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A topic-partition, as a dictionary key.
public struct TopicPartitionKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) { self.topic = topic; self.partition = partition }
    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)[\(partition)]" }
}

/// Offsets `[first, next)` of one partition.
public struct OffsetRange: Hashable, Sendable {
    public var first: Int64
    public var next: Int64
    public init(first: Int64, next: Int64) { self.first = first; self.next = next }
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
        self.offset = offset; self.timestampMillis = timestampMillis; self.digest = digest
    }
}

/// A rejection not yet listed in a snapshot's `rejections.csv`.
public struct PendingRejection: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var county: String?
    /// The distinct codes, in report order.
    public var codes: [ErrorCode]
    /// The distinct `W_` codes of a held message (section 5a), after `codes`.
    public var warningCodes: [WarningCode]
    public var firstMessage: String
    public init(topic: String, partition: Int32, offset: Int64, county: String?, codes: [ErrorCode],
                warningCodes: [WarningCode] = [], firstMessage: String) {
        self.topic = topic; self.partition = partition; self.offset = offset
        self.county = county; self.codes = codes; self.warningCodes = warningCodes; self.firstMessage = firstMessage
    }

    /// The row of `rejections.csv`.
    public var row: RejectionRow {
        RejectionRow(topic: topic, partition: partition, offset: offset, county: county, codes: codes,
                     warningCodes: warningCodes, firstMessage: firstMessage)
    }

    /// The `codes` column of `pending_rejections`: the codes' names joined with `;`, `E_` codes
    /// first. Only this type writes and reads it.
    static func encodeCodes(_ codes: [ErrorCode], _ warningCodes: [WarningCode] = []) -> String {
        (codes.map(\.rawValue) + warningCodes.map(\.rawValue)).joined(separator: ";")
    }

    static func decodeCodes(_ text: String) throws -> (codes: [ErrorCode], warningCodes: [WarningCode]) {
        var codes: [ErrorCode] = [], warningCodes: [WarningCode] = []
        for name in text.split(separator: ";").map(String.init) {
            if let code = ErrorCode(rawValue: name) { codes.append(code) } else if let code = WarningCode(rawValue: name) {
                warningCodes.append(code)
            } else {
                throw StateStoreError("pending rejection with unknown code \(name); run with --rebuild")
            }
        }
        return (codes, warningCodes)
    }
}

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

    public init(record: STIProtocol.Record, warnings: [PlausibilityWarning], topic: String, partition: Int32, offset: Int64) {
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
        self.topic = topic; self.partition = partition; self.offset = offset
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
            WarningRow(year: year, geoCode: county, kind: kind, identity: displayIdentity, warning: $0, disposition: disposition,
                       explanation: disposition == .held ? "" : explanation, topic: topic, partition: partition, offset: offset)
        }
    }
}

/// Everything consumed since the last snapshot: it all goes into the next snapshot's manifest.
public struct PendingWork: Sendable {
    public var ranges: [TopicPartitionKey: OffsetRange] = [:]
    public var counts: [String: Int] = [:]
    /// How many rejections wait for the next snapshot (`StateStore.forEachPendingRejection`
    /// reads them).
    public var rejectionCount = 0
    public var isEmpty: Bool { ranges.isEmpty && counts.isEmpty && rejectionCount == 0 }
}

/// A state file that cannot be opened or used, with what to do about it.
public struct StateStoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An exclusive, non-blocking `flock` on a side file: a second run on the same state fails at
/// once with a clear error. The kernel releases it when the process dies, even by SIGKILL.
final class RunLock {
    private let fd: Int32

    init(path: String) throws(StateStoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StateStoreError("cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy {
                throw StateStoreError("another sti run holds the state lock \(path); two runs must never work on one state — wait for it to finish")
            }
            throw StateStoreError("cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
