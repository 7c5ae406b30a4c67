// `manifest.json` of a run folder (section 8), and the UTC time texts it and the run id use.

public import Foundation

/// The consumed range of one topic-partition in a run: offsets `firstOffset ..< endOffset`.
public struct TopicPartitionRange: Codable, Sendable, Hashable, Comparable {
    public var topic: String
    public var partition: Int32
    /// The first offset consumed.
    public var firstOffset: Int64
    /// One past the last offset consumed.
    public var endOffset: Int64

    public init(topic: String, partition: Int32, firstOffset: Int64, endOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.firstOffset = firstOffset
        self.endOffset = endOffset
    }

    public static func < (a: TopicPartitionRange, b: TopicPartitionRange) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }

    enum CodingKeys: String, CodingKey {
        case topic, partition
        case firstOffset = "first_offset"
        case endOffset = "end_offset"
    }
}

/// A run's message counts. `read` = `accepted` + `duplicates` + `rejected` + `held` when every
/// message read was decided (section 8; the pipeline's bookkeeping, not checked here).
public struct RunCounts: Codable, Sendable, Hashable {
    public var read: Int
    /// Messages that became the current record of their identity.
    public var accepted: Int
    public var duplicates: Int
    /// Rejected messages per code. A message with several codes is counted once under each,
    /// so the sum may exceed `rejected`.
    public var rejectedByCode: [ErrorCode: Int]
    /// Rejected messages (each once).
    public var rejected: Int
    /// Messages held for plausibility warnings (section 5a), each once.
    public var held: Int
    /// Held messages per `W_` code; a message with several codes is counted once under each.
    public var heldByCode: [WarningCode: Int]

    public init(
        read: Int = 0, accepted: Int = 0, duplicates: Int = 0, rejected: Int = 0,
        rejectedByCode: [ErrorCode: Int] = [:],
        held: Int = 0, heldByCode: [WarningCode: Int] = [:]
    ) {
        self.read = read
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
        self.rejectedByCode = rejectedByCode
        self.held = held
        self.heldByCode = heldByCode
    }

    enum CodingKeys: String, CodingKey {
        case read, accepted, duplicates, rejected
        case rejectedByCode = "rejected_by_code"
        case held
        case heldByCode = "held_by_code"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(read, forKey: .read)
        try c.encode(accepted, forKey: .accepted)
        try c.encode(duplicates, forKey: .duplicates)
        try c.encode(rejected, forKey: .rejected)
        // Keyed by the code text; codes with a zero count are left out.
        let byCode = Dictionary(
            uniqueKeysWithValues: rejectedByCode.filter { $0.value != 0 }.map { ($0.key.rawValue, $0.value) })
        try c.encode(byCode, forKey: .rejectedByCode)
        try c.encode(held, forKey: .held)
        let heldCodes = Dictionary(
            uniqueKeysWithValues: heldByCode.filter { $0.value != 0 }.map { ($0.key.rawValue, $0.value) })
        try c.encode(heldCodes, forKey: .heldByCode)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        read = try c.decode(Int.self, forKey: .read)
        accepted = try c.decode(Int.self, forKey: .accepted)
        duplicates = try c.decode(Int.self, forKey: .duplicates)
        rejected = try c.decode(Int.self, forKey: .rejected)
        var byCode: [ErrorCode: Int] = [:]
        for (k, v) in try c.decode([String: Int].self, forKey: .rejectedByCode) {
            guard let code = ErrorCode(rawValue: k) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .rejectedByCode, in: c, debugDescription: "unknown code \(k)")
            }
            byCode[code] = v
        }
        rejectedByCode = byCode
        // Absent in manifests written before protocol version 2 (nothing was held then).
        held = try c.decodeIfPresent(Int.self, forKey: .held) ?? 0
        var heldCodes: [WarningCode: Int] = [:]
        for (k, v) in try c.decodeIfPresent([String: Int].self, forKey: .heldByCode) ?? [:] {
            guard let code = WarningCode(rawValue: k) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .heldByCode, in: c, debugDescription: "unknown code \(k)")
            }
            heldCodes[code] = v
        }
        heldByCode = heldCodes
    }
}

/// One CSV file of a run folder as listed in the manifest.
public struct ManifestFile: Codable, Sendable, Hashable {
    public var name: String
    /// Data rows, the header line excluded.
    public var rows: Int
    /// SHA-256 of the file's bytes, lower-case hex.
    public var sha256: String
    public init(name: String, rows: Int, sha256: String) {
        self.name = name
        self.rows = rows
        self.sha256 = sha256
    }
}

/// `manifest.json`: what a run read, what it decided, and what it wrote (section 8). Written
/// last into the run folder, so a folder with a manifest is complete.
public struct Manifest: Codable, Sendable, Hashable {
    public var runId: String
    /// RFC 3339 UTC, whole seconds (`2026-01-15T01:30:00Z`).
    public var startedAt: String
    public var finishedAt: String
    public var programVersion: String
    /// `enabled` when a keys file was given, else `disabled` (section 4).
    public var authentication: String
    /// Every topic-partition consumed, sorted by topic then partition.
    public var offsets: [TopicPartitionRange]
    public var counts: RunCounts
    /// The run `latest` pointed to before this one; nil for the first run.
    public var previousRunId: String?
    /// `indicators.csv`, `completeness.csv`, `rejections.csv`, `warnings.csv`, in that order.
    public var files: [ManifestFile]

    public init(
        runId: String, startedAt: String, finishedAt: String, programVersion: String, authentication: String,
        offsets: [TopicPartitionRange], counts: RunCounts, previousRunId: String?, files: [ManifestFile]
    ) {
        self.runId = runId
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.programVersion = programVersion
        self.authentication = authentication
        self.offsets = offsets
        self.counts = counts
        self.previousRunId = previousRunId
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case runId = "run_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case programVersion = "program_version"
        case authentication, offsets, counts
        case previousRunId = "previous_run_id"
        case files
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runId, forKey: .runId)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(programVersion, forKey: .programVersion)
        try c.encode(authentication, forKey: .authentication)
        try c.encode(offsets, forKey: .offsets)
        try c.encode(counts, forKey: .counts)
        // Always present: `null` says "first run" explicitly.
        if let previousRunId {
            try c.encode(previousRunId, forKey: .previousRunId)
        } else {
            try c.encodeNil(forKey: .previousRunId)
        }
        try c.encode(files, forKey: .files)
    }

    /// The manifest as written: pretty-printed JSON with keys sorted (deterministic), UTF-8,
    /// ending in a newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Reads a `manifest.json`.
    public static func load(contentsOf url: URL) throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
    }
}

/// The UTC time texts of section 8, computed with integer calendar arithmetic (no locale,
/// no formatter state).
public enum UTCTime {
    /// `YYYYMMDDTHHMMSSZ`, the base of a run id.
    public static func runIdBase(_ date: Date) -> String {
        let c = components(date)
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2) + "Z"
    }

    /// RFC 3339 in UTC with whole seconds: `2026-01-15T01:30:00Z`.
    public static func rfc3339(_ date: Date) -> String {
        let c = components(date)
        return
            "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// Civil date and time of a moment, seconds truncated toward the past.
    static func components(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = Civil.floorDiv(t, 86_400)
        let secs = Int(t - days * 86_400)
        let civil = CalendarDate(daysSinceEpoch: days)
        return (civil.year, civil.month, civil.day, secs / 3_600, secs % 3_600 / 60, secs % 60)
    }
}
