import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// Issue 11, points 8 and 10: `--rebuild` never deletes what is not an sti state, builds the new
/// state beside the old one and swaps it in only when the run succeeds; the run lock is taken
/// on the state's real path.
@Suite struct StateFileTests {
    /// A file `--state` may name by mistake, with the words the refusal must use.
    static let strangers: [(name: String, phrase: String)] = [
        ("a keys file", "is not an SQLite database"),
        ("an SQLite database of another program", "is an SQLite database but not an sti state (no meta table)"),
        ("a directory", "is a directory"),
    ]

    static func makeStranger(_ name: String, in dir: TemporaryDirectory) throws -> String {
        switch name {
        case "a keys file":
            let path = dir.file("keys.json")
            try Data(TestKeys.fileText(try TestKeys().keys).utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o600)
            return path
        case "an SQLite database of another program":
            let path = dir.file("other.sqlite")
            let result = try ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sqlite3; c = sqlite3.connect('\(path)'); c.execute('CREATE TABLE t(x)'); c.execute('INSERT INTO t VALUES (1)'); c.commit()",
                ],
                timeout: .seconds(30))
            guard result.succeeded else { throw TestEnvironmentError("python3 sqlite3: \(result.stderrText)") }
            return path
        default:
            let path = dir.file("folder")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/inside"))
            return path
        }
    }

    /// Every file and its bytes below `dir` (a directory's entries recursively), to prove nothing changed.
    static func contents(_ dir: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: dir)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDirectory)
            result[name] = isDirectory.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return result
    }

    @Test(
        "--state naming something that is not an sti state: refused, named, untouched, also with --rebuild and unreachable brokers",
        arguments: strangers.map(\.name))
    func notAStateIsRefusedAndLeftAlone(stranger: String) throws {
        let dir = try TemporaryDirectory(prefix: "sti-stranger")
        defer { dir.remove() }
        let path = try Self.makeStranger(stranger, in: dir)
        let phrase = try #require(Self.strangers.first { $0.name == stranger }).phrase
        let before = try Self.contents(dir.path)

        for rebuild in [false, true] {
            let error = #expect(throws: StateStoreError.self) {
                _ = rebuild ? try SQLiteStateStore(rebuildingAt: path) : try SQLiteStateStore(path: path)
            }
            #expect(
                error?.description.contains("state file \(path) \(phrase)") == true,
                "\(error?.description ?? "no error")")
            #expect(error?.code == .notAState)
            #expect(error?.path == path)
            #expect(
                error?.description.contains("--rebuild") == false,
                "suggests a rebuild that would be refused: \(error?.description ?? "")")

            let options = AggregateOptions(
                brokers: "127.0.0.1:1", out: URL(fileURLWithPath: dir.file("out")), statePath: path,
                rebuild: rebuild, timeout: .seconds(2))
            let log = LogRecorder()
            let failed = #expect(throws: AggregateError.self) {
                try Aggregator(options: options, logger: log.logger()).run()
            }
            #expect(
                failed?.description.contains("state file \(path) \(phrase)") == true,
                "\(failed?.description ?? "no error")")
            #expect(failed?.description.contains("--rebuild") == false)
            // The store's error, kept as it was: code `state`, and beneath it `not_a_state`.
            #expect(failed?.code == .state)
            #expect(failed?.stateError?.code == .notAState)
            #expect(failed?.description == failed?.stateError?.description)
        }
        // Byte for byte as before, not even a lock file beside it; only the --out folder is new.
        var after = try Self.contents(dir.path)
        for name in after.keys where name == "out" || name.hasPrefix("out/") { after[name] = nil }
        #expect(after == before, "files changed: \(Set(after.keys).symmetricDifference(before.keys).sorted())")
    }

    @Test func uncommittedRebuildLeavesTheOldStateAndRemovesTheNewOne() throws {
        let dir = try TemporaryDirectory(prefix: "sti-rebuild")
        defer { dir.remove() }
        let path = dir.file("state.db")
        let key = TopicPartitionKey(topic: "sti.rd", partition: 0)
        do {
            let store = try SQLiteStateStore(path: path)
            try store.transaction { tx in try tx.consumed(key, range: OffsetRange(first: 0, next: 7)) }
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            let rebuild = try SQLiteStateStore(rebuildingAt: path)
            #expect(rebuild.databasePath.hasPrefix(rebuild.realPath + ".rebuild-"))
            #expect(FileManager.default.fileExists(atPath: rebuild.databasePath))
            try rebuild.transaction { tx in try tx.consumed(key, range: OffsetRange(first: 0, next: 3)) }
            // Released without commitRebuild: the run failed.
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names.filter { $0.contains(".rebuild-") }.isEmpty, "\(names)")
        #expect(try SQLiteStateStore(path: path).offsets() == [key: 7])
    }

    /// A state with 20 committed transactions on sti.rd[0], its `files` (the database, "-wal",
    /// "-shm") copied to `path` while it is still open, as a SIGKILL leaves them. Returns the
    /// partition it consumed.
    static func copyOfAnOpenState(in dir: TemporaryDirectory, to path: String, files: [String]) throws
        -> TopicPartitionKey
    {
        let live = dir.file("live.db")
        let key = TopicPartitionKey(topic: "sti.rd", partition: 0)
        let store = try SQLiteStateStore(path: live)
        for n in 1...20 {
            try store.transaction { tx in try tx.consumed(key, range: OffsetRange(first: 0, next: Int64(n))) }
        }
        for suffix in files { try FileManager.default.copyItem(atPath: live + suffix, toPath: path + suffix) }
        return key
    }

    /// The swap: the rebuilt state replaces the old one, also when the old one still has a WAL
    /// of committed transactions (a run killed with SIGKILL leaves one), which must not be
    /// replayed into the new file.
    @Test func committedRebuildReplacesTheOldStateEvenWithItsWAL() throws {
        let dir = try TemporaryDirectory(prefix: "sti-rebuild-wal")
        defer { dir.remove() }
        let path = dir.file("state.db")
        // Copied while open: the file and a WAL holding the last transactions, as a kill leaves them.
        _ = try Self.copyOfAnOpenState(in: dir, to: path, files: ["", "-wal"])
        // The copy's last transactions are in its WAL only (checkpoints come every 4096 pages).
        let walSize = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize > 0)

        let other = TopicPartitionKey(topic: "sti.rd", partition: 1)
        do {
            let rebuild = try SQLiteStateStore(rebuildingAt: path)
            try rebuild.transaction { tx in try tx.consumed(other, range: OffsetRange(first: 0, next: 2)) }
            try rebuild.commitRebuild()
            #expect(!rebuild.isRebuilding)
        }
        #expect(try SQLiteStateStore(path: path).offsets() == [other: 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("rebuild") }.isEmpty)
    }

    /// A state as a SIGKILL leaves it (a WAL and its -shm index, both stale) is still an sti
    /// state: recognising it needs WAL recovery, which a read-only connection cannot do.
    @Test func aStateLeftByAKilledRunIsRecognised() throws {
        let dir = try TemporaryDirectory(prefix: "sti-killed")
        defer { dir.remove() }
        let path = dir.file("state.db")
        let key = try Self.copyOfAnOpenState(in: dir, to: path, files: ["", "-wal", "-shm"])
        // The index of a writer killed mid-way does not describe the WAL: SQLite must rebuild it.
        let shmSize = (try FileManager.default.attributesOfItem(atPath: path + "-shm")[.size] as? Int) ?? 0
        try Data(count: shmSize).write(to: URL(fileURLWithPath: path + "-shm"))
        #expect(StateFile.identify(path) == .stiState)
        #expect(try SQLiteStateStore(readingFrom: path).offsets() == [key: 20])
        #expect(try SQLiteStateStore(path: path).offsets() == [key: 20])
    }

    @Test func leftoversOfAKilledRebuildAreRemovedAtTheNextStart() throws {
        let dir = try TemporaryDirectory(prefix: "sti-rebuild-stale")
        defer { dir.remove() }
        let path = dir.file("state.db")
        for name in ["state.db.rebuild-99999", "state.db.rebuild-99999-wal", "state.db.rebuild-99999-shm"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file(name)))
        }
        // Not a leftover: another name that only starts the same way.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.file("state.db.rebuild-notes.txt")))
        _ = try SQLiteStateStore(path: path)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.contains("state.db.rebuild-notes.txt"))
        #expect(!names.contains { $0.hasPrefix("state.db.rebuild-9") }, "\(names.sorted())")
    }

    /// A `.latest.tmp-<pid>` left by a run killed at the `latest` rename is removed by the next
    /// run; one of a live process is not.
    @Test func aStaleTemporaryLatestLinkIsRemovedAtTheNextStart() throws {
        let dir = try TemporaryDirectory(prefix: "sti-stale-link")
        defer { dir.remove() }
        let out = dir.file("out")
        try FileManager.default.createDirectory(atPath: out + "/runs", withIntermediateDirectories: true)
        var dead: Int32 = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        try FileManager.default.createSymbolicLink(
            atPath: "\(out)/.latest.tmp-\(dead)", withDestinationPath: "runs/20261201T000000Z")
        try FileManager.default.createSymbolicLink(
            atPath: "\(out)/.latest.tmp-\(getppid())", withDestinationPath: "runs/20261201T000000Z")
        let options = AggregateOptions(
            brokers: "127.0.0.1:1", out: URL(fileURLWithPath: out), statePath: dir.file("state.db"),
            timeout: .seconds(2))
        _ = #expect(throws: AggregateError.self) {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!names.contains(".latest.tmp-\(dead)"), "\(names)")
        #expect(names.contains(".latest.tmp-\(getppid())"), "\(names)")
    }

    /// Point 10: two spellings of one state (a symlink, `sub/../state.db`) are one lock.
    @Test func theLockIsTakenOnTheRealPath() throws {
        let dir = try TemporaryDirectory(prefix: "sti-lock")
        defer { dir.remove() }
        let path = dir.file("state.db")
        try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.db"), withDestinationPath: path)
        try FileManager.default.createSymbolicLink(atPath: dir.file("linkdir"), withDestinationPath: dir.path)
        let holder = try SQLiteStateStore(path: path)
        for spelling in [
            dir.file("link.db"), dir.file("sub/../state.db"), dir.file("linkdir/state.db"), dir.file("./state.db"),
        ] {
            let error = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: spelling) }
            #expect(
                error?.description.contains("another sti run holds the state lock \(holder.realPath).lock") == true,
                "\(spelling): \(error?.description ?? "no error")")
            #expect(error?.code == .locked, "\(spelling)")
            let rebuild = #expect(throws: StateStoreError.self) { try SQLiteStateStore(rebuildingAt: spelling) }
            #expect(rebuild?.description.contains("another sti run holds the state lock") == true, "\(spelling)")
            #expect(rebuild?.code == .locked, "\(spelling)")
        }
        _ = holder
        // A symlink to a file that does not exist yet is refused, not silently given a lock of its own.
        try FileManager.default.createSymbolicLink(
            atPath: dir.file("dangling.db"), withDestinationPath: dir.file("nowhere/state.db"))
        let dangling = #expect(throws: StateStoreError.self) { try SQLiteStateStore(path: dir.file("dangling.db")) }
        #expect(
            dangling?.description.contains("symbolic link to a file that does not exist") == true,
            "\(dangling?.description ?? "")")
        #expect(dangling?.code == .pathUnusable)
    }
}

