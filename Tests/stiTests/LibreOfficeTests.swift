// Workbooks checked with a spreadsheet program no one here wrote: LibreOffice Calc, headless
// (Debian's libreoffice-calc, installed by Deploy/install-deps.sh). Calc converts the Samples
// CSVs to .xlsx and `sti validate` must say exactly what it says of the CSVs; Calc opens a
// template and a snapshot.xlsx and converts them back to CSV with every value equal to what
// was written; and a template filled by Calc itself (a script drives it through UNO, setting
// cells as a clerk types them) goes through `sti submit` on Tansu into the snapshot.
//
// Each soffice runs with a private profile (-env:UserInstallation) so parallel runs never
// share one, and every run is bounded by a timeout. Without soffice the tests are skipped on a
// developer's machine, but fail under CI=true: CI must never pass without running them.
import Foundation
import Kafka
import STITestSupport
import Testing

enum LibreOffice {
    static let soffice: String? = ["/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Run when soffice is there, and always in CI (where its absence is a failure).
    static let enabled = soffice != nil || inCI

    static func require() throws -> String {
        guard let soffice else {
            throw TestEnvironmentError(
                "soffice not found: run Deploy/install-deps.sh (libreoffice-calc); CI=true never skips these tests")
        }
        return soffice
    }

    /// `soffice --headless --convert-to FILTER --outdir DIR FILES…` with a private profile.
    /// CSV files are read as UTF-8 with comma and double quote (the infilter), as the protocol writes them.
    static func convert(_ files: [String], to filter: String, outdir: String, scratch: TemporaryDirectory) async throws
    {
        let soffice = try require()
        let profile = "file://" + scratch.file("lo-profile-\(UUID().uuidString.prefix(8))")
        let infilter = files.allSatisfy { $0.hasSuffix(".csv") } ? ["--infilter=CSV:44,34,76,1"] : []
        let arguments =
            ["-env:UserInstallation=" + profile, "--headless", "--norestore"] + infilter
            + ["--convert-to", filter, "--outdir", outdir] + files
        let result = try await onDedicatedThread { try ChildProcess.run(soffice, arguments, timeout: .seconds(240)) }
        guard result.succeeded else {
            throw TestEnvironmentError(
                "soffice --convert-to \(filter) failed (\(result.status), timed out \(result.timedOut)): \(result.stderrText)"
            )
        }
    }

    /// CSV export of every sheet (`-1`: one file per sheet, NAME-SHEET.csv), UTF-8, values in
    /// full (not "as shown").
    static let csvAllSheets = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    static let csvFirstSheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false"

    /// Rows of a CSV as Calc writes it: LF line ends (inside quoted cells too), `""` for a quote.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var atStart = true
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.unicodeScalars.append(c)
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where atStart:
                quoted = true
                atStart = false
            case ",":
                row.append(field)
                field = ""
                atStart = true
            case "\r": continue
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
                atStart = true
            default:
                field.unicodeScalars.append(c)
                atStart = false
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    static let fillScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("LibreOffice/fill_template.py").path
}

extension EndToEnd {
    @Suite(
        .serialized, .timeLimit(.minutes(8)),
        .enabled(if: LibreOffice.enabled, "LibreOffice (soffice) is not installed; CI=true runs and fails instead"))
    struct LibreOfficeTests {
        static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples").path

        @Test("Samples CSVs converted to .xlsx by LibreOffice validate exactly as the CSVs do")
        func samplesThroughCalc() async throws {
            try await Bench.offline { bench in
                let names = ["county-profiles-2024.csv", "rd_zh_2023.csv", "rd-2025.csv", "tech-contracts-2024.csv"]
                let csvs = try names.map { name -> String in
                    let path = bench.scratch.file(name)
                    try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: path)
                    return path
                }
                try await LibreOffice.convert(csvs, to: "xlsx", outdir: bench.scratch.path, scratch: bench.scratch)
                for csv in csvs {
                    let xlsx = (csv as NSString).deletingPathExtension + ".xlsx"
                    let fromCSV = try await bench.sti(["validate", csv])
                    let fromXLSX = try await bench.sti(["validate", xlsx])
                    #expect(fromCSV.succeeded, "\(csv): \(fromCSV.stderrText)")
                    #expect(fromXLSX.status == fromCSV.status, "\(xlsx): \(fromXLSX.stderrText)")
                    #expect(fromXLSX.stdoutText == fromCSV.stdoutText, "\(xlsx)")
                    // Warnings name the same rows (a sheet's row number is the CSV's line).
                    #expect(
                        fromXLSX.stderrText.replacingOccurrences(of: xlsx, with: csv) == fromCSV.stderrText, "\(xlsx)")
                }
            }
        }

