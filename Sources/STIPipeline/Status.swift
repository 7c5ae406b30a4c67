public import Foundation
import Kafka
public import STIProtocol

/// Why `sti status` (or the lag measured after a run) could not be collected.
public struct StatusError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The state file is missing or cannot be read.
        case stateUnreadable
        /// A topic of the layout does not exist on the brokers.
        case topicMissing
        /// The brokers could not be reached or did not answer.
        case brokers
    }

    public var code: Code
    public var description: String
    /// The state store's error for `stateUnreadable` (its code tells a missing state from a
    /// locked or damaged one), kept as it was thrown.
    public var stateError: StateStoreError?

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    init(state: StateStoreError) {
        self.init(.stateUnreadable, state.description)
        stateError = state
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.code == b.code && a.description == b.description && a.stateError?.code == b.stateError?.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(description)
    }
}

/// What `sti status` reports: per partition how far the aggregator has read and how far the
/// log goes, the last snapshot, and which counties have sent what for the latest year.
public struct StatusReport: Codable, Sendable {
    public struct Partition: Codable, Sendable {
        public var topic: String
        public var partition: Int32
        /// The next offset the aggregator will read (0 when it never read this partition).
        public var storedOffset: Int64
        /// One past the last message in the log, found by fetching to the end.
        public var endOffset: Int64
        /// Messages not yet read: `endOffset - storedOffset`, 0 when the stored offset is past the end.
        public var lag: Int64
        /// The stored offset is past the end of the log: the topic was deleted and recreated (or
        /// truncated), and the next aggregation run stops with an error saying so.
        public var storedBeyondEnd: Bool = false
    }

    public struct Snapshot: Codable, Sendable {
        public var runId: String
        public var finishedAt: String
        public var ageSeconds: Int
        public var counts: RunCounts
        public var authentication: String
    }

    public struct CountyCompleteness: Codable, Sendable {
        public var code: String
        public var nameZh: String
        public var rd: Int
        public var techContract: Int
        public var countyProfile: Int

        /// The count of one kind (the JSON keeps one named member per kind).
        public subscript(kind: RecordKind) -> Int {
            get {
                switch kind {
                case .rd: rd
                case .techContract: techContract
                case .countyProfile: countyProfile
                }
            }
            set {
                switch kind {
                case .rd: rd = newValue
                case .techContract: techContract = newValue
                case .countyProfile: countyProfile = newValue
                }
            }
        }

        init(code: String, nameZh: String, count: (RecordKind) -> Int) {
            self.code = code
            self.nameZh = nameZh
            rd = 0
            techContract = 0
            countyProfile = 0
            for kind in RecordKind.allCases { self[kind] = count(kind) }
        }
    }

    public var brokers: String
    public var partitions: [Partition]
    public var totalLag: Int64
    public var lastSnapshot: Snapshot?
    public var latestYear: Int?
    public var completeness: [CountyCompleteness]
    /// What needs an operator, one sentence each (empty when all is well).
    public var problems: [String] = []

    enum CodingKeys: String, CodingKey {
        case brokers, partitions
        case totalLag = "total_lag"
        case lastSnapshot = "last_snapshot"
        case latestYear = "latest_year"
        case completeness, problems
    }
}

extension StatusReport.Partition {
    enum CodingKeys: String, CodingKey {
        case topic, partition
        case storedOffset = "stored_offset"
        case endOffset = "end_offset"
        case lag
        case storedBeyondEnd = "stored_beyond_end"
    }
}
extension StatusReport.Snapshot {
    enum CodingKeys: String, CodingKey {
        case runId = "run_id"
        case finishedAt = "finished_at"
        case ageSeconds = "age_seconds"
        case counts, authentication
    }
}
extension StatusReport.CountyCompleteness {
    enum CodingKeys: String, CodingKey {
        case code
        case nameZh = "name_zh"
        case rd
        case techContract = "tech_contract"
        case countyProfile = "county_profile"
    }
}