/// Rebuilds through a broker (librdkafka's mock cluster): a rebuild that fails mid-way leaves
/// the old state usable, and a truncated log is not answered with "run with --rebuild".
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(4)))
struct RebuildBrokerTests {
    static func good(_ n: Int) -> TestMessage {
        TestMessage(
            topic: "sti.rd", partition: 0, key: Wire.b("530102"),
            value: Wire.rd(["expenditure_10k_cny": "\(n)", "revision": "\(n)"]))
    }

    @Test func aRebuildThatFailsMidWayLeavesTheOldStateUsable() async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-rebuild-fail")
        defer { dir.remove() }
        let out = URL(fileURLWithPath: dir.file("out"))
        let state = dir.file("state.db")
        _ = try await onDedicatedThread { try broker.produce((1...5).map(Self.good)) }
        let options = AggregateOptions(
            brokers: broker.brokers, out: out, statePath: state, timeout: .seconds(10), batchSize: 1)
        let first = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(first.counts.accepted == 5)
        let offsets = try SQLiteStateStore(readingFrom: state).offsets()
        let before = try Data(contentsOf: URL(fileURLWithPath: state))

        // Two more good messages, then one whose rejection notice the broker refuses for good:
        // the rebuild commits batches into its new state, then fails.
        _ = try await onDedicatedThread {
            try broker.produce([
                Self.good(6), Self.good(7),
                TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: Array("{".utf8)),
            ])
        }
        try broker.cluster.pushRequestErrors(
            apiKey: .produce, errors: Array(repeating: .topicAuthorizationFailed, count: 100))
        var rebuilding = options
        rebuilding.rebuild = true
        rebuilding.timeout = .seconds(3)
        let rebuild = rebuilding
        let log = LogRecorder()
        let error = await #expect(throws: AggregateError.self) {
            try await onDedicatedThread { try Aggregator(options: rebuild, logger: log.logger()).run() }
        }
        #expect(error?.description.contains("rejection notice") == true, "\(error?.description ?? "no error")")
        #expect(error?.code == .noticesUndelivered)
        #expect(log.text.contains(".rebuild-"), "the rebuild did not build beside the old state: \(log.text)")

        // The old state: byte for byte as it was, and nothing of the new one left.
        #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".rebuild-") }.isEmpty)
        #expect(try SQLiteStateStore(readingFrom: state).offsets() == offsets)

        // …and usable: with the broker healed, a plain run goes on from where it stood.
        try broker.cluster.clearRequestErrors(apiKey: .produce)
        let next = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(next.counts.read == 3 && next.counts.accepted == 2 && next.counts.rejected == 1, "\(next.line)")
    }

    /// The mock broker keeps about 5 MiB per partition and drops the head beyond that: a
    /// truncated log. The stored offset and offset 0 are then both gone, so the error must not
    /// send the operator to `--rebuild` (which would fail the same way), and a rebuild tried
    /// anyway leaves the state, the only copy of the deleted records, as it was.
    @Test func aTruncatedLogIsNotAnsweredWithRebuild() async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-truncated")
        defer { dir.remove() }
        let out = URL(fileURLWithPath: dir.file("out"))
        let state = dir.file("state.db")
        _ = try await onDedicatedThread { try broker.produce((1...3).map(Self.good)) }
        let options = AggregateOptions(brokers: broker.brokers, out: out, statePath: state, timeout: .seconds(10))
        _ = try await onDedicatedThread { try Aggregator(options: options, logger: LogRecorder().logger()).run() }
        let before = try Data(contentsOf: URL(fileURLWithPath: state))

        // Eight values of 900 KB: the broker drops the partition's head, stored offset included.
        let big = Array(repeating: UInt8(ascii: "x"), count: 900_000)
        _ = try await onDedicatedThread {
            try broker.produce(
                (0..<8).map { _ in TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: big) },
                properties: ["linger.ms": "0", "batch.num.messages": "1"])
        }
        let low = try await onDedicatedThread {
            var config = KafkaConfiguration(bootstrapServers: broker.brokers)
            config.groupId = "sti-test-watermarks"
            let consumer = try KafkaConsumer(configuration: config)
            defer { try? consumer.close() }
            return try consumer.queryWatermarks(topic: "sti.rd", partition: 0, timeout: .seconds(10)).low
        }
        guard low > 3 else {
            throw TestEnvironmentError(
                "the mock broker kept the head of sti.rd[0] (log start \(low)): no truncated log to test")
        }

        for rebuild in [false, true] {
            var runOptions = options
            runOptions.rebuild = rebuild
            let run = runOptions
            let error = await #expect(throws: AggregateError.self) {
                try await onDedicatedThread { try Aggregator(options: run, logger: LogRecorder().logger()).run() }
            }
            let text = error?.description ?? ""
            #expect(
                text.contains("sti.rd[0]") && text.contains("starts at offset \(low)"), "rebuild \(rebuild): \(text)")
            #expect(!text.contains("run with --rebuild"), "rebuild \(rebuild): \(text)")
            #expect(error?.code == .logTruncated, "rebuild \(rebuild)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before, "rebuild \(rebuild) changed the state")
        }
    }
}
