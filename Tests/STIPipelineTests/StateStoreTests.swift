import Foundation
import GRDB
import STIProtocol
import Testing

@testable import STIPipeline

@Suite struct StateStoreTests {
    func tempPath() -> String { NSTemporaryDirectory() + "sti-state-\(UUID().uuidString).db" }

    let record = Record(
        county: "530102", revision: 2, submittedAt: "2026-01-15T09:30:00+08:00",
        body: .rd(RDExpenditure(year: 2024, performer: .medical, expenditure: ExactAmount(scaled: 1_005_000))))

    @Test func batchCommitsRecordsOffsetsAndPendingTogether() throws {
        let path = tempPath()
        do {
            let store = try SQLiteStateStore(path: path)
            let key = TopicPartitionKey(topic: "sti.rd", partition: 0)
            try store.transaction { tx in
                try tx.putRecord(record, body: Data("r1".utf8))
                try tx.consumed(key, range: OffsetRange(first: 0, next: 10))
                try tx.addCounts(RunCounts(read: 10, accepted: 9, rejectedByCode: [.range: 1]))
                try tx.addRejection(
                    PendingRejection(
                        topic: "sti.rd", partition: 0, offset: 4, county: "530102", codes: [.range], firstMessage: "x"))
            }
            try store.transaction { tx in
                try tx.consumed(key, range: OffsetRange(first: 10, next: 15))
                try tx.addCounts(RunCounts(read: 5, accepted: 5))
            }
            #expect(try store.offsets() == [key: 15])
            let pending = try store.pending()
            #expect(pending.ranges[key] == OffsetRange(first: 0, next: 15))
            #expect(pending.counts == RunCounts(read: 15, accepted: 14, rejectedByCode: [.range: 1]))
            #expect(pending.rejectionCount == 1)
            var streamed: [PendingRejection] = []
            try store.forEachPendingRejection { streamed.append($0) }
            #expect(
                streamed == [
                    PendingRejection(
                        topic: "sti.rd", partition: 0, offset: 4, county: "530102", codes: [.range], firstMessage: "x")
                ])
            try store.markSnapshotted(runId: "20260101T000000Z", finishedAt: "2026-01-01T00:00:01Z")
            #expect(try store.pending().isEmpty)
            #expect(try store.meta("last_run_id") == "20260101T000000Z")
            #expect(try store.offsets() == [key: 15], "offsets survive a snapshot")
        }
        // Reopen: everything committed is still there.
        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.offsets().count == 1)
        #expect(try reopened.recordCounts() == ["rd": 1])
        let body = try reopened.transaction { tx in try tx.record(identity: record.identity) }
        #expect(body == Data("r1".utf8))
    }

    @Test func failedBatchLeavesNothingBehind() throws {
        let store = try SQLiteStateStore(path: tempPath())
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.transaction { tx in
                try tx.putRecord(record, body: Data("r1".utf8))
                try tx.consumed(TopicPartitionKey(topic: "sti.rd", partition: 0), range: OffsetRange(first: 0, next: 3))
                throw Boom()
            }
        }
        #expect(try store.offsets().isEmpty)
        #expect(try store.recordCounts().isEmpty)
    }

    @Test func secondRunOnSameStateIsRefused() throws {
        let path = tempPath()
        let first = try SQLiteStateStore(path: path)
        let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.description.contains("another sti run holds the state lock") == true)
        #expect(error?.code == .locked)
        _ = first
    }

    /// The run's error for a locked state is the store's, kept typed: callers (and the JSON log's
    /// `error_code` / `state_error_code`) tell "another run holds it" from the rest by code.
    @Test func aRunOnALockedStateFailsWithTheStoresCode() throws {
        let path = tempPath()
        let holder = try SQLiteStateStore(path: path)
        let options = AggregateOptions(
            brokers: "127.0.0.1:1", out: URL(fileURLWithPath: NSTemporaryDirectory() + "sti-out-\(UUID().uuidString)"),
            statePath: path, timeout: .seconds(2))
        let error = #expect(throws: AggregateError.self) {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(error?.code == .state)
        #expect(error?.stateError?.code == .locked)
        #expect(error?.description.contains("another sti run holds the state lock") == true)
        #expect(
            AggregateError.logMetadata(try #require(error)) == ["error_code": "state", "state_error_code": "locked"])
        _ = holder
    }

    /// `sti status` on a path where no run has been: `missing`, not "unreadable".
    @Test func readingAStateThatDoesNotExistIsMissing() {
        let path = tempPath()
        let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(readingFrom: path) }
        #expect(error?.code == .missing)
        #expect(error?.description == "state file \(path) does not exist (no aggregation has run with it yet)")
    }

    /// A state written by a newer sti (a higher layout version) is refused as `newer_layout`,
    /// with the version found, and left as it was.
    @Test func aNewerLayoutIsRefusedWithItsVersion() throws {
        let path = tempPath()
        do { _ = try SQLiteStateStore(path: path) }
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(
                    sql: "UPDATE meta SET value = ? WHERE key = 'layout_version'",
                    arguments: ["\(SQLiteStateStore.layoutVersion + 1)"])
            }
            try queue.close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.code == .newerLayout)
        #expect(error?.foundLayout == SQLiteStateStore.layoutVersion + 1)
        #expect(
            error?.description.contains(
                "state file \(path) has layout version \(SQLiteStateStore.layoutVersion + 1), this program uses \(SQLiteStateStore.layoutVersion)"
            ) == true, "\(error?.description ?? "")")
        let readOnly = #expect(throws: StateStoreError.self) { try SQLiteStateStore(readingFrom: path) }
        #expect(readOnly?.code == .newerLayout)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    /// A file that is not an SQLite database is not a damaged state: it is refused without
    /// suggesting --rebuild (which refuses it too), and left as it was.
    @Test func fileThatIsNotADatabaseIsRefusedWithoutSuggestingRebuild() throws {
        let path = tempPath()
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.description.contains("\(path) is not an SQLite database") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("--rebuild") == false)
        #expect(error?.code == .notAState)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 0x41, count: 8192))
    }

    /// An sti state whose pages are damaged: the error suggests --rebuild, and a rebuild accepts it.
    @Test func damagedStateSuggestsRebuild() throws {
        let path = tempPath()
        do {
            let store = try SQLiteStateStore(path: path)
            try store.transaction { tx in
                try tx.consumed(TopicPartitionKey(topic: "sti.rd", partition: 0), range: OffsetRange(first: 0, next: 5))
            }
        }
        // Page 1 (the schema) intact, every later page overwritten.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: Int(size) - 4096))
        try handle.close()
        let error = #expect(throws: StateStoreError.self) { _ = try SQLiteStateStore(path: path).offsets() }
        #expect(error?.description.contains("--rebuild") == true, "\(error?.description ?? "")")
        #expect(error?.code == .unreadable)
        #expect(
            error?.underlying is DatabaseError, "SQLite's error, kept typed: \(String(describing: error?.underlying))")
        do {
            let rebuild = try SQLiteStateStore(rebuildingAt: path)
            #expect(try rebuild.offsets().isEmpty)
            try rebuild.commitRebuild()
        }
        #expect(try SQLiteStateStore(path: path).offsets().isEmpty)
    }
}

