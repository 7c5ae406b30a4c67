import Foundation
import Kafka
import STITestSupport
import Testing

@testable import STIPipeline
@testable import STIProtocol

/// Issue 14 through the aggregator on a librdkafka mock cluster: records/<year>/*.csv exactly as
/// section 8 lays them out, an unchanged year hard-linked rather than rewritten, revisions.csv
/// across snapshots, and report.html escaping submitted text.
@Suite(.serialized)
struct AnalystFilesTests {
    typealias H = HeldMessageTests
    typealias W = Wire

    static func contract(
        _ number: String, county: String = "530102", on date: String = "2024-05-01", buyer: String = "CN",
        value: String = "100", transaction: String = "80", revision: Int = 1, status: String? = nil,
        explanation: String? = nil
    ) -> TestMessage {
        let changes: [String: String?] = [
            "county": W.str(county), "contract_no": W.str(number), "registered_on": W.str(date),
            "buyer_country": W.str(buyer), "contract_value_10k_cny": value,
            "tech_transaction_value_10k_cny": transaction, "revision": String(revision),
        ]
        var extra: [(String, String)] = []
        if let status { extra.append(("status", W.str(status))) }
        if let explanation { extra.append(("explanation", W.str(explanation))) }
        return TestMessage(
            topic: "sti.tech-contracts", partition: 0, key: W.b(county), value: W.contract(changes, extra: extra))
    }

    static func lines(_ rows: [String]) -> String { rows.map { $0 + "\r\n" }.joined() }