        @Test(
            "a template filled by LibreOffice is submitted on Tansu and reaches the snapshot; Calc reads template and snapshot.xlsx back as written"
        )
        func templateFilledByCalc() async throws {
            try await Bench.with { bench in
                let soffice = try LibreOffice.require()
                let template = bench.scratch.file("rd-530102-2025.xlsx")
                let made = try await bench.sti([
                    "template", "--kind", "rd", "--county", "530102", "--year", "2025", "--out", template,
                ])
                #expect(made.succeeded, "sti template failed: \(made.stderrText)")

                // Calc reads the template as written: headers in both languages, county, year, labels.
                let back = bench.scratch.file("template-csv")
                try FileManager.default.createDirectory(atPath: back, withIntermediateDirectories: true)
                try await LibreOffice.convert(
                    [template], to: LibreOffice.csvFirstSheet, outdir: back, scratch: bench.scratch)
                let templateRows = LibreOffice.parseCSV(
                    try String(contentsOfFile: back + "/rd-530102-2025.csv", encoding: .utf8))
                #expect(
                    templateRows.first == [
                        "县区代码\ncounty", "年份\nyear", "执行部门\nperformer", "R&D经费支出（万元）\nexpenditure_10k_cny",
                        "修订号\nrevision", "说明\nexplanation",
                    ])
                #expect(
                    templateRows.dropFirst().map { Array($0.prefix(3)) }
                        == ["规模以上企业", "其他企业", "科研院所", "高等学校", "医疗机构", "其他"].map { ["530102", "2025", $0] })
                #expect(templateRows.dropFirst().allSatisfy { $0.count >= 5 && $0[3].isEmpty && $0[4] == "1" })

                // A clerk's figures, typed into Calc (through UNO) and saved by Calc as .xlsx.
                let figures = ["60000.5", "20000", "1000.25", "3000", "500", "10.1234"]
                let filled = bench.scratch.file("rd-530102-2025-filled.xlsx")
                var cells: [String] = []
                for (i, figure) in figures.enumerated() { cells += ["D\(i + 2)", "n", figure] }
                cells += ["F2", "t", "新建研发中心投产"]
                let profile = "file://" + bench.scratch.file("lo-fill-profile")
                let arguments = [LibreOffice.fillScript, soffice, profile, template, filled] + cells
                let fill = try await onDedicatedThread {
                    try ChildProcess.run("/usr/bin/python3", arguments, timeout: .seconds(240))
                }
                #expect(fill.succeeded, "filling with LibreOffice failed (\(fill.status)): \(fill.stderrText)")

                try await bench.createTopics(partitions: 3)
                let submit = try await bench.sti(["submit", "--brokers", bench.brokers, "--kind", "rd", filled])
                #expect(submit.succeeded, "sti submit of the filled template failed: \(submit.stderrText)")
                #expect(submit.stdoutText.contains("sent 6, failed 0"), "\(submit.stdoutText)")
                let out = bench.scratch.file("out")
                let run = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--out", out, "--state", bench.scratch.file("state.db"),
                ])
                #expect(run.succeeded, "sti aggregate failed: \(run.stderrText)")
                let snapshot = try Snapshot.latest(out: out)
                let rd = try snapshot.rows("indicators.csv").first {
                    $0[0] == "2025" && $0[1] == "530102" && $0[4] == "rd_expenditure"
                }
                // 84510.8734 万元 = 8.45108734 亿元
                #expect(rd?[5] == "8.45108734", "\(rd ?? [])")

                // snapshot.xlsx is in the manifest with its SHA-256, and Calc reads every sheet back as the CSVs.
                let manifest = try snapshot.manifest()
                let listed = (manifest["files"] as? [[String: Any]] ?? []).first {
                    $0["name"] as? String == "snapshot.xlsx"
                }
                let sum = try ChildProcess.run("/usr/bin/sha256sum", [snapshot.directory + "/snapshot.xlsx"])
                #expect(
                    listed?["sha256"] as? String == sum.stdoutText.split(separator: " ").first.map(String.init),
                    "sha256sum: \(sum.stdoutText)")
                let sheets = bench.scratch.file("snapshot-csv")
                try FileManager.default.createDirectory(atPath: sheets, withIntermediateDirectories: true)
                try await LibreOffice.convert(
                    [snapshot.directory + "/snapshot.xlsx"], to: LibreOffice.csvAllSheets, outdir: sheets,
                    scratch: bench.scratch)
                for name in ["indicators", "completeness", "warnings"] {
                    let fromCalc = LibreOffice.parseCSV(
                        try String(contentsOfFile: sheets + "/snapshot-\(name).csv", encoding: .utf8))
                    let written = try snapshot.rows("\(name).csv")
                    #expect(
                        fromCalc.count == written.count,
                        "\(name): \(fromCalc.count) rows from Calc, \(written.count) in \(name).csv")
                    for (a, b) in zip(fromCalc, written) where a != b.map(Self.unguarded) {
                        Issue.record("\(name): Calc reads \(a), \(name).csv has \(b)")
                        break
                    }
                }
            }
        }

        /// A CSV cell without section 8's spreadsheet guard (a leading `'` before = + - @),
        /// which a workbook's text cells do not need.
        static func unguarded(_ cell: String) -> String {
            if cell.hasPrefix("'"), let next = cell.dropFirst().first, "=+-@\t\r".contains(next) {
                return String(cell.dropFirst())
            }
            return cell
        }
    }
}
