import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// One kind of malformed message for the hostile topic, and the codes it must get.
struct HostileKind: Sendable, CustomStringConvertible {
    var name: String
    var topic: RecordKind
    /// Values of tens of kilobytes are repeated less, to stay inside the mock broker's storage.
    var large: Bool
    var codes: [ErrorCode]
    /// Sent to a partition other than the one its key maps to (section 2).
    var misplaced = false
    /// Key, value and headers for a message from `county` (a registry code).
    var make:
        @Sendable (_ county: String, _ keys: TestKeys) throws -> (key: [UInt8]?, value: [UInt8], headers: [KafkaHeader])
    var description: String { name }

    /// Keyed by `county`, signed with its key: only the content is wrong.
    static func signed(
        _ name: String, on topic: RecordKind = .rd, large: Bool = false, _ codes: [ErrorCode],
        _ value: @escaping @Sendable (String) -> [UInt8]
    ) -> HostileKind {
        HostileKind(name: name, topic: topic, large: large, codes: codes) { county, keys in
            let v = value(county)
            return (Array(county.utf8), v, try keys.headers(v, keyId: "\(county)-test"))
        }
    }
}

/// The hostile mix (issue 5, point 3): every protocol error code, binary garbage, NUL bytes,
/// invalid UTF-8, a `\ud800` escape, duplicate keys, a number literal close to 65,536 bytes,
/// 10,000-digit integers, deep nesting, overlong strings, a byte-order mark.
enum HostileTopic {
    typealias W = Wire
    static func c(_ county: String) -> [String: String?] { ["county": W.str(county)] }
    static func rd(_ county: String, _ changes: [String: String?] = [:], extra: [(String, String)] = []) -> [UInt8] {
        W.rd(c(county).merging(changes) { $1 }, extra: extra)
    }
    /// A valid rd message with `raw` spliced in as the contents of a string member `x`.
    static func rawString(_ county: String, _ raw: [UInt8]) -> [UInt8] {
        Array(rd(county).dropLast()) + W.b(#","x":""#) + raw + W.b("\"}")
    }
    /// An rd message whose `expenditure_10k_cny` literal is `digits`, padded with spaces after
    /// the literal so the whole value is exactly `total` bytes.
    static func numberValue(_ county: String, digits: Int, total: Int) -> [UInt8] {
        let head = Array(rd(county, ["expenditure_10k_cny": nil]).dropLast()) + W.b(#","expenditure_10k_cny":"#)
        let literal = W.b("1") + [UInt8](repeating: 0x30, count: digits - 1)
        let pad = total - head.count - literal.count - 1
        precondition(pad >= 0, "number literal too long for \(total) bytes")
        return head + literal + [UInt8](repeating: 0x20, count: pad) + Wire.b("}")
    }

    static let kinds: [HostileKind] = [
        // E_ENCODING
        .signed("binary garbage", [.encoding]) { _ in W.garbage(count: 512, seed: 0x9E37_79B9_7F4A_7C15) },
        .signed("NUL bytes and 0xFF", [.encoding]) { _ in [0, 0, 0xFF, 0xFE, 0] + W.garbage(count: 64, seed: 7) },
        .signed("0xFF inside a string", [.encoding]) { rawString($0, [0xFF]) },
        .signed("overlong '/' C0 AF", [.encoding]) { rawString($0, [0xC0, 0xAF]) },
        .signed("UTF-8-encoded surrogate ED A0 80", [.encoding]) { rawString($0, [0xED, 0xA0, 0x80]) },
        .signed("truncated 4-byte sequence at the end", [.encoding]) { rd($0) + [0xF0, 0x9F] },
        // E_SIZE
        .signed("65,537 bytes of spaces", large: true, [.size]) { _ in [UInt8](repeating: 0x20, count: 65_537) },
        .signed("number literal making the value 65,537 bytes", large: true, [.size]) {
            numberValue($0, digits: 65_300, total: 65_537)
        },
        // Just inside the size rule: read, and refused as out of range.
        .signed("number literal making the value exactly 65,536 bytes", large: true, [.range]) {
            numberValue($0, digits: 65_300, total: 65_536)
        },
        // E_JSON
        .signed("empty value", [.json]) { _ in [] },
        .signed("a NUL byte", [.json]) { _ in [0] },
        .signed("NUL bytes after the object", [.json]) { rd($0) + [0, 0] },
        .signed("raw NUL inside a string", [.json]) { rawString($0, [0x41, 0x00, 0x42]) },
        .signed("escaped lone surrogate \\ud800", [.json]) { rd($0, extra: [("x", #""\ud800""#)]) },
        .signed("duplicate key year", [.json]) { rd($0, extra: [("year", "2025")]) },
        .signed("duplicate key through an escape", [.json]) { Array(rd($0).dropLast()) + W.b(#","ye\u0061r":2025}"#) },
        .signed("byte-order mark before the object", [.json]) { [0xEF, 0xBB, 0xBF] + rd($0) },
        .signed("nesting 9 deep", [.json]) { rd($0, extra: [("x", "[[[[[[[[1]]]]]]]]")]) },
        .signed("60,000 '[' in a member", large: true, [.json]) { _ in
            W.b(#"{"x":"#) + [UInt8](repeating: 0x5B, count: 60_000)
        },
        .signed("top-level array", [.json]) { W.b("[") + rd($0) + W.b("]") },
        .signed("two objects", [.json]) { rd($0) + W.b("{}") },
        .signed("trailing comma", [.json]) { Array(rd($0).dropLast()) + W.b(",}") },
        .signed("NaN amount", [.json]) { rd($0, ["expenditure_10k_cny": "NaN"]) },
        .signed("leading zero", [.json]) { rd($0, ["expenditure_10k_cny": "0123"]) },
        .signed("a comment", [.json]) { W.b("/* c */") + rd($0) },
        .signed("single quotes", [.json]) { _ in W.b("{'schema':'sti.rd/1'}") },
        // E_SCHEMA
        .signed("empty object", [.schema]) { _ in W.b("{}") },
        .signed("unknown schema", [.schema]) { rd($0, ["schema": #""sti.rd/2""#]) },
        .signed("a contract on the R&D topic", [.schema]) { W.contract(c($0)) },
        .signed("schema as a number", [.schema]) { rd($0, ["schema": "1"]) },
        // E_FIELD_MISSING
        .signed("performer missing", [.fieldMissing]) { rd($0, ["performer": nil]) },
        .signed("submitted_at null", [.fieldMissing]) { rd($0, ["submitted_at": "null"]) },
        // E_FIELD_UNKNOWN
        .signed("an unknown field", [.fieldUnknown]) { rd($0, extra: [("note", #""x""#)]) },
        .signed("a field of another schema", [.fieldUnknown]) { rd($0, extra: [("contract_no", #""A-1""#)]) },
        .signed("6,000 unknown fields", large: true, [.fieldUnknown]) {
            rd($0, extra: (0..<6_000).map { ("u\($0)", "1") })
        },
        .signed("a 60,000-character key", large: true, [.fieldUnknown]) {
            rd($0, extra: [(String(repeating: "k", count: 60_000), "1")])
        },
        // E_TYPE
        .signed("year as a string", [.type]) { rd($0, ["year": #""2025""#]) },
        .signed("expenditure as a string", [.type]) { rd($0, ["expenditure_10k_cny": #""5""#]) },
        .signed("county as a number", [.type]) { rd($0, ["county": "530102"]) },
        // E_COUNTY (no key exists for an unknown county, so authentication fails too)
        HostileKind(name: "county not in the registry", topic: .rd, large: false, codes: [.county, .auth]) {
            county, keys in
            let v = rd("999999")
            return (W.b("999999"), v, try keys.headers(v, keyId: "\(county)-test"))
        },
        // E_KEY_MISMATCH
        HostileKind(name: "key differs from county", topic: .rd, large: false, codes: [.keyMismatch]) { county, keys in
            let v = rd(county)
            return (W.b(county == "530103" ? "530102" : "530103"), v, try keys.headers(v, keyId: "\(county)-test"))
        },
        HostileKind(name: "no message key", topic: .rd, large: false, codes: [.keyMismatch]) { county, keys in
            let v = rd(county)
            return (nil, v, try keys.headers(v, keyId: "\(county)-test"))
        },
        // E_PARTITION: a valid, signed message on the wrong partition (kcat's CRC32 default).
        HostileKind(
            name: "on another partition than its key's", topic: .rd, large: false, codes: [.partition], misplaced: true
        ) { county, keys in
            let v = rd(county)
            return (W.b(county), v, try keys.headers(v, keyId: "\(county)-test"))
        },
        HostileKind(name: "binary message key", topic: .rd, large: false, codes: [.keyMismatch]) { county, keys in
            let v = rd(county)
            return ([0xFF, 0x00, 0x35], v, try keys.headers(v, keyId: "\(county)-test"))
        },
        // E_PERIOD
        .signed("year 1999", [.period]) { rd($0, ["year": "1999"]) },
        .signed("year 2999", [.period]) { rd($0, ["year": "2999"]) },
        .signed("10,000-digit year", large: true, [.period]) {
            rd($0, ["year": String(repeating: "7", count: 10_000)])
        },
        .signed("submitted_at on February 30", [.period]) { rd($0, ["submitted_at": #""2026-02-30T09:30:00+08:00""#]) },
        .signed("registered_on 2025-02-29", on: .techContract, [.period]) {
            W.contract(c($0).merging(["registered_on": #""2025-02-29""#]) { $1 })
        },
        // E_RANGE
        .signed("negative expenditure", [.range]) { rd($0, ["expenditure_10k_cny": "-1"]) },
        .signed("10,000-digit integer amount", large: true, [.range]) {
            rd($0, ["expenditure_10k_cny": "1" + String(repeating: "0", count: 9_999)])
        },
        .signed("revision 0", [.range]) { rd($0, ["revision": "0"]) },
        .signed("contract_no with a space", on: .techContract, [.range]) {
            W.contract(c($0).merging(["contract_no": #""HT 1""#]) { $1 })
        },
        .signed("65-character contract_no", on: .techContract, [.range]) {
            W.contract(c($0).merging(["contract_no": W.str(String(repeating: "A", count: 65))]) { $1 })
        },
        .signed("GDP zero", on: .countyProfile, [.range]) { W.profile(c($0).merging(["gdp_100m_cny": "0"]) { $1 }) },
        // E_PRECISION
        .signed("five fractional digits", [.precision]) { rd($0, ["expenditure_10k_cny": "1.00001"]) },
        .signed("exponent form", [.precision]) { rd($0, ["expenditure_10k_cny": "1e3"]) },
        .signed("year with a decimal point", [.precision]) { rd($0, ["year": "2025.0"]) },
        .signed("10,000-digit fraction", large: true, [.precision]) {
            rd($0, ["expenditure_10k_cny": "0." + String(repeating: "1", count: 10_000)])
        },
        // E_ENUM
        .signed("unknown performer", [.enumeration]) { rd($0, ["performer": #""nobody""#]) },
        .signed("status deleted", [.enumeration]) { rd($0, extra: [("status", #""deleted""#)]) },
        .signed("lower-case buyer_country", on: .techContract, [.enumeration]) {
            W.contract(c($0).merging(["buyer_country": #""cn""#]) { $1 })
        },
        // E_INCONSISTENT
        .signed("transaction value above contract value", on: .techContract, [.inconsistent]) {
            W.contract(c($0).merging(["tech_transaction_value_10k_cny": "100.0001"]) { $1 })
        },
        .signed("high-tech output above industrial output", on: .countyProfile, [.inconsistent]) {
            W.profile(c($0).merging(["high_tech_industrial_output_100m_cny": "300.5"]) { $1 })
        },
        .signed("an R&D record on the profile topic", on: .countyProfile, [.schema]) { rd($0) },
        // E_AUTH
        HostileKind(name: "unsigned", topic: .rd, large: false, codes: [.auth]) { county, _ in
            (W.b(county), rd(county), [])
        },
        HostileKind(name: "signature of other bytes", topic: .rd, large: false, codes: [.auth]) { county, keys in
            (W.b(county), rd(county), try keys.headers(rd(county, ["revision": "2"]), keyId: "\(county)-test"))
        },
        HostileKind(name: "unknown key id", topic: .rd, large: false, codes: [.auth]) { county, keys in
            let v = rd(county)
            return (
                W.b(county), v,
                [
                    KafkaHeader(key: "sti-key-id", string: "nobody-1"),
                    KafkaHeader(key: "sti-signature", string: try keys.ring.sign(value: v, keyId: "\(county)-test")),
                ]
            )
        },
        HostileKind(name: "another county's key", topic: .rd, large: false, codes: [.auth]) { county, keys in
            let v = rd(county)
            return (W.b(county), v, try keys.headers(v, keyId: county == "530103" ? "530102-test" : "530103-test"))
        },
        HostileKind(name: "expired key", topic: .rd, large: false, codes: [.auth]) { _, keys in
            let v = rd("530102")
            return (W.b("530102"), v, try keys.headers(v, keyId: TestKeys.expiredId))
        },
        HostileKind(name: "upper-case signature", topic: .rd, large: false, codes: [.auth]) { county, keys in
            let v = rd(county)
            return (
                W.b(county), v,
                [
                    KafkaHeader(key: "sti-key-id", string: "\(county)-test"),
                    KafkaHeader(
                        key: "sti-signature", string: try keys.ring.sign(value: v, keyId: "\(county)-test").uppercased()
                    ),
                ]
            )
        },
        // Everything at once past the first four checks.
        HostileKind(
            name: "every rule broken at once", topic: .rd, large: false,
            codes: [.fieldUnknown, .county, .keyMismatch, .period, .range, .enumeration, .auth]
        ) { county, keys in
            let v = rd(
                "999999",
                [
                    "revision": "0", "submitted_at": #""yesterday""#, "year": "1999", "performer": #""x""#,
                    "expenditure_10k_cny": "-1",
                ], extra: [("note", "1")])
            return (W.b(county), v, try keys.headers(v, keyId: "\(county)-test"))
        },
    ]

    /// Revision 2 of a record per county, accepted; then a stale and a conflicting copy.
    static func base(_ county: String) -> [UInt8] {
        rd(county, ["revision": "2", "performer": #""medical""#, "expenditure_10k_cny": "10"])
    }
    static let revisionKinds: [HostileKind] = [
        .signed("stale revision", [.staleRevision]) { rd($0, ["revision": "1", "performer": #""medical""#]) },
        .signed("conflicting revision", [.revisionConflict]) {
            rd($0, ["revision": "2", "performer": #""medical""#, "expenditure_10k_cny": "11"])
        },
    ]
}

@Suite(.mockCluster, .serialized, .timeLimit(.minutes(5)))
struct HostileTopicTests {
    static let partitions: Int32 = 4
    static let rejectedPartitions: Int32 = 8
    static let repeats = 40
    static let largeRepeats = 4

    @Test func theMixCoversEveryCode() {
        let covered = Set((HostileTopic.kinds + HostileTopic.revisionKinds).flatMap(\.codes))
        #expect(covered == Set(ErrorCode.allCases))
        #expect(HostileTopic.kinds.count + HostileTopic.revisionKinds.count >= 50)
    }

    @Test func aHostileTopicIsRejectedMessageByMessageInBoundedMemory() async throws {
        let broker = try TestBroker(partitions: Self.partitions, rejectedPartitions: Self.rejectedPartitions)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-hostile")
        defer { dir.remove() }
        let keys = try TestKeys()
        let keysPath = try keys.write(to: dir.file("keys.json"))
        let counties = Registry.kunming.geographies.map(\.code)

        // The messages: bases first (one per county, each on its county's partition), then
        // every kind repeated, the county rotating so notices spread over sti.rejected.
        var messages: [TestMessage] = []
        var expected: [[ErrorCode]?] = []
        var names: [String] = []
        for (n, county) in counties.enumerated() {
            let v = HostileTopic.base(county)
            messages.append(
                TestMessage(
                    topic: "sti.rd", partition: Int32(n) % Self.partitions, key: Array(county.utf8),
                    value: v, headers: try keys.headers(v, keyId: "\(county)-test")))
            expected.append(nil)
            names.append("base \(county)")
        }
        for round in 0..<Self.repeats {
            for (k, kind) in (HostileTopic.kinds + HostileTopic.revisionKinds).enumerated()
            where !kind.large || round < Self.largeRepeats {
                let countyIndex = (round + k) % counties.count
                let made = try kind.make(counties[countyIndex], keys)
                let revision = k >= HostileTopic.kinds.count
                let partition =
                    revision ? Int32(countyIndex) % Self.partitions : Int32(messages.count) % Self.partitions
                let wrong = made.key.map {
                    (Partitioner.partition(forKey: $0, count: Self.partitions) + 1) % Self.partitions
                }
                messages.append(
                    TestMessage(
                        topic: kind.topic.topic(), partition: kind.misplaced ? wrong ?? partition : partition,
                        key: made.key, value: made.value, headers: made.headers, misplaced: kind.misplaced))
                expected.append(kind.codes)
                names.append(kind.name)
            }
        }
        let hostileCount = expected.compactMap { $0 }.count
        #expect(hostileCount >= 2_000)
        let landed = try await onDedicatedThread { [messages] in try broker.produce(messages) }
        var expectedAt: [Landed: (name: String, codes: [ErrorCode], value: [UInt8], key: [UInt8]?)] = [:]
        for (i, at) in landed.enumerated() {
            if let codes = expected[i] { expectedAt[at] = (names[i], codes, messages[i].value, messages[i].key) }
        }

        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            keysPath: keysPath, timeout: .seconds(30))
        let log = LogRecorder()
        let before = try ProcessMemory.residentBytes()
        let summary = try await onDedicatedThread { try Aggregator(options: options, logger: log.logger()).run() }
        let after = try ProcessMemory.residentBytes()
        let growth = after - before
        print(
            "hostile topic: \(messages.count) messages (\(messages.reduce(0) { $0 + $1.value.count }) bytes), VmRSS \(before / 1_048_576) MiB -> \(after / 1_048_576) MiB"
        )
        // Why 200 MB: a run holds one batch at a time. What it may hold at once is bounded by
        // librdkafka's consumer prefetch (queued.max.messages.kbytes, 64 MiB by default), one
        // batch of rejection notices waiting in the producer (here < 10 MB), SQLite's page
        // cache (~2 MB) and the snapshot text; the in-process mock broker also keeps the
        // notices it receives (< 10 MB here). Together well under 100 MB; 200 MB is twice that,
        // so allocator slack cannot fail the test, while a per-message blow-up (a 64 KiB
        // literal or 6,000 keys costing megabytes each, or work kept across batches) does.
        #expect(growth < 200 * 1_048_576, "resident memory grew by \(growth / 1_048_576) MiB")

        // Every hostile message rejected, the bases accepted.
        #expect(summary.counts.read == messages.count)
        #expect(summary.counts.accepted == counties.count)
        #expect(summary.counts.rejected == hostileCount)

        // rejections.csv: one row per hostile message, with its codes.
        let files = try Snapshot.files(out: options.out)
        let rows = try StrictCSV.parse(try #require(files["rejections.csv"]))
        #expect(rows.first == rejectionsCSVHeader)
        var seen = Set<Landed>()
        for row in rows.dropFirst() {
            try #require(row.count == 6)
            let at = Landed(topic: row[0], partition: try #require(Int32(row[1])), offset: try #require(Int64(row[2])))
            guard let want = expectedAt[at] else {
                Issue.record("rejections.csv lists \(at), which is not a hostile message")
                continue
            }
            #expect(row[4] == want.codes.map(\.rawValue).joined(separator: ";"), "\(want.name) at \(at)")
            #expect(seen.insert(at).inserted, "\(at) listed twice")
        }
        #expect(seen.count == hostileCount)

        // sti.rejected: one notice per hostile message, naming its codes and carrying its bytes.
        let notices = try await onDedicatedThread {
            try broker.readAll(topic: "sti.rejected", partitions: Self.rejectedPartitions)
        }
        #expect(notices.count == hostileCount)
        var noticed = Set<Landed>()
        for notice in notices {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(notice.value)) as? [String: Any])
            #expect(object["schema"] as? String == "sti.rejection/1")
            let source = try #require(object["source"] as? [String: Any])
            let at = Landed(
                topic: try #require(source["topic"] as? String),
                partition: try #require((source["partition"] as? NSNumber)?.int32Value),
                offset: try #require((source["offset"] as? NSNumber)?.int64Value))
            guard let want = expectedAt[at] else {
                Issue.record("a notice for \(at), which is not a hostile message")
                continue
            }
            let errors = try #require(object["errors"] as? [[String: Any]])
            var codes: [String] = []
            for e in errors { if let code = e["code"] as? String, !codes.contains(code) { codes.append(code) } }
            #expect(codes == want.codes.map(\.rawValue), "\(want.name) at \(at)")
            // The payload is the value, cut at the protocol's 65,536 bytes (only E_SIZE values are longer).
            #expect(
                Data(base64Encoded: object["payload_base64"] as? String ?? "")
                    == Data(want.value.prefix(RejectionNotice.maxPayloadBytes)), "\(want.name): payload")
            #expect(
                notice.key == want.key || (notice.key?.isEmpty ?? true) && (want.key?.isEmpty ?? true),
                "\(want.name): notice key")
            #expect(noticed.insert(at).inserted, "two notices for \(at)")
        }
        #expect(noticed.count == hostileCount)
    }

    /// Values far beyond the 64 KiB rule reach the aggregator when a topic's max.message.bytes
    /// allows them (Kafka's default lets through about 1 MB): each gets E_SIZE and a notice,
    /// and the run goes on. Each sits alone on its partition, because the mock broker drops
    /// older data of a partition beyond about 5 MiB.
    @Test func valuesOfOneAndTenMegabytesGetESize() async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-hostile-big")
        defer { dir.remove() }
        let ten = Wire.b(#"{"expenditure_10k_cny":"#) + [UInt8](repeating: 0x39, count: 10_000_000) + Wire.b("}")
        let one = Wire.b(#"{"contract_value_10k_cny":"#) + [UInt8](repeating: 0x39, count: 999_000) + Wire.b("}")
        let messages = [
            TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: ten),
            TestMessage(topic: "sti.tech-contracts", partition: 0, key: Wire.b("530103"), value: one),
        ]
        let landed = try await onDedicatedThread {
            try broker.produce(messages, properties: ["message.max.bytes": "12000000"])
        }

        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            timeout: .seconds(30))
        let summary = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(summary.counts.read == 2)
        #expect(summary.counts.rejected == 2)
        #expect(summary.counts.rejectedByCode == [.size: 2])
        let rows = try StrictCSV.parse(try #require(try Snapshot.files(out: options.out)["rejections.csv"]))
        #expect(
            Set(rows.dropFirst().map { "\($0[0])[\($0[1])]@\($0[2]) \($0[4])" }) == Set(landed.map { "\($0) E_SIZE" }))

        let notices = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 1) }
        #expect(notices.count == 2)
        for notice in notices {
            // A notice stays a small message whatever the value's size: the payload is cut at
            // the 65,536 bytes the protocol allows, and the error gives the real size.
            #expect(notice.value.count < 100_000)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(notice.value)) as? [String: Any])
            let base64 = try #require(object["payload_base64"] as? String)
            let payload = try #require(Data(base64Encoded: base64))
            let original = notice.key == Wire.b("530102") ? ten : one
            #expect(payload == Data(original.prefix(MessageValidator.maxValueBytes)))
            let errors = try #require(object["errors"] as? [[String: Any]])
            #expect(errors.count == 1)
            #expect((errors.first?["message"] as? String)?.contains("\(original.count) bytes") == true)
        }
    }
}

/// Hostile review #1: a message whose Kafka key is about 1 MB. Its notice used to repeat the
/// key, which made the notice larger than the producer or broker accept; the batch then failed
/// at every run and aggregation stopped for good at that message.
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(3)))
struct HugeKeyTests {
    @Test func aMegabyteKeyBetweenTwoGoodMessagesStopsNothing() async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-hugekey")
        defer { dir.remove() }
        let good1 = HostileTopic.rd("530102")
        let good2 = HostileTopic.rd("530103")
        let hugeKey = [UInt8](repeating: UInt8(ascii: "k"), count: 999_700)
        let messages = [
            TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: good1),
            TestMessage(topic: "sti.rd", partition: 0, key: hugeKey, value: HostileTopic.rd("530111")),
            TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530103"), value: good2),
        ]
        _ = try await onDedicatedThread { try broker.produce(messages, properties: ["message.max.bytes": "2000000"]) }

        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            timeout: .seconds(30))
        let first = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(first.counts.read == 3)
        #expect(first.counts.accepted == 2)
        #expect(first.counts.rejectedByCode == [.keyMismatch: 1])
        // A second run in a row finds nothing new and succeeds too.
        let second = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(second.counts.read == 0)

        let notices = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 1) }
        try #require(notices.count == 1)
        #expect(notices[0].key == nil, "a key longer than 64 bytes is not repeated on the notice")
        #expect(notices[0].value.count < 100_000)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(notices[0].value)) as? [String: Any])
        #expect(object["disposition"] as? String == "rejected")
        #expect((object["source"] as? [String: Any])?["offset"] as? Int == 1)
    }

    /// A key of 1 to 64 bytes is repeated on the notice; 65 bytes is not (section 6).
    @Test(arguments: [(64, true), (65, false)])
    func theNoticeKeyBound(length: Int, kept: Bool) async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-noticekey")
        defer { dir.remove() }
        let key = [UInt8](repeating: UInt8(ascii: "5"), count: length)
        _ = try await onDedicatedThread {
            try broker.produce([TestMessage(topic: "sti.rd", partition: 0, key: key, value: HostileTopic.rd("530102"))])
        }
        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            timeout: .seconds(30))
        _ = try await onDedicatedThread { try Aggregator(options: options, logger: LogRecorder().logger()).run() }
        let notices = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 1) }
        try #require(notices.count == 1)
        #expect(notices[0].key == (kept ? key : nil))
    }

    /// A notice refused for its size (here the producer's own message.max.bytes, set low with
    /// -X) is a permanent condition: it goes again without its payload, and one refused even
    /// then is logged; the rejection stays in rejections.csv and the batch commits.
    @Test(arguments: [("20000", true), ("1000", false)])
    func aNoticeRefusedForItsSizeIsSentSmallerOrRecorded(maxBytes: String, delivered: Bool) async throws {
        let broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-noticesize")
        defer { dir.remove() }
        // 30 KB of unknown fields: valid JSON, E_FIELD_UNKNOWN, and a notice over 20,000 bytes
        // with its payload; 21 errors of about 40 bytes each stay over 1,000 without it.
        let big = HostileTopic.rd("530102", extra: (0..<3_000).map { ("u\($0)", "1") })
        let messages = [
            TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530102"), value: big),
            TestMessage(topic: "sti.rd", partition: 0, key: Wire.b("530103"), value: HostileTopic.rd("530103")),
        ]
        _ = try await onDedicatedThread { try broker.produce(messages) }
        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            kafkaProperties: ["message.max.bytes": maxBytes], timeout: .seconds(30))
        let log = LogRecorder()
        let summary = try await onDedicatedThread { try Aggregator(options: options, logger: log.logger()).run() }
        #expect(summary.counts.accepted == 1)
        #expect(summary.counts.rejectedByCode == [.fieldUnknown: 1])
        let rows = try StrictCSV.parse(try #require(try Snapshot.files(out: options.out)["rejections.csv"]))
        #expect(rows.count == 2)
        let notices = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 1) }
        if delivered {
            try #require(notices.count == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(notices[0].value)) as? [String: Any])
            #expect(object["payload_base64"] as? String == "")
            #expect((object["errors"] as? [Any])?.count == 21)
        } else {
            #expect(notices.isEmpty)
            #expect(log.text.contains("sti.rd[0]@0 even without its payload"))
        }
    }
}
