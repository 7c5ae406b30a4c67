import Foundation
import Kafka
import Logging
import STIProtocol
import STITestSupport
import Synchronization
import Testing
import ZIPFoundation

@testable import STIPipeline

// Shared by the hostile-topic, spreadsheet-safety and secret-hygiene suites: a mock cluster
// with the protocol's topics, test signing keys, an in-memory log, a strict RFC 4180 reader
// and the process's resident memory.

/// Signing keys for tests, one per geography of a registry, with secrets that follow from the
/// code (so every run signs the same), plus an expired and a not-yet-valid key for `530102`.
struct TestKeys: Sendable {
    struct Key: Sendable {
        var id: String
        var county: String
        var secretHex: String
        var notBefore: String?
        var notAfter: String?
    }
    let keys: [Key]
    let ring: KeyRing
    /// Every secret of the file, lower-case hex.
    var secrets: [String] { keys.map(\.secretHex) }

    static let expiredId = "530102-2019"
    static let futureId = "530102-2099"

    init(registry: Registry = .kunming) throws {
        var keys = registry.geographies.map { g in
            Key(
                id: "\(g.code)-test", county: g.code, secretHex: Self.secret(seed: g.code), notBefore: nil,
                notAfter: nil)
        }
        keys.append(
            Key(
                id: Self.expiredId, county: "530102", secretHex: Self.secret(seed: "expired"),
                notBefore: "2019-01-01T00:00:00+08:00", notAfter: "2019-12-31T23:59:59+08:00"))
        keys.append(
            Key(
                id: Self.futureId, county: "530102", secretHex: Self.secret(seed: "future"),
                notBefore: "2099-01-01T00:00:00+08:00", notAfter: nil))
        self.keys = keys
        self.ring = try KeyRing.parse(Data(Self.fileText(keys).utf8), source: "test keys")
    }

    /// The keys file text (section 4's shape).
    static func fileText(_ keys: [Key]) -> String {
        let entries = keys.map { k in
            var fields = [("id", k.id), ("county", k.county), ("secret_hex", k.secretHex)]
            if let nb = k.notBefore { fields.append(("not_before", nb)) }
            if let na = k.notAfter { fields.append(("not_after", na)) }
            return "{" + fields.map { "\(JSONText.string($0.0)): \(JSONText.string($0.1))" }.joined(separator: ", ")
                + "}"
        }
        return "{\"keys\": [\n  " + entries.joined(separator: ",\n  ") + "\n]}\n"
    }