/// The tables added for issue 11 (tails and partition counts): written with a batch, first
/// count kept, and added to a state file written before they existed.
@Suite struct StateStoreTailTests {
    func tempPath() -> String { NSTemporaryDirectory() + "sti-state-\(UUID().uuidString).db" }

    @Test func tailsCommitWithTheBatchAndTheFirstCountStays() throws {
        let path = tempPath()
        defer {
            for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let key = TopicPartitionKey(topic: "sti.rd", partition: 1)
        let tail = ConsumedTail(
            offset: 9, timestampMillis: 1_796_153_967_083,
            digest: PartitionTails.digest(key: Array("530102".utf8), value: [1, 2]))
        do {
            let store = try SQLiteStateStore(path: path)
            try store.transaction { tx in
                try tx.consumed(key, range: OffsetRange(first: 0, next: 10))
                try tx.setConsumedTail(key, tail)
                try tx.recordPartitionCount(topic: "sti.rd", partitions: 6)
                try tx.recordPartitionCount(topic: "sti.rd", partitions: 3)
            }
            // A failed batch leaves neither its offsets nor its tail.
            #expect(throws: (any Error).self) {
                try store.transaction { tx in
                    try tx.consumed(key, range: OffsetRange(first: 10, next: 12))
                    try tx.setConsumedTail(key, ConsumedTail(offset: 11, timestampMillis: 1, digest: [0]))
                    throw StateStoreError(.commitRefused, "batch failed")
                }
            }
        }
        let reopened = try SQLiteStateStore(readingFrom: path)
        #expect(try reopened.offsets() == [key: 10])
        #expect(try reopened.consumedTails() == [key: tail])
        #expect(try reopened.partitionCounts() == ["sti.rd": 6])
    }

    @Test func digestSeparatesKeyFromValueAndNoKeyFromAnEmptyOne() {
        let a = PartitionTails.digest(key: Array("ab".utf8), value: Array("c".utf8))
        #expect(a != PartitionTails.digest(key: Array("a".utf8), value: Array("bc".utf8)))
        #expect(PartitionTails.digest(key: nil, value: [1]) != PartitionTails.digest(key: [], value: [1]))
        #expect(a.count == 32)
    }

    /// Layout 2 (typed pending counts and rejection codes, records keyed by identity alone) is
    /// not a migration of layout 1: a layout-1 file is refused with an error that names both
    /// versions and says to run --rebuild, is left byte for byte as it was, and a rebuild
    /// replaces it with a layout-2 state.
    @Test func aLayoutOneStateAsksForARebuildAndIsLeftAsItWas() throws {
        let path = tempPath()
        defer {
            for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        // A state as layout 1 wrote it (its first tables, its meta).
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                        INSERT INTO meta(key, value) VALUES ('layout_version', '1');
                        CREATE TABLE offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                             PRIMARY KEY(topic, partition)) WITHOUT ROWID;
                        INSERT INTO offsets VALUES ('sti.rd', 0, 4);
                        CREATE TABLE pending_counts(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
                        INSERT INTO pending_counts VALUES ('rejected.E_RANGE', 1);
                        """)
            }
            try queue.close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(
            error?.description.contains("has layout version 1, this program uses \(SQLiteStateStore.layoutVersion)")
                == true,
            "\(error?.description ?? "")")
        #expect(error?.description.contains("run with --rebuild") == true)
        #expect(error?.code == .olderLayout)
        #expect(error?.foundLayout == 1)
        let readOnly = #expect(throws: StateStoreError.self) { try SQLiteStateStore(readingFrom: path) }
        #expect(readOnly?.description.contains("layout version 1") == true)
        #expect(readOnly?.code == .olderLayout)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the old file is not migrated half-way")
        do {
            let rebuild = try SQLiteStateStore(rebuildingAt: path)
            #expect(try rebuild.offsets().isEmpty)
            try rebuild.commitRebuild()
        }
        let store = try SQLiteStateStore(path: path)
        #expect(try store.meta("layout_version") == String(SQLiteStateStore.layoutVersion))
        #expect(try store.offsets().isEmpty)
        #expect(try store.pending().counts == RunCounts())
    }
}
