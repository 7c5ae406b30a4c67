import Foundation
import Kafka
import STITestSupport
import Testing

@testable import STIPipeline
@testable import STIProtocol

/// Section 5a through the aggregator, on a librdkafka mock cluster: messages with plausibility
/// warnings and no explanation are held (notice, counts, rejections.csv, warnings.csv), an
/// explanation gets them accepted with their warnings listed, and a later record without
/// warnings takes them out of warnings.csv again.
@Suite(.serialized)
struct HeldMessageTests {
    typealias W = Wire
    static let header =
        "year,geo_code,kind,identity,code,field,value,compared_with,disposition,explanation,topic,partition,offset"

    static func rd(
        _ county: String = "530102", year: Int, _ expenditure: String, revision: Int = 1,
        performer: String = "other", explanation: String? = nil
    ) -> TestMessage {
        TestMessage(
            topic: "sti.rd", partition: 0, key: W.b(county),
            value: W.rd(
                [
                    "county": W.str(county), "year": String(year), "expenditure_10k_cny": expenditure,
                    "revision": String(revision), "performer": W.str(performer),
                ],
                extra: explanation.map { [("explanation", W.str($0))] } ?? []))
    }

    static func contract(
        _ number: String, county: String = "530102", value: String, transaction: String,
        explanation: String? = nil
    ) -> TestMessage {
        TestMessage(
            topic: "sti.tech-contracts", partition: 0, key: W.b(county),
            value: W.contract(
                [
                    "county": W.str(county), "contract_no": W.str(number),
                    "contract_value_10k_cny": value, "tech_transaction_value_10k_cny": transaction,
                ],
                extra: explanation.map { [("explanation", W.str($0))] } ?? []))
    }

    static func profile(
        _ county: String = "530102", year: Int, gdp: String, population: String, revision: Int = 1,
        explanation: String? = nil
    ) -> TestMessage {
        TestMessage(
            topic: "sti.county-profiles", partition: 0, key: W.b(county),
            value: W.profile(
                [
                    "county": W.str(county), "year": String(year), "gdp_100m_cny": gdp,
                    "resident_population_10k": population, "revision": String(revision),
                ],
                extra: explanation.map { [("explanation", W.str($0))] } ?? []))
    }

    struct Harness {
        let broker: TestBroker
        let dir: TemporaryDirectory
        var options: AggregateOptions

        init(_ prefix: String) throws {
            broker = try TestBroker(partitions: 1, rejectedPartitions: 1)
            dir = try TemporaryDirectory(prefix: prefix)
            options = AggregateOptions(
                brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")),
                statePath: dir.file("state.db"), timeout: .seconds(30))
        }

        func close() {
            broker.close()
            dir.remove()
        }

        func send(_ messages: [TestMessage]) async throws {
            let broker = self.broker
            _ = try await onDedicatedThread { try broker.produce(messages) }
        }

        func run(rebuild: Bool = false) async throws -> AggregateSummary {
            var edited = self.options
            edited.rebuild = rebuild
            let options = edited
            return try await onDedicatedThread {
                try Aggregator(options: options, logger: LogRecorder().logger()).run()
            }
        }

        func files() throws -> [String: String] { try Snapshot.files(out: options.out) }

        func manifest() throws -> Manifest {
            try Manifest.load(contentsOf: options.out.appendingPathComponent("latest/manifest.json"))
        }

