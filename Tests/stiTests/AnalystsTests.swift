// Issue 14 on the demo's snapshot (the Samples through `sti demo`, its embedded mock cluster):
// records/ recomputes every figure of indicators.csv through the tests' own oracle; `sti explain`
// lists the records behind a figure with their offsets and refuses bad arguments by name;
// report.html shows exactly indicators.csv's figures; `sti report` writes the same report again.
import Foundation
import Kafka
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct Analysts {
        static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples").path

        static var order: [RecordsOracle.Geo] {
            Registry.kunming.geographies.map {
                RecordsOracle.Geo(
                    code: $0.code, isCounty: $0.kind == .county, area: $0.area.rawValue, inTotal: $0.inTotal)
            }
        }

        @Test(
            "the demo's snapshot: records/ recomputes indicators.csv, sti explain traces figures, report.html shows them"
        )
        func demoSnapshot() async throws {
            try await Bench.offline { bench in
                let out = bench.scratch.file("demo-out")
                let demo = try await Self.sti(bench, ["demo", "--out", out, "--samples", Self.samples])
                #expect(demo.succeeded, "sti demo failed (\(demo.status)): \(demo.stderrText)")
                let snapshot = try Snapshot.latest(out: out)
                #expect(demo.stdoutText.contains("report: \(out)/latest/report.html"), "\(demo.stdoutText)")

                // 1. Every figure of indicators.csv from records/ alone.
                let expected = try RecordsOracle.recompute(runDirectory: snapshot.directory, order: Self.order)
                let rows = Array(try snapshot.rows("indicators.csv").dropFirst())
                // Three years: the samples' 2024 and 2025, and 2023 from the Chinese R&D sample (rd_zh_2023.csv).
                #expect(rows.count == expected.count && rows.count == 3 * 20 * 10)
                var checked = 0
                for row in rows {
                    let mine = expected["\(row[0])|\(row[1])|\(row[4])"]
                    #expect(mine == [row[5], row[7], row[8], row[9]], "\(row) recomputed as \(mine ?? [])")
                    checked += 1
                }
                #expect(checked == 600)
                #expect(rows.contains { $0[5] != "" && $0[7] == "ok" })

                // 2. The manifest lists every file of the folder with its rows and SHA-256.
                let manifest = try snapshot.manifest()
                let listed = (manifest["files"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                let onDisk = try Self.filesBelow(snapshot.directory).filter { $0 != "manifest.json" }
                #expect(Set(listed) == Set(onDisk), "\(Set(listed).symmetricDifference(onDisk))")
                #expect(
                    listed.contains("records/2025/rd.csv") && listed.contains("revisions.csv")
                        && listed.contains("report.html"))

                // 3. sti explain, a ratio of the city: numerator and denominator records with offsets.
                let explained = try await Self.sti(
                    bench,
                    [
                        "explain", "--out", out, "--year", "2025", "--geo", "530100",
                        "--indicator", "rd_intensity",
                    ])
                #expect(explained.succeeded, "\(explained.stderrText)")
                let city = try #require(rows.first { $0[0] == "2025" && $0[1] == "530100" && $0[4] == "rd_intensity" })
                #expect(
                    explained.stdoutText.contains("value: \(city[5])  status: \(city[7])"), "\(explained.stdoutText)")
                #expect(explained.stdoutText.contains("numerator: Σ expenditure_10k_cny of active rd records"))
                #expect(explained.stdoutText.contains("denominator: Σ gdp_100m_cny of active county-profile records"))
                // Every rd record of a constituent county in records/2025/rd.csv is listed with its offset.
                let rd = Array(try snapshot.rows("records/2025/rd.csv").dropFirst())
                let members = Set(Registry.kunming.derived.first { $0.code == "530100" }!.constituents)
                for r in rd where members.contains(r[0]) {
                    #expect(
                        explained.stdoutText.contains(
                            "  \(r[0]) \(r[2]) expenditure_10k_cny=\(r[3]) revision \(r[4])  \(r[8]) partition \(r[9]) offset \(r[10])"
                        ),
                        "rd record \(r) not listed")
                }

                // 4. Bad arguments are named.
                for (args, phrase) in [
                    (["--geo", "999999", "--year", "2025", "--indicator", "rd_intensity"], "--geo 999999"),
                    (["--geo", "530102", "--year", "1999", "--indicator", "rd_intensity"], "--year 1999"),
                    (["--geo", "530102", "--year", "2025", "--indicator", "gdp"], "--indicator gdp"),
                ] {
                    let bad = try await Self.sti(bench, ["explain", "--out", out] + args)
                    #expect(!bad.succeeded && bad.stderrText.contains(phrase), "\(args): \(bad.stderrText)")
                }

                // 5. report.html: every figure it shows is the text of indicators.csv.
                let html = try snapshot.text("report.html")
                let figures = ReportFigures.parse(html)
                #expect(figures.count >= 200)
                var byKey: [String: (String, String)] = [:]
                for row in rows { byKey["\(row[0])|\(row[1])|\(row[4])"] = (row[5], row[7]) }
                for f in figures {
                    let want = byKey["\(f.year)|\(f.geo)|\(f.indicator)"]
                    #expect(
                        want?.0 == f.value && want?.1 == f.status,
                        "report shows \(f) but indicators.csv has \(String(describing: want))")
                }
                #expect(!html.contains("<script"), "the report has no script")
                #expect(!html.contains("http://") && !html.contains("https://"), "the report loads nothing")

                // 6. sti report writes the same bytes again.
                let before = try snapshot.bytes("report.html")
                let again = try await Self.sti(bench, ["report", "--out", out])
                #expect(again.succeeded, "\(again.stderrText)")
                #expect(try snapshot.bytes("report.html") == before)
            }
        }

        /// `sti` with Debian's librdkafka (the demo's embedded mock cluster needs the library its
        /// headers came from); explain and report talk to no broker at all.
        static func sti(_ bench: Bench, _ arguments: [String]) async throws -> ProcessResult {
            let path = bench.stiPath
            return try await onDedicatedThread {
                try ChildProcess.run(
                    path, arguments, environment: KafkaTestEnvironment.defaultLibraryEnvironment(),
                    timeout: .seconds(180))
            }
        }

        static func filesBelow(_ dir: String) throws -> [String] {
            var names: [String] = []
            let enumerator = FileManager.default.enumerator(atPath: dir)
            while let name = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDirectory)
                if !isDirectory.boolValue { names.append(name) }
            }
            return names
        }
    }
}