    @Test func recordFilesListEveryCurrentRecordInSection8OrderWithItsSource() async throws {
        let h = try H.Harness("sti-records")
        defer { h.close() }
        try await h.send([
            H.rd("530103", year: 2024, "7"),  // rd @0
            H.rd(year: 2024, "12.5", performer: "other"),  // rd @1
            H.rd(year: 2024, "30", performer: "enterprise_above_scale"),  // rd @2
            H.rd(year: 2024, "31", revision: 2, performer: "enterprise_above_scale"),  // rd @3 replaces @2
            Self.contract("b-2"), Self.contract("B-1"), Self.contract("a-9", county: "530103"),  // contracts @0 @1 @2
            Self.contract("B-1", revision: 2, status: "withdrawn"),  // @3 withdraws B-1
            Self.contract("A-0", explanation: "=HYPERLINK(\"x\")"),  // @4
            H.profile(year: 2024, gdp: "1000", population: "100"),  // profiles @0
        ])
        _ = try await h.run()
        let files = try h.files()
        #expect(
            files["records/2024/rd.csv"]
                == Self.lines([
                    "county,year,performer,expenditure_10k_cny,revision,status,submitted_at,explanation,topic,partition,offset",
                    "530102,2024,enterprise_above_scale,31,2,active,2026-01-15T09:30:00+08:00,,sti.rd,0,3",
                    "530102,2024,other,12.5,1,active,2026-01-15T09:30:00+08:00,,sti.rd,0,1",
                    "530103,2024,other,7,1,active,2026-01-15T09:30:00+08:00,,sti.rd,0,0",
                ]))
        #expect(
            files["records/2024/tech-contracts.csv"]
                == Self.lines([
                    "county,contract_no,registered_on,contract_type,domain,contract_value_10k_cny,tech_transaction_value_10k_cny,buyer_country,"
                        + "revision,status,submitted_at,explanation,topic,partition,offset",
                    "530102,A-0,2024-05-01,development,biomedicine,100,80,CN,1,active,2026-01-15T09:30:00+08:00,\"'=HYPERLINK(\"\"x\"\")\",sti.tech-contracts,0,4",
                    "530102,B-1,2024-05-01,development,biomedicine,100,80,CN,2,withdrawn,2026-01-15T09:30:00+08:00,,sti.tech-contracts,0,3",
                    "530102,b-2,2024-05-01,development,biomedicine,100,80,CN,1,active,2026-01-15T09:30:00+08:00,,sti.tech-contracts,0,0",
                    "530103,a-9,2024-05-01,development,biomedicine,100,80,CN,1,active,2026-01-15T09:30:00+08:00,,sti.tech-contracts,0,2",
                ]))
        #expect(
            files["records/2024/county-profiles.csv"]
                == Self.lines([
                    "county,year,gdp_100m_cny,resident_population_10k,high_tech_enterprises,invention_patents_held,industrial_output_100m_cny,"
                        + "high_tech_industrial_output_100m_cny,revision,status,submitted_at,explanation,topic,partition,offset",
                    "530102,2024,1000,100,,,300,100,1,active,2026-01-15T09:30:00+08:00,,sti.county-profiles,0,0",
                ]))
        // The first snapshot: revisions.csv holds only its header.
        #expect(
            files["revisions.csv"]
                == Self.lines(["year,geo_code,indicator,previous_value,previous_status,value,status"]))
        // The manifest lists every record file with its rows and SHA-256.
        let m = try h.manifest()
        for name in ["records/2024/rd.csv", "records/2024/tech-contracts.csv", "records/2024/county-profiles.csv"] {
            let entry = try #require(m.files.first { $0.name == name })
            #expect(entry.sha256 == SHA256Hex.of(Data(files[name]!.utf8)))
            #expect(entry.rows == files[name]!.components(separatedBy: "\r\n").count - 2)
        }
    }

    static func inode(_ path: String) -> (ino: UInt64, links: UInt64)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (UInt64(s.st_ino), UInt64(s.st_nlink))
    }

    @Test func anUnchangedYearIsAHardLinkAndAChangedOneIsRewritten() async throws {
        let h = try H.Harness("sti-records-link")
        defer { h.close() }
        try await h.send([H.rd(year: 2024, "10"), H.rd(year: 2025, "11"), Self.contract("X-1", on: "2025-02-02")])
        let first = try await h.run()
        // Only 2025 changes in the second run.
        try await h.send([H.rd(year: 2025, "12", revision: 2)])
        let second = try await h.run()
        let a = try #require(first.snapshotPath)
        let b = try #require(second.snapshotPath)
        for kind in ["rd", "tech-contracts", "county-profiles"] {
            let old2024 = try #require(Self.inode("\(a)/records/2024/\(kind).csv"))
            let new2024 = try #require(Self.inode("\(b)/records/2024/\(kind).csv"))
            #expect(old2024.ino == new2024.ino && new2024.links >= 2, "records/2024/\(kind).csv was rewritten")
            let old2025 = try #require(Self.inode("\(a)/records/2025/\(kind).csv"))
            let new2025 = try #require(Self.inode("\(b)/records/2025/\(kind).csv"))
            #expect(old2025.ino != new2025.ino, "records/2025/\(kind).csv was linked though 2025 changed")
        }
        let rd2025 = try String(contentsOfFile: "\(b)/records/2025/rd.csv", encoding: .utf8)
        #expect(rd2025.contains("530102,2025,other,12,2,active,"))
        // revisions.csv: the 2025 figures that moved, old and new side by side.
        let revisions = try h.rows(
            "revisions.csv", header: "year,geo_code,indicator,previous_value,previous_status,value,status")
        #expect(
            revisions.contains(["2025", "530102", "rd_expenditure", "0.0011", "ok", "0.0012", "ok"]), "\(revisions)")
        #expect(revisions.allSatisfy { $0[0] == "2025" && $0[2].hasPrefix("rd_") || $0[2] == "enterprise_rd_share" })
        // The manifests agree with the bytes, linked or not.
        let m = try h.manifest()
        for entry in m.files where entry.name.hasPrefix("records/") {
            #expect(
                entry.sha256 == SHA256Hex.of(try Data(contentsOf: URL(fileURLWithPath: "\(b)/\(entry.name)"))),
                "\(entry.name)")
        }
    }

    @Test func reportEscapesSubmittedText() throws {
        let dir = try TemporaryDirectory(prefix: "sti-report-escape")
        defer { dir.remove() }
        let hostile = "<script>alert(1)</script>\" onmouseover=\"x"
        let folder = dir.path
        let warning = WarningRow(
            year: 2025, geoCode: "530102", kind: .rd, identity: "other",
            warning: PlausibilityWarning(
                code: .yoyChange, field: "expenditure_10k_cny",
                value: .amount(ExactAmount(whole: 201)),
                comparedWith: .amount(ExactAmount(whole: 100)), finding: ""),
            disposition: .explained, explanation: hostile, topic: "sti.rd", partition: 0, offset: 3)
        try Data(CSVWriter.warnings([warning]).utf8).write(to: URL(fileURLWithPath: folder + "/warnings.csv"))
        var registry = Registry.kunming.geographies
        registry[0].nameZh = "<img src=x onerror=alert(2)>"
        let reg = try Registry(geographies: registry)
        let row = IndicatorRow(
            year: 2025, geoCode: registry[0].code, geoNameZh: registry[0].nameZh, geoNameEn: "</svg><script>",
            indicator: .rdExpenditure, value: "1.5", status: .ok, countiesReporting: 1, countiesExpected: 1)
        try Data(CSVWriter.indicators([row]).utf8).write(to: URL(fileURLWithPath: folder + "/indicators.csv"))
        try Data(
            CSVWriter.completeness([
                CompletenessRow(
                    year: 2025, geoCode: registry[0].code, geoNameZh: registry[0].nameZh,
                    kind: .rd, records: 1)
            ]).utf8
        )
        .write(to: URL(fileURLWithPath: folder + "/completeness.csv"))
        let manifest = Manifest(
            runId: "20260115T013000Z", startedAt: "s", finishedAt: "f", programVersion: "<b>",
            authentication: "enabled",
            offsets: [], counts: RunCounts(), previousRunId: nil, files: [])
        let html = try ReportHTML.render(folder: folder, manifest: manifest, registry: reg)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("\" onmouseover"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x"))
        #expect(html.contains("&lt;img src=x onerror=alert(2)&gt;"))
    }
}