/// Collects a `StatusReport` from the state file, the brokers and the snapshot folder.
public struct StatusProbe: Sendable {
    public var brokers: String
    public var statePath: String
    public var out: URL
    public var registry: Registry
    public var topicPrefix: String
    public var kafkaProperties: [String: String]
    public var timeout: Duration

    public init(
        brokers: String, statePath: String, out: URL, registry: Registry = .kunming,
        topicPrefix: String = Defaults.topicPrefix,
        kafkaProperties: [String: String] = [:], timeout: Duration = .seconds(30)
    ) {
        self.brokers = brokers
        self.statePath = statePath
        self.out = out
        self.registry = registry
        self.topicPrefix = topicPrefix
        self.kafkaProperties = kafkaProperties
        self.timeout = timeout
    }

    public func collect(now: Date = Date()) throws(StatusError) -> StatusReport {
        let partitions = try consumerLag()
        var report = StatusReport(
            brokers: brokers, partitions: partitions, totalLag: partitions.reduce(0) { $0 + $1.lag },
            lastSnapshot: nil, latestYear: nil, completeness: [])
        for p in partitions where p.storedBeyondEnd {
            report.problems.append(
                "\(p.topic)[\(p.partition)]: the state read up to offset \(p.storedOffset), but the log ends at \(p.endOffset): "
                    + "the topic was deleted and recreated (or truncated); the next aggregation run stops with an error that says what to do"
            )
        }
        let writer = SnapshotWriter(out: out)
        if let runId = writer.latestRunId() {
            let runDir = out.appendingPathComponent("runs/\(runId)")
            if let manifest = try? Manifest.load(contentsOf: runDir.appendingPathComponent(SnapshotWriter.manifestFile))
            {
                let finished = Self.parseUTC(manifest.finishedAt)
                report.lastSnapshot = .init(
                    runId: runId, finishedAt: manifest.finishedAt,
                    ageSeconds: finished.map { Int(now.timeIntervalSince($0)) } ?? -1,
                    counts: manifest.counts, authentication: manifest.authentication)
            }
            report.latestYear = nil
            if let text = try? String(
                contentsOf: runDir.appendingPathComponent(SnapshotWriter.completenessFile), encoding: .utf8)
            {
                (report.latestYear, report.completeness) = Self.latestCompleteness(csv: text, registry: registry)
            }
        }
        return report
    }

    /// Per submission partition, sorted: the stored offset from the state file, the end of the
    /// log from the brokers, and the difference.
    public func consumerLag() throws(StatusError) -> [StatusReport.Partition] {
        let store: SQLiteStateStore
        do { store = try SQLiteStateStore(readingFrom: statePath) } catch {
            throw StatusError(state: error)
        }
        let stored: [TopicPartitionKey: Int64]
        do { stored = try store.offsets() } catch { throw StatusError(state: error) }
        let ends = try logEnds()
        return ends.keys.sorted().map { key in
            let offset = stored[key] ?? 0
            return StatusReport.Partition(
                topic: key.topic, partition: key.partition, storedOffset: offset,
                endOffset: ends[key]!, lag: max(0, ends[key]! - offset), storedBeyondEnd: offset > ends[key]!)
        }
    }

    /// The end of every submission partition, by fetching to partition EOF from the reported
    /// high watermark (`KafkaConsumer.logEnds`): Tansu's ListOffsets(latest) can report too low
    /// an offset, EOF never does, and at most the last batch is read again. Starting there, and
    /// not at the stored offset, also ends promptly when the stored offset is past the end
    /// (a recreated topic), where Tansu answers fetches with nothing at all.
    func logEnds() throws(StatusError) -> [TopicPartitionKey: Int64] {
        var config = KafkaConfiguration(bootstrapServers: brokers)
        config.clientId = "sti-status"
        for (key, value) in kafkaProperties { config.set(key, value) }
        let topics = RecordKind.allCases.map { $0.topic(prefix: topicPrefix) }
        do {
            let metadata = try KafkaAdmin(configuration: config).metadata(timeout: timeout)
            var partitions: [KafkaPartition] = []
            config.groupId = "sti-status"
            config.set("enable.partition.eof", "true")
            config.set("auto.offset.reset", "error")
            if kafkaProperties["fetch.wait.max.ms"] == nil { config.set("fetch.wait.max.ms", "100") }
            let consumer = try KafkaConsumer(configuration: config)
            defer { try? consumer.close() }
            for topic in topics {
                guard let entry = metadata.first(where: { $0.name == topic }), entry.error == nil else {
                    throw StatusError(.topicMissing, "topic \(topic) does not exist on the brokers at \(brokers)")
                }
                partitions += entry.partitions.map { KafkaPartition(topic: topic, partition: $0) }
            }
            return try consumer.logEnds(of: partitions, timeout: timeout)
        } catch let error as StatusError {
            throw error
        } catch {
            throw StatusError(.brokers, "cannot read the log ends from the brokers at \(brokers): \(error)")
        }
    }

