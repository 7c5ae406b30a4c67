public import Foundation
public import Kafka
public import STIProtocol
import Synchronization

/// The county bureau's side: read feed files, check every row with the aggregator's own
/// validator, and only if every row passes, send them all (signed when given a key) and wait
/// for every delivery report.
public struct Submitter: Sendable {
    public struct Options: Sendable {
        public var kind: RecordKind?
        public var county: String?
        public var encoding: FeedReader.Encoding
        public var registry: Registry
        public var topicPrefix: String
        /// For `.xlsx` feeds: the sheet to read (default: the first).
        public var sheet: String?
        public init(
            kind: RecordKind? = nil, county: String? = nil, encoding: FeedReader.Encoding = .utf8,
            registry: Registry = .kunming, topicPrefix: String = Defaults.topicPrefix
        ) {
            self.kind = kind
            self.county = county
            self.encoding = encoding
            self.registry = registry
            self.topicPrefix = topicPrefix
        }
    }

    /// One bad row: where it is and every rule it breaks.
    public struct RowProblem: Sendable, CustomStringConvertible {
        public var path: String
        public var line: Int?
        /// The rules the row breaks; empty when the whole file could not be read.
        public var errors: [FieldError]
        /// Why the file could not be read at all (encoding, header, format).
        public var fileError: FeedError?
        /// For a row of a workbook: which cell holds which field.
        public var sheet: SheetPlace?
        public var description: String {
            if let fileError { return fileError.description }
            if let sheet, let line {
                return errors.map { sheet.describeProblem($0, path: path, row: line) }.joined(separator: "\n")
            }
            let place = line.map { "\(path):\($0)" } ?? path
            return errors.map { "\(place): \($0.code.rawValue) \($0.field ?? "-"): \($0.message)" }.joined(
                separator: "\n")
        }
    }

    /// The rows of one file, checked.
    public struct CheckedFile: Sendable {
        public var path: String
        public var kind: RecordKind
        public var rows: [FeedReader.Row]
        /// The records of the valid rows, in row order (for the offline plausibility checks).
        public var valid: [ValidRow] = []
    }

    /// A valid row's record and where it starts.
    public struct ValidRow: Sendable {
        public var line: Int
        public var record: Record
    }

    public struct CheckResult: Sendable {
        public var files: [CheckedFile]
        public var problems: [RowProblem]
        public var rowCount: Int { files.reduce(0) { $0 + $1.rows.count } }
    }

    public var options: Options
    public init(options: Options) { self.options = options }