/// The figures of report.html: elements with `data-year`, `data-geo`, `data-indicator`,
/// `data-status` and `data-value` (attribute values HTML-unescaped).
enum ReportFigures {
    struct Figure: CustomStringConvertible {
        var year, geo, indicator, status, value: String
        var description: String { "\(year) \(geo) \(indicator) \(value.debugDescription) \(status)" }
    }

    static func parse(_ html: String) -> [Figure] {
        var result: [Figure] = []
        var rest = Substring(html)
        while let start = rest.range(of: "data-year=\"") {
            let tagEnd = rest[start.upperBound...].firstIndex(of: ">") ?? rest.endIndex
            let tagStart: Substring.Index = rest[..<start.lowerBound].lastIndex(of: "<") ?? start.lowerBound
            let tag: Substring = rest[tagStart..<tagEnd]
            func attr(_ name: String) -> String {
                guard let r = tag.range(of: " \(name)=\"") else { return "?" }
                let v = tag[r.upperBound...].prefix { $0 != "\"" }
                return String(v).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(
                    of: "&#39;", with: "'"
                )
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&amp;", with: "&")
            }
            result.append(
                Figure(
                    year: attr("data-year"), geo: attr("data-geo"), indicator: attr("data-indicator"),
                    status: attr("data-status"), value: attr("data-value")))
            rest = rest[tagEnd...]
        }
        return result
    }
}
