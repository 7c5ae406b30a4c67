import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// Issue 5, point 7: a snapshot opened in a spreadsheet never runs a formula. Submitted text
/// (a rejected message's `county`, unknown field names that become `first_message`) and a
/// registry file's codes and names all start with `=`, `+`, `-`, `@`, tab or CR here; every
/// CSV file of the snapshot is then read back with a strict RFC 4180 reader and no text cell
/// may start with one of those characters (a guarded cell starts with `'`), while numeric
/// cells must be plain numerals (section 8 guards text cells only).
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(5)))
struct SpreadsheetSafetyTests {
    static let dangerous: [String] = ["=", "+", "-", "@", "\t", "\r"]

    /// Geographies whose codes and names are formulas.
    static let registryJSON = #"""
        {"geographies": [
          {"code": "=530001", "name_zh": "=HYPERLINK(\"http://example.invalid\",\"点击\")", "name_en": "@SUM(1,2)", "kind": "county", "area": "core", "in_total": true},
          {"code": "-530002", "name_zh": "-2+3", "name_en": "+cmd|' /C calc'!A0", "kind": "county", "area": "demonstration", "in_total": true},
          {"code": "+530003", "name_zh": "\t=1+1", "name_en": "\r=1+1", "kind": "county", "area": "core", "in_total": true},
          {"code": "@530004", "name_zh": "@A1", "name_en": "-A1, \"quoted\"\r\nnext line", "kind": "zone", "area": "core", "in_total": false},
          {"code": "530005", "name_zh": "正常县", "name_en": "Plain County", "kind": "county", "area": "demonstration", "in_total": true}
        ]}
        """#

    /// Numeric columns per file: the only cells allowed to skip the guard, and only as numerals.
    static let numericColumns: [String: Set<String>] = [
        "indicators.csv": ["year", "value", "counties_reporting", "counties_expected"],
        "completeness.csv": ["year", "records"],
        "rejections.csv": ["partition", "offset"],
        "warnings.csv": ["year", "value", "compared_with", "partition", "offset"],
        "revisions.csv": ["year", "previous_value", "value"],
        "rd.csv": ["year", "expenditure_10k_cny", "revision", "partition", "offset"],
        "tech-contracts.csv": [
            "contract_value_10k_cny", "tech_transaction_value_10k_cny", "revision", "partition", "offset",
        ],
        "county-profiles.csv": [
            "year", "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
            "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny", "revision", "partition", "offset",
        ],
    ]

    @Test func noCellOfAnySnapshotFileStartsAFormula() async throws {
        let broker = try TestBroker(partitions: 2, rejectedPartitions: 2)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-spreadsheet")
        defer { dir.remove() }
        let registryPath = dir.file("registry.json")
        try Data(Self.registryJSON.utf8).write(to: URL(fileURLWithPath: registryPath))
        let registry = try Registry.load(contentsOf: URL(fileURLWithPath: registryPath))
        #expect(registry.geographies.count == 5)

        var messages: [TestMessage] = []
        func send(_ topic: String, _ county: String, _ value: [UInt8]) {
            messages.append(
                TestMessage(topic: topic, partition: Int32(messages.count % 2), key: Array(county.utf8), value: value))
        }
        // Accepted records for every geography, so indicator and completeness rows carry the
        // names and codes and real values.
        for (n, g) in registry.geographies.enumerated() {
            let county = Wire.str(g.code)
            send("sti.rd", g.code, Wire.rd(["county": county, "expenditure_10k_cny": "\(1_000 + n).5"]))
            send(
                "sti.rd", g.code,
                Wire.rd(["county": county, "performer": #""enterprise_above_scale""#, "expenditure_10k_cny": "2000"]))
            send("sti.county-profiles", g.code, Wire.profile(["county": county]))
            send("sti.tech-contracts", g.code, Wire.contract(["county": county, "buyer_country": #""VN""#]))
        }
        // Rejected messages whose county (any string) and first error (an unknown field's name)
        // are formulas; commas, quotes and line breaks too, for the quoting.
        let formulas =
            Self.dangerous.map { $0 + "cmd|' /C calc'!A0" } + ["=1+1", "-1", "+1", "@SUM(A1:A9)", "=\"a\",\"b\"\r\n=2"]
        for (n, f) in formulas.enumerated() {
            send("sti.rd", f, Wire.rd(["county": Wire.str(f)]))
            send("sti.rd", "530005", Wire.rd(["county": #""530005""#, "revision": "\(n + 2)"], extra: [(f, "1")]))
        }
        _ = try await onDedicatedThread { [messages] in try broker.produce(messages) }

        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            registry: registry, timeout: .seconds(30))
        let summary = try await onDedicatedThread {
            try Aggregator(options: options, logger: LogRecorder().logger()).run()
        }
        #expect(summary.counts.accepted == registry.geographies.count * 4)
        #expect(summary.counts.rejected == formulas.count * 2)

        let files = try Snapshot.files(out: options.out)
        let csvNames = files.keys.filter { $0.hasSuffix(".csv") }.sorted()
        // Section 8 (version 2): revisions.csv and the record files of records/ are snapshot CSVs too.
        #expect(
            csvNames.filter { !$0.hasPrefix("records/") } == [
                "completeness.csv", "indicators.csv", "rejections.csv", "revisions.csv", "warnings.csv",
            ])
        #expect(csvNames.contains { $0.hasSuffix("/rd.csv") })
        var guardedSeen = 0
        for name in csvNames {
            let rows = try StrictCSV.parse(try #require(files[name]))
            let header = try #require(rows.first)
            let numeric = try #require(Self.numericColumns[String(name.split(separator: "/").last!)])
            #expect(numeric.isSubset(of: Set(header)), "\(name) header \(header)")
            for (r, row) in rows.enumerated() {
                #expect(row.count == header.count, "\(name) row \(r + 1) has \(row.count) cells")
                for (cell, column) in zip(row, header) {
                    if r > 0, numeric.contains(column) {
                        #expect(Self.isPlainNumeral(cell), "\(name) row \(r + 1) \(column): \(cell.debugDescription)")
                    } else {
                        #expect(
                            !Self.dangerous.contains {
                                cell.hasPrefix($0) || cell.unicodeScalars.first.map(String.init) == $0
                            },
                            "\(name) row \(r + 1) \(column): \(cell.debugDescription) starts a formula")
                        if let second = cell.unicodeScalars.dropFirst().first, cell.hasPrefix("'"),
                            Self.dangerous.contains(String(second))
                        {
                            guardedSeen += 1
                        }
                    }
                }
            }
        }

        // The dangerous text did reach the files, guarded: the check above was not vacuous.
        let indicators = try StrictCSV.parse(try #require(files["indicators.csv"]))
        #expect(
            indicators.contains {
                $0[1] == "'=530001" && $0[2] == "'=HYPERLINK(\"http://example.invalid\",\"点击\")"
                    && $0[3] == "'@SUM(1,2)"
            })
        #expect(indicators.contains { $0[1] == "'-530002" && $0[2] == "'-2+3" && $0[3] == "'+cmd|' /C calc'!A0" })
        #expect(indicators.contains { $0[1] == "'+530003" && $0[2] == "'\t=1+1" && $0[3] == "'\r=1+1" })
        #expect(indicators.contains { $0[1] == "'@530004" && $0[3] == "'-A1, \"quoted\"\r\nnext line" })
        let completeness = try StrictCSV.parse(try #require(files["completeness.csv"]))
        #expect(completeness.contains { $0[1] == "'=530001" && $0[2].hasPrefix("'=HYPERLINK") })
        let rejections = try StrictCSV.parse(try #require(files["rejections.csv"]))
        for f in formulas {
            #expect(rejections.contains { $0[3] == "'" + f }, "county \(f.debugDescription) not listed guarded")
            #expect(
                rejections.contains { $0[5].hasPrefix("'" + f) },
                "first_message for field \(f.debugDescription) not listed guarded")
        }
        #expect(guardedSeen >= 2 * formulas.count + 12)
    }

    static func isPlainNumeral(_ s: String) -> Bool {
        if s.isEmpty { return true }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { ("0"..."9").contains($0) } }
    }
}