    /// A row the aggregator would hold (section 5a): valid, but a plausibility rule fires and
    /// the row has no `explanation`.
    public struct RowWarning: Sendable, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var warning: PlausibilityWarning
        public var description: String {
            "\(path):\(line): warning \(warning.code.rawValue) \(warning.field): \(warning.finding); "
                + "if the figure is right, add an `explanation` column saying why, or the aggregator will hold this row (section 5a)"
        }
    }

    /// The plausibility warnings the bureau can know before sending (section 5a, offline): the
    /// single-record rules, and year-on-year between rows of the files given (the previous
    /// year's row of the same identity, the highest revision among the rows). Rows with an
    /// explanation are not listed: the aggregator accepts them and keeps their warnings.
    public func warnings(of checked: CheckResult) -> [RowWarning] {
        // Only the kinds with a year-on-year rule are ever looked up (a tech contract has no
        // previous year's record: `Plausibility.previousYearIdentity` is nil for it, and every
        // identity names its kind), so only they go into `latest`. A profile of `sti submit`
        // showed this map, built for every tech contract too, as a quarter of its time.
        var latest: [String: Record] = [:]
        for file in checked.files {
            for row in file.valid {
                if case .techContract = row.record.body { continue }
                let identity = row.record.identity
                if (latest[identity]?.revision ?? 0) <= row.record.revision { latest[identity] = row.record }
            }
        }
        var warnings: [RowWarning] = []
        for file in checked.files {
            for row in file.valid where row.record.explanation == nil {
                for warning in Plausibility.warnings(for: row.record, current: { latest[$0] }) {
                    warnings.append(RowWarning(path: file.path, line: row.line, warning: warning))
                }
            }
        }
        return warnings
    }

    /// The producer configuration for submissions: `clientId`, the caller's librdkafka
    /// properties, and Kafka's murmur2 partitioner, which section 2 makes the rule (librdkafka's
    /// own default, CRC32, puts a county on another partition, and the aggregator would refuse
    /// the message with `E_PARTITION`). A `partitioner` property other than murmur2 is refused.
    public static func producerConfiguration(bootstrapServers: String, properties: [String: String] = [:])
        throws(SubmitConfigurationError) -> KafkaConfiguration
    {
        var config = KafkaConfiguration(bootstrapServers: bootstrapServers)
        config.clientId = "sti-submit"
        for (key, value) in properties { config.set(key, value) }
        if let chosen = properties["partitioner"], chosen != "murmur2_random", chosen != "murmur2" {
            throw SubmitConfigurationError(property: "partitioner", value: chosen)
        }
        if properties["partitioner"] == nil { config.set("partitioner", "murmur2_random") }
        return config
    }

    /// The kind of a feed file: `--kind` when given, else from the file name (`rd…`,
    /// `tech-contract…`, `county-profile…`).
    public func kind(of path: String) throws(FeedError) -> RecordKind {
        if let kind = options.kind { return kind }
        let name = (path as NSString).lastPathComponent.lowercased()
        // A file named after its kind (`rd-2025.csv`, `tech-contracts.csv`, `county_profiles.jsonl`).
        for kind in RecordKind.allCases
        where name.hasPrefix(kind.rawValue) || name.hasPrefix(kind.rawValue.replacingOccurrences(of: "-", with: "_")) {
            return kind
        }
        let kinds = RecordKind.allCases.map(\.rawValue).joined(separator: "|")
        throw FeedError(path: path, line: nil, "cannot tell the record kind from the file name: pass --kind \(kinds)")
    }

    /// Reads and validates every row of every file (offline: no broker). Every bad row is
    /// reported, not only the first.
    public func check(paths: [String], submittedAt: String, now: Date = Date()) -> CheckResult {
        var result = CheckResult(files: [], problems: [])
        let validator = MessageValidator(registry: options.registry, keyRing: nil, now: { now })
        let millis = Int64(now.timeIntervalSince1970 * 1000)
        for path in paths {
            let kind: RecordKind
            let rows: [FeedReader.Row]
            do {
                kind = try self.kind(of: path)
                var reader = FeedReader(
                    kind: kind, county: options.county, encoding: options.encoding, submittedAt: submittedAt)
                reader.sheet = options.sheet
                rows = try reader.read(path: path)
            } catch {
                result.problems.append(RowProblem(path: path, line: error.line, errors: [], fileError: error))
                continue
            }
            let checked = Self.validate(rows, path: path, kind: kind, validator: validator, millis: millis)
            result.problems += checked.problems
            result.files.append(CheckedFile(path: path, kind: kind, rows: rows, valid: checked.valid))
        }
        return result
    }

    /// Validates rows in a few slices at once: the problems and the valid rows' records, both in
    /// row order. The broker has nothing to do while a feed is checked, and checking is most of
    /// `sti submit`'s time.
    static func validate(
        _ rows: [FeedReader.Row], path: String, kind: RecordKind, validator: MessageValidator,
        millis: Int64
    ) -> (problems: [RowProblem], valid: [ValidRow]) {
        let slices = rows.count < 4_096 ? 1 : max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let found = Mutex([(problems: [RowProblem], valid: [ValidRow])](repeating: ([], []), count: slices))
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            var problems: [RowProblem] = []
            var valid: [ValidRow] = []
            for row in rows[rows.count * slice / slices..<rows.count * (slice + 1) / slices] {
                let outcome = row.value.withUnsafeBytes { value in
                    withKey(row.key) { key in
                        validator.validate(
                            InboundMessage(
                                topicKind: kind, key: key, value: value, timestampMillis: millis,
                                timestampSource: .localClock))
                    }
                }
                switch outcome {
                case .failure(let failure):
                    problems.append(
                        RowProblem(path: path, line: row.line, errors: failure.errors, fileError: nil, sheet: row.sheet)
                    )
                case .success(let record): valid.append(ValidRow(line: row.line, record: record))
                }
            }
            found.withLock { $0[slice] = (problems, valid) }
        }
        return found.withLock { ($0.flatMap(\.problems), $0.flatMap(\.valid)) }
    }

    static func withKey<T>(_ key: String?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
        guard let key else { return body(nil) }
        var copy = key
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// What a submission did.
    public struct Report: Sendable {
        public var sent: Int
        public var failed: [(path: String, line: Int, error: String)]
    }

    /// Sends checked rows. Signs each value when `signer` is given. Waits for every delivery
    /// report (up to `timeout`); rows whose delivery failed are listed by file and line.
    /// How messages are signed: with one named key, or (`keyId` nil) with the key the ring holds
    /// for each row's county at the time of sending (the demo signs as every bureau at once).
    public struct Signer: Sendable {
        public var keyRing: KeyRing
        public var keyId: String?
        public init(keyRing: KeyRing, keyId: String?) {
            self.keyRing = keyRing
            self.keyId = keyId
        }
    }

    public func send(
        _ checked: CheckResult, producer: KafkaProducer, signer: Signer?,
        timeout: Duration, progress: ((Int, Int) -> Void)? = nil
    ) throws -> Report {
        var index: [(path: String, line: Int)] = []
        index.reserveCapacity(checked.rowCount)
        let total = checked.rowCount
        for file in checked.files {
            let topic = file.kind.topic(prefix: options.topicPrefix)
            for row in file.rows {
                var headers: [KafkaHeader] = []
                if let signer {
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    guard
                        let keyId = signer.keyId
                            ?? row.key.flatMap({ signer.keyRing.signingKeyId(county: $0, atMillis: now) })
                    else {
                        throw FeedError(
                            path: file.path, line: row.line,
                            "no signing key for county \(row.key ?? "(none)") in the keys file")
                    }
                    let signature = try signer.keyRing.sign(value: row.value, keyId: keyId)
                    headers = [
                        KafkaHeader(key: "sti-key-id", string: keyId),
                        KafkaHeader(key: "sti-signature", string: signature),
                    ]
                }
                let tag = index.count
                index.append((file.path, row.line))
                try producer.send(
                    topic: topic, key: row.key.map { Array($0.utf8) }, value: row.value, headers: headers, tag: tag)
                if let progress, tag % 1000 == 999 { progress(tag + 1, total) }
            }
        }
        try producer.flush(timeout: timeout)
        progress?(total, total)
        let failures = producer.takeFailures().map { report in
            (
                path: index[report.tag].path, line: index[report.tag].line,
                error: report.error.map { "\($0)" } ?? "not delivered"
            )
        }
        return Report(sent: total - failures.count, failed: failures)
    }
}

/// A producer property that would break the protocol, refused before anything is sent.
public struct SubmitConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var property: String
    public var value: String
    public var description: String {
        "\(property)=\(value) is not allowed: section 2 of the protocol puts a county on partition murmur2(key) mod N, so the partitioner must be murmur2_random (or murmur2)"
    }
}