        /// The notices on `sti.rejected`, decoded.
        func notices() async throws -> [[String: Any]] {
            let broker = self.broker
            let read = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 1) }
            return try read.map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any])
            }
        }

        /// The data rows of a snapshot CSV, parsed strictly (header checked and dropped).
        func rows(_ name: String, header: String? = nil) throws -> [[String]] {
            let text = try #require(try files()[name], "\(name) missing from the snapshot")
            let rows = try StrictCSV.parse(text)
            if let header { #expect(rows.first?.joined(separator: ",") == header) }
            return Array(rows.dropFirst())
        }
    }

    /// read = accepted + duplicates + rejected + held (section 8), and the manifest lists
    /// warnings.csv with its rows and SHA-256.
    static func checkManifest(_ h: Harness) throws {
        let m = try h.manifest()
        #expect(m.counts.read == m.counts.accepted + m.counts.duplicates + m.counts.rejected + m.counts.held)
        let entry = try #require(m.files.first { $0.name == "warnings.csv" })
        let data = try Data(contentsOf: h.options.out.appendingPathComponent("latest/warnings.csv"))
        #expect(entry.rows == (try StrictCSV.parse(String(decoding: data, as: UTF8.self))).count - 1)
        #expect(entry.sha256 == SHA256Hex.of(data))
    }

    @Test func heldThenExplainedThenSuperseded() async throws {
        let h = try Harness("sti-held-lifecycle")
        defer { h.close() }

        // 2024's figure, then 2025's at three times it, without an explanation: held.
        try await h.send([Self.rd(year: 2024, "100"), Self.rd(year: 2025, "300")])
        let first = try await h.run()
        #expect(first.counts.read == 2)
        #expect(first.counts.accepted == 1)
        #expect(first.counts.rejected == 0)
        #expect(first.counts.held == 1)
        #expect(first.counts.heldByCode == [.yoyChange: 1])
        #expect(first.line.contains("held 1 (W_YOY_CHANGE=1)"))
        let notices = try await h.notices()
        try #require(notices.count == 1)
        #expect(notices[0]["disposition"] as? String == "held")
        #expect((notices[0]["source"] as? [String: Any])?["offset"] as? Int == 1)
        let errors = try #require(notices[0]["errors"] as? [[String: Any]])
        #expect(errors.map { $0["code"] as? String } == ["W_YOY_CHANGE"])
        #expect(errors.first?["field"] as? String == "expenditure_10k_cny")
        let message = try #require(errors.first?["message"] as? String)
        #expect(message.contains("300") && message.contains("100") && message.contains("explanation"), "\(message)")
        #expect(
            try h.rows("warnings.csv", header: Self.header) == [
                [
                    "2025", "530102", "rd", "other", "W_YOY_CHANGE", "expenditure_10k_cny", "300", "100", "held", "",
                    "sti.rd", "0", "1",
                ]
            ])
        let rejections = try h.rows("rejections.csv")
        #expect(rejections.map { Array($0.prefix(5)) } == [["sti.rd", "0", "1", "530102", "W_YOY_CHANGE"]])
        // Nothing of 2025 is current: no 2025 row in indicators.csv.
        #expect(try h.rows("indicators.csv").allSatisfy { $0[0] == "2024" })
        let firstManifest = try h.manifest()
        #expect(firstManifest.counts.held == 1)
        #expect(firstManifest.counts.heldByCode == [.yoyChange: 1])
        try Self.checkManifest(h)

        // The same identity and revision again, with an explanation: judged afresh (the held one
        // was never current, so this is no conflict), accepted, its warning listed as explained.
        // Re-sending it without the explanation is then a duplicate (section 5), not a hold.
        try await h.send([Self.rd(year: 2025, "300", explanation: "新建研发中心投产"), Self.rd(year: 2025, "300")])
        let second = try await h.run()
        #expect(second.counts.read == 2)
        #expect(second.counts.accepted == 1)
        #expect(second.counts.duplicates == 1)
        #expect(second.counts.rejected == 0)
        #expect(second.counts.held == 0)
        #expect(
            try h.rows("warnings.csv", header: Self.header) == [
                [
                    "2025", "530102", "rd", "other", "W_YOY_CHANGE", "expenditure_10k_cny", "300", "100", "explained",
                    "新建研发中心投产",
                    "sti.rd", "0", "2",
                ]
            ])
        #expect(try h.rows("rejections.csv").isEmpty)
        let rd2025 = try h.rows("indicators.csv").first {
            $0[0] == "2025" && $0[1] == "530102" && $0[4] == "rd_expenditure"
        }
        #expect(rd2025?[5] == "0.03")  // 300 万元 = 0.03 亿元
        try Self.checkManifest(h)

        // A later revision within bounds (150 ≤ 2 × 100): current without warnings, row gone.
        try await h.send([Self.rd(year: 2025, "150", revision: 2)])
        let third = try await h.run()
        #expect(third.counts.accepted == 1)
        #expect(third.counts.held == 0)
        #expect(try h.rows("warnings.csv", header: Self.header).isEmpty)
        try Self.checkManifest(h)
        #expect(try await h.notices().count == 1, "only the held message got a notice")
    }

    /// A message held twice keeps only the last one; a current record replacing an explained one
    /// while a newer revision is held lists both, explained first.
    @Test func lastHeldAndExplainedRowsOfOneIdentity() async throws {
        let h = try Harness("sti-held-last")
        defer { h.close() }
        try await h.send([
            Self.rd(year: 2024, "100"),
            Self.rd(year: 2025, "300", explanation: "引进重大技术转让项目"),
            Self.rd(year: 2025, "40", revision: 2),
            Self.rd(year: 2025, "500", revision: 3),
        ])
        let summary = try await h.run()
        #expect(summary.counts.accepted == 2)
        #expect(summary.counts.held == 2)
        #expect(summary.counts.heldByCode == [.yoyChange: 2])
        #expect(
            try h.rows("warnings.csv", header: Self.header) == [
                [
                    "2025", "530102", "rd", "other", "W_YOY_CHANGE", "expenditure_10k_cny", "300", "100", "explained",
                    "引进重大技术转让项目",
                    "sti.rd", "0", "1",
                ],
                [
                    "2025", "530102", "rd", "other", "W_YOY_CHANGE", "expenditure_10k_cny", "500", "100", "held", "",
                    "sti.rd", "0", "3",
                ],
            ])
        #expect(try h.rows("rejections.csv").map { $0[2] } == ["2", "3"])
        try Self.checkManifest(h)
    }

    /// A state whose only content is a held message is not an empty store: the next run must
    /// still find the held message when its identity becomes current, and drop it.
    @Test func aHeldMessageAloneInTheStateIsSupersededInTheNextRun() async throws {
        let h = try Harness("sti-held-alone")
        defer { h.close() }
        try await h.send([Self.contract("HT-2025-001", value: "20000", transaction: "15000")])
        let first = try await h.run()
        #expect(first.counts.held == 1)
        #expect(try h.rows("warnings.csv").map { $0[8] } == ["held"])
        try await h.send([Self.contract("HT-2025-001", value: "2000", transaction: "1500")])
        let second = try await h.run()
        #expect(second.counts.accepted == 1)
        #expect(try h.rows("warnings.csv", header: Self.header).isEmpty)
    }

    @Test func largeContractsAndLowTransactionSharesAreHeld() async throws {
        let h = try Harness("sti-held-contracts")
        defer { h.close() }
        try await h.send([
            Self.contract("HT-2025-010", value: "10000", transaction: "8000"),  // W_LARGE_CONTRACT
            Self.contract("HT-2025-002", value: "100", transaction: "9.9999"),  // W_LOW_TRANSACTION_SHARE
            Self.contract("HT-2025-003", value: "20000", transaction: "1"),  // both
            Self.contract("HT-2025-004", value: "9999.9999", transaction: "1000"),  // neither, just inside both bounds
            Self.contract("HT-2025-005", value: "20000", transaction: "1", explanation: "省级重大专项"),
        ])
        let summary = try await h.run()
        #expect(summary.counts.read == 5)
        #expect(summary.counts.accepted == 2)
        #expect(summary.counts.held == 3)
        #expect(summary.counts.heldByCode == [.largeContract: 2, .lowTransactionShare: 2])
        let m = try h.manifest()
        #expect(m.counts.heldByCode == [.largeContract: 2, .lowTransactionShare: 2])
        try Self.checkManifest(h)

        let rejections = try h.rows("rejections.csv")
        #expect(
            rejections.map { [$0[2], $0[4]] } == [
                ["0", "W_LARGE_CONTRACT"], ["1", "W_LOW_TRANSACTION_SHARE"],
                ["2", "W_LARGE_CONTRACT;W_LOW_TRANSACTION_SHARE"],
            ])
        // Contract numbers in byte order; code in section 5a order within one contract.
        #expect(
            try h.rows("warnings.csv", header: Self.header) == [
                [
                    "2025", "530102", "tech-contract", "HT-2025-002", "W_LOW_TRANSACTION_SHARE",
                    "tech_transaction_value_10k_cny",
                    "9.9999", "100", "held", "", "sti.tech-contracts", "0", "1",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-003", "W_LARGE_CONTRACT", "contract_value_10k_cny",
                    "20000", "", "held", "",
                    "sti.tech-contracts", "0", "2",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-003", "W_LOW_TRANSACTION_SHARE",
                    "tech_transaction_value_10k_cny", "1", "20000",
                    "held", "", "sti.tech-contracts", "0", "2",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-005", "W_LARGE_CONTRACT", "contract_value_10k_cny",
                    "20000", "", "explained",
                    "省级重大专项", "sti.tech-contracts", "0", "4",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-005", "W_LOW_TRANSACTION_SHARE",
                    "tech_transaction_value_10k_cny", "1", "20000",
                    "explained", "省级重大专项", "sti.tech-contracts", "0", "4",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-010", "W_LARGE_CONTRACT", "contract_value_10k_cny",
                    "10000", "", "held", "",
                    "sti.tech-contracts", "0", "0",
                ],
            ])
        let notices = try await h.notices()
        #expect(notices.map { $0["disposition"] as? String } == ["held", "held", "held"])
        #expect(
            notices.map { (($0["errors"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String } } == [
                ["W_LARGE_CONTRACT"], ["W_LOW_TRANSACTION_SHARE"], ["W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"],
            ])
    }

    /// Section 5: the current record re-sent with an explanation added (or changed) is a
    /// duplicate, whatever its figures would trip.
    @Test func aDuplicateThatDiffersOnlyByItsExplanation() async throws {
        let h = try Harness("sti-held-duplicate")
        defer { h.close() }
        try await h.send([
            Self.contract("HT-2025-001", value: "100", transaction: "80"),
            Self.contract("HT-2025-001", value: "100", transaction: "80", explanation: "补充说明"),
            Self.contract("HT-2025-007", value: "30000", transaction: "1", explanation: "第一次说明"),
            Self.contract("HT-2025-007", value: "30000", transaction: "1", explanation: "换一种说法"),
            Self.contract("HT-2025-007", value: "30000", transaction: "1"),
        ])
        let summary = try await h.run()
        #expect(summary.counts.accepted == 2)
        #expect(summary.counts.duplicates == 3)
        #expect(summary.counts.held == 0)
        #expect(summary.counts.rejected == 0)
        // The explanation listed is the one the record was accepted with.
        #expect(
            try h.rows("warnings.csv").map { [$0[3], $0[4], $0[9]] } == [
                ["HT-2025-007", "W_LARGE_CONTRACT", "第一次说明"], ["HT-2025-007", "W_LOW_TRANSACTION_SHARE", "第一次说明"],
            ])
        try Self.checkManifest(h)
    }

    /// Incremental runs (the previous year in an earlier run, so the state is not empty and
    /// every identity is looked up) and one rebuild from an empty store (identities tracked,
    /// the previous year met in the same run) give the same files byte for byte.
    @Test func aRebuildGivesTheSameFilesByteForByte() async throws {
        let h = try Harness("sti-held-rebuild")
        defer { h.close() }
        try await h.send([
            Self.rd("530103", year: 2024, "100"), Self.rd(year: 2024, "100", performer: "medical"),
            Self.profile(year: 2024, gdp: "1000", population: "100"),
            Self.profile("530103", year: 2024, gdp: "500", population: "50"),
        ])
        _ = try await h.run()
        try await h.send([
            Self.rd("530103", year: 2025, "0"),
            Self.rd(year: 2025, "201", performer: "medical", explanation: "新建研发中心投产"),
            Self.profile(year: 2025, gdp: "1300.0001", population: "110.0001", explanation: "行政区划调整"),
            Self.profile("530103", year: 2025, gdp: "650", population: "55"),
            Self.contract("HT-2025-009", value: "10000", transaction: "9000"),
        ])
        let second = try await h.run()
        #expect(second.counts.accepted == 3)
        #expect(second.counts.held == 2)
        try await h.send([Self.rd(year: 2025, "150", performer: "enterprise_above_scale")])
        _ = try await h.run()
        let incremental = try h.files()
        #expect(
            try h.rows("warnings.csv", header: Self.header) == [
                [
                    "2025", "530102", "rd", "medical", "W_YOY_CHANGE", "expenditure_10k_cny", "201", "100", "explained",
                    "新建研发中心投产",
                    "sti.rd", "0", "3",
                ],
                [
                    "2025", "530102", "tech-contract", "HT-2025-009", "W_LARGE_CONTRACT", "contract_value_10k_cny",
                    "10000", "", "held", "",
                    "sti.tech-contracts", "0", "0",
                ],
                [
                    "2025", "530102", "county-profile", "", "W_YOY_CHANGE", "gdp_100m_cny", "1300.0001", "1000",
                    "explained", "行政区划调整",
                    "sti.county-profiles", "0", "2",
                ],
                [
                    "2025", "530102", "county-profile", "", "W_YOY_CHANGE", "resident_population_10k", "110.0001",
                    "100", "explained",
                    "行政区划调整", "sti.county-profiles", "0", "2",
                ],
                [
                    "2025", "530103", "rd", "other", "W_YOY_CHANGE", "expenditure_10k_cny", "0", "100", "held", "",
                    "sti.rd", "0", "2",
                ],
            ])

        let rebuilt = try await h.run(rebuild: true)
        #expect(rebuilt.counts.read == 10)
        #expect(rebuilt.counts.accepted == 8)
        #expect(rebuilt.counts.held == 2)
        let again = try h.files()
        for name in ["indicators.csv", "completeness.csv", "warnings.csv"] {
            #expect(again[name] != nil && again[name] == incremental[name], "\(name) differs after --rebuild")
        }
        // Section 8: records/ too, byte for byte (the incremental snapshot's 2024 files are hard
        // links to the first run's, the rebuild's are written afresh).
        let recordFiles = incremental.keys.filter { $0.hasPrefix("records/") }.sorted()
        #expect(
            recordFiles == [
                "records/2024/county-profiles.csv", "records/2024/rd.csv", "records/2024/tech-contracts.csv",
                "records/2025/county-profiles.csv", "records/2025/rd.csv", "records/2025/tech-contracts.csv",
            ])
        #expect(again.keys.filter { $0.hasPrefix("records/") }.sorted() == recordFiles)
        for name in recordFiles {
            #expect(again[name] == incremental[name], "\(name) differs after --rebuild")
        }
        try Self.checkManifest(h)
        let m = try h.manifest()
        #expect(m.counts.heldByCode == [.yoyChange: 1, .largeContract: 1])
    }
}

enum SHA256Hex {
    static func of(_ data: Data) -> String {
        SnapshotWriter.sha256Hex(Array(data))
    }
}