    /// Counts per registry geography and kind for the latest year in a `completeness.csv`,
    /// read as CSV (RFC 4180, columns found by their header names, section 8), so a quoted
    /// `geo_name_zh` holding a comma cannot shift the columns.
    static func latestCompleteness(csv: String, registry: Registry) -> (Int?, [StatusReport.CountyCompleteness]) {
        var rows: [(year: Int, geo: String, kind: String, records: Int)] = []
        var text = csv
        text.withUTF8 { bytes in
            var reader = CSVRowReader(bytes)
            guard let header = try? reader.next(),
                let yearAt = header.firstIndex(of: "year"), let geoAt = header.firstIndex(of: "geo_code"),
                let kindAt = header.firstIndex(of: "kind"), let recordsAt = header.firstIndex(of: "records")
            else { return }
            let width = max(yearAt, geoAt, kindAt, recordsAt)
            while let cells = try? reader.next() {
                guard cells.count > width, let year = Int(cells[yearAt]), let records = Int(cells[recordsAt]) else {
                    continue
                }
                rows.append((year, cells[geoAt], cells[kindAt], records))
            }
        }
        guard let year = rows.map(\.year).max() else { return (nil, []) }
        let result = registry.geographies.map { geo in
            StatusReport.CountyCompleteness(code: geo.code, nameZh: geo.nameZh) { kind in
                rows.first { $0.year == year && $0.geo == geo.code && $0.kind == kind.rawValue }?.records ?? 0
            }
        }
        return (year, result)
    }

    static func parseUTC(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// The human table.
    public static func render(_ report: StatusReport) -> String {
        var lines: [String] = []
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        lines.append("brokers \(report.brokers)")
        lines.append(pad("topic", 22) + pad("partition", 10) + pad("stored", 12) + pad("end", 12) + "lag")
        for p in report.partitions {
            lines.append(
                pad(p.topic, 22) + pad(String(p.partition), 10) + pad(String(p.storedOffset), 12)
                    + pad(String(p.endOffset), 12) + (p.storedBeyondEnd ? "past the end" : String(p.lag)))
        }
        lines.append("total lag \(report.totalLag)")
        for problem in report.problems { lines.append("PROBLEM: \(problem)") }
        if let s = report.lastSnapshot {
            lines.append(
                "last snapshot \(s.runId), finished \(s.finishedAt) (\(s.ageSeconds) s ago): read \(s.counts.read), accepted \(s.counts.accepted), duplicates \(s.counts.duplicates), rejected \(s.counts.rejected), held \(s.counts.held); authentication \(s.authentication)"
            )
        } else {
            lines.append("no snapshot yet")
        }
        if let year = report.latestYear {
            lines.append("completeness \(year) (current active records):")
            let kinds = RecordKind.allCases.map { (kind: $0, head: RecordCatalogue.record($0).statusColumn) }
            func width(_ head: String) -> Int { max(head.count + 2, 6) }
            lines.append(pad("code", 9) + kinds.map { pad($0.head, width($0.head)) }.joined() + "name")
            for c in report.completeness {
                lines.append(pad(c.code, 9) + kinds.map { pad(String(c[$0.kind]), width($0.head)) }.joined() + c.nameZh)
            }
        }
        return lines.joined(separator: "\n")
    }
}