    /// Writes the keys file, readable by its owner only (as the CLI asks), and returns its path.
    func write(to path: String) throws -> String {
        try Data(Self.fileText(keys).utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        return path
    }

    func key(for county: String) -> Key? {
        keys.first { $0.county == county && $0.notBefore == nil && $0.notAfter == nil }
    }

    /// 64 lower-case hex digits from a seed (FNV-1a then xorshift): a stand-in secret.
    static func secret(seed: String) -> String {
        var x: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in seed.utf8 { x = (x ^ UInt64(b)) &* 0x100_0000_01b3 }
        var out = ""
        for _ in 0..<4 {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            let hex = String(x, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    /// `sti-key-id` and `sti-signature` headers signing `value` with `keyId`.
    func headers(_ value: [UInt8], keyId: String) throws -> [KafkaHeader] {
        [
            KafkaHeader(key: "sti-key-id", string: keyId),
            KafkaHeader(key: "sti-signature", string: try ring.sign(value: value, keyId: keyId)),
        ]
    }
}

/// One message a test puts on a topic. A keyed message goes where section 2 puts its key
/// (murmur2) unless it is `misplaced`; `partition` is used for messages without a key and for
/// misplaced ones.
struct TestMessage: Sendable {
    var topic: String
    var partition: Int32
    var key: [UInt8]?
    var value: [UInt8]
    var headers: [KafkaHeader] = []
    var misplaced = false
}

/// Where a message landed.
struct Landed: Hashable, Comparable, Sendable, CustomStringConvertible {
    var topic: String
    var partition: Int32
    var offset: Int64
    static func < (a: Landed, b: Landed) -> Bool { (a.topic, a.partition, a.offset) < (b.topic, b.partition, b.offset) }
    var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// A message read back from a topic.
struct ReadBack: Sendable {
    var at: Landed
    var key: [UInt8]?
    var value: [UInt8]
}

/// A mock cluster holding the protocol's four topics.
final class TestBroker: Sendable {
    let cluster: MockCluster
    let partitions: Int32
    let rejectedPartitions: Int32
    var brokers: String { cluster.bootstrapServers }

    /// The mock broker keeps only about 5 MiB per partition and silently drops older data (see
    /// the Kafka notes), so the suites spread their volume over partitions and check, when they
    /// read back, that nothing was dropped (low watermark 0).
    init(partitions: Int32, rejectedPartitions: Int32) throws {
        cluster = try MockCluster(brokers: 1)
        self.partitions = partitions
        self.rejectedPartitions = rejectedPartitions
        for kind in RecordKind.allCases { try cluster.createTopic(kind.topic(), partitions: partitions) }
        try cluster.createTopic("sti.rejected", partitions: rejectedPartitions)
    }

    func close() { cluster.close() }

    /// Sends every message, waits for every delivery report, and returns where each landed
    /// (in the order given). `properties` are extra producer settings.
    func produce(_ messages: [TestMessage], properties: [String: String] = [:]) throws -> [Landed] {
        final class Reports: Sendable { let byTag = Mutex<[Int: KafkaDeliveryReport]>([:]) }
        let reports = Reports()
        var config = KafkaConfiguration(bootstrapServers: brokers)
        for (k, v) in properties { config.set(k, v) }
        let producer = try KafkaProducer(configuration: config) { report in
            reports.byTag.withLock { $0[report.tag] = report }
        }
        for (tag, m) in messages.enumerated() {
            let count = m.topic == "sti.rejected" ? rejectedPartitions : partitions
            var partition = m.partition
            if let key = m.key, !key.isEmpty, !m.misplaced {
                partition = Partitioner.partition(forKey: key, count: count)
            }
            try producer.send(
                topic: m.topic, key: m.key, value: m.value, headers: m.headers, partition: partition, tag: tag)
        }
        try producer.flush(timeout: .seconds(60))
        let failures = producer.takeFailures()
        guard failures.isEmpty else {
            throw TestEnvironmentError("\(failures.count) test messages not delivered: \(failures[0])")
        }
        let byTag = reports.byTag.withLock { $0 }
        return try messages.indices.map { tag in
            guard let r = byTag[tag], r.error == nil, let offset = r.offset else {
                throw TestEnvironmentError("no delivery report for test message \(tag)")
            }
            return Landed(topic: r.topic, partition: r.partition, offset: offset)
        }
    }

    /// Every message of `topic` (all `count` partitions), read from offset 0 to the end; fails
    /// when the broker dropped the head of a partition.
    func readAll(topic: String, partitions count: Int32) throws -> [ReadBack] {
        var config = KafkaConfiguration(bootstrapServers: brokers)
        config.groupId = "sti-test-reader"
        config.set("enable.partition.eof", "true")
        config.set("auto.offset.reset", "error")
        config.set("enable.auto.commit", "false")
        let consumer = try KafkaConsumer(configuration: config)
        defer { try? consumer.close() }
        for p in 0..<count {
            let low = try consumer.queryWatermarks(topic: topic, partition: p, timeout: .seconds(20)).low
            guard low == 0 else {
                throw TestEnvironmentError("\(topic)[\(p)] starts at \(low): the mock broker dropped data")
            }
        }
        try consumer.assign((0..<count).map { TopicPartitionOffset(topic: topic, partition: $0, offset: 0) })
        var out: [ReadBack] = []
        var drained = Set<Int32>()
        let deadline = ContinuousClock.now + .seconds(120)
        while drained.count < count {
            guard ContinuousClock.now < deadline else {
                throw TestEnvironmentError("\(topic) not drained within 120 s")
            }
            try consumer.poll(maxMessages: 10_000, timeout: .milliseconds(200)) { view in
                switch view.kind {
                case .partitionEOF: drained.insert(view.partition)
                case .message:
                    drained.remove(view.partition)
                    out.append(
                        ReadBack(
                            at: Landed(topic: view.topic, partition: view.partition, offset: view.offset),
                            key: view.keyBytes, value: view.valueBytes))
                case .error(let e): throw e
                }
            }
        }
        return out
    }
}

/// A swift-log handler that keeps every line (message and metadata) in memory.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
    var count: Int { lines.withLock { $0.count } }

    func logger(_ label: String = "test") -> Logger {
        var logger = Logger(label: label) { label in Handler(recorder: self, label: label) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            let meta = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            recorder.append(
                "\(event.level) \(label) \(event.message) \(meta) \(event.source) \(event.file):\(event.line)")
        }
    }
}

/// A strict RFC 4180 reader for the snapshot files: comma separated, CRLF after every record,
/// a quoted field may hold commas, CR, LF and doubled quotes; a quote inside an unquoted field
/// or text after a closing quote is an error, and so is a bare LF or CR outside quotes.
enum StrictCSV {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [[String]] {
        let b = Array(text.utf8)
        var rows: [[String]] = []
        var row: [String] = []
        var i = 0
        guard !b.isEmpty else { return [] }
        while i < b.count {
            var field: [UInt8] = []
            if b[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < b.count else {
                        throw Failure(description: "unterminated quoted field in row \(rows.count + 1)")
                    }
                    if b[i] == UInt8(ascii: "\"") {
                        if i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") {
                            field.append(b[i])
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    field.append(b[i])
                    i += 1
                }
            } else {
                while i < b.count, b[i] != UInt8(ascii: ","), b[i] != 0x0D {
                    guard b[i] != UInt8(ascii: "\""), b[i] != 0x0A else {
                        throw Failure(description: "a quote or bare LF in an unquoted field in row \(rows.count + 1)")
                    }
                    field.append(b[i])
                    i += 1
                }
            }
            row.append(String(decoding: field, as: UTF8.self))
            guard i < b.count else { throw Failure(description: "the last record does not end with CRLF") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A else {
                throw Failure(description: "text after a field, or CR without LF, in row \(rows.count + 1)")
            }
            i += 2
            rows.append(row)
            row = []
        }
        return rows
    }
}

enum ProcessMemory {
    /// VmRSS of this process in bytes (Linux `/proc/self/status`).
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else {
            throw TestEnvironmentError("no VmRSS line in /proc/self/status")
        }
        return kb * 1024
    }
}

/// Building message values by hand, member by member, so a test controls every byte.
enum Wire {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// `{"k":v,...}` from raw JSON member values.
    static func object(_ members: [(String, String)]) -> [UInt8] {
        b("{" + members.map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ",") + "}")
    }

    static func str(_ s: String) -> String { JSONText.string(s) }

    static let rdMembers: [(String, String)] = [
        ("schema", #""sti.rd/1""#), ("county", #""530102""#), ("revision", "1"),
        ("submitted_at", #""2026-01-15T09:30:00+08:00""#), ("year", "2025"), ("performer", #""other""#),
        ("expenditure_10k_cny", "5"),
    ]
    static let contractMembers: [(String, String)] = [
        ("schema", #""sti.tech-contract/1""#), ("county", #""530102""#), ("revision", "1"),
        ("submitted_at", #""2026-01-15T09:30:00+08:00""#), ("contract_no", #""HT-2025-001""#),
        ("registered_on", #""2025-03-01""#), ("contract_type", #""development""#), ("domain", #""biomedicine""#),
        ("contract_value_10k_cny", "100"), ("tech_transaction_value_10k_cny", "80"), ("buyer_country", #""CN""#),
    ]
    static let profileMembers: [(String, String)] = [
        ("schema", #""sti.county-profile/1""#), ("county", #""530102""#), ("revision", "1"),
        ("submitted_at", #""2026-01-15T09:30:00+08:00""#), ("year", "2025"), ("gdp_100m_cny", "1000"),
        ("resident_population_10k", "100"), ("industrial_output_100m_cny", "300"),
        ("high_tech_industrial_output_100m_cny", "100"),
    ]

    /// `base` with members replaced (a nil value removes the member) and `extra` appended.
    static func edit(_ base: [(String, String)], _ changes: [String: String?] = [:], extra: [(String, String)] = [])
        -> [UInt8]
    {
        var members: [(String, String)] = []
        for (k, v) in base {
            if let change = changes[k] {
                if let change { members.append((k, change)) }
            } else {
                members.append((k, v))
            }
        }
        return object(members + extra)
    }

    static func rd(_ changes: [String: String?] = [:], extra: [(String, String)] = []) -> [UInt8] {
        edit(rdMembers, changes, extra: extra)
    }
    static func contract(_ changes: [String: String?] = [:], extra: [(String, String)] = []) -> [UInt8] {
        edit(contractMembers, changes, extra: extra)
    }
    static func profile(_ changes: [String: String?] = [:], extra: [(String, String)] = []) -> [UInt8] {
        edit(profileMembers, changes, extra: extra)
    }

    /// Deterministic pseudo-random bytes (xorshift).
    static func garbage(count: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }
}

/// The snapshot folder `latest` points at, and its files.
enum Snapshot {
    /// Every file of the latest snapshot by its path under the run folder (`records/2024/rd.csv`).
    static func files(out: URL) throws -> [String: String] {
        let dir = out.appendingPathComponent("latest").resolvingSymlinksInPath()
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: dir.path)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir.path + "/" + name, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            if name.hasSuffix(".xlsx") {
                // A workbook: the text of its XML parts, inflated, so that searches see inside it.
                let archive = try Archive(url: dir.appendingPathComponent(name), accessMode: .read)
                var text = ""
                for entry in archive {
                    var data = Data()
                    _ = try archive.extract(entry) { data.append($0) }
                    text += String(decoding: data, as: UTF8.self) + "\n"
                }
                files[name] = text
                continue
            }
            files[name] = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        }
        return files
    }
}
