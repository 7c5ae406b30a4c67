// Workbooks sti writes (issue 15): templates a clerk fills in and snapshot.xlsx. Read back
// with sti's own reader here; LibreOfficeTests reads them with Calc.

import Foundation
import STIProtocol
import Testing
import ZIPFoundation

@testable import STIPipeline

@Suite struct XLSXWriterTests {
    func part(_ data: Data, _ name: String) throws -> String {
        let archive = try Archive(data: data, accessMode: .read)
        let entry = try #require(archive[name])
        var out = Data()
        _ = try archive.extract(entry) { out.append($0) }
        return String(decoding: out, as: UTF8.self)
    }

    func temp(_ name: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory() + "sti-writer-\(UUID().uuidString)-\(name)")
    }

    @Test func textIsEscapedAndNeverAFormula() throws {
        let sheet = XLSXSheetSpec(
            name: "a/b:c", rows: [[.text("=HYPERLINK(\"x\")"), .text("<&>\u{1}_x0041_"), .number("12.5")]])
        let data = try XLSXWriter.data(sheets: [sheet])
        let xml = try part(data, "xl/worksheets/sheet1.xml")
        #expect(xml.contains(#"<c r="A1" t="inlineStr"><is><t>=HYPERLINK(&quot;x&quot;)</t></is></c>"#), "\(xml)")
        #expect(xml.contains("&lt;&amp;&gt;_x0001__x005F_x0041_"))
        #expect(xml.contains(#"<c r="C1"><v>12.5</v></c>"#))
        #expect(!xml.contains("<f>"))
        #expect(try part(data, "xl/workbook.xml").contains(#"name="a_b_c""#))
        #expect(try XLSXWriter.data(sheets: [sheet]) == data, "the same sheets give the same bytes")
        let url = temp("escaped.xlsx")
        try data.write(to: url)
        var reader = XLSXReader(path: url.path)
        #expect(try reader.read(sheet: nil).rows.first?.cells[1] == "<&>\u{1}_x0041_", "escapes decoded back")
    }

    @Test func aTemplateFilledInIsAValidFeed() throws {
        let sheets = try FeedTemplate.sheets(kind: .rd, county: "530102", year: 2025)
        #expect(sheets.map(\.name) == [FeedTemplate.dataSheet, FeedTemplate.notesSheet])
        var data = sheets[0]
        #expect(data.rows.count == 7, "a header and one row per performer")
        #expect(data.validations.contains { $0.range == "C2:C2001" && $0.values.first == "规模以上企业" })
        for r in 1..<data.rows.count { data.rows[r][3] = .number("\(r * 100).25", .decimal4) }
        data.rows[1][5] = .text("新建研发中心投产", .note)
        let url = temp("rd.xlsx")
        try XLSXWriter.write(sheets: [data, sheets[1]], to: url)
        let result = Submitter(options: .init(kind: .rd)).check(
            paths: [url.path], submittedAt: "2026-01-15T09:30:00+08:00")
        #expect(result.problems.isEmpty, "\(result.problems)")
        let records = result.files.flatMap(\.valid).map(\.record)
        #expect(records.count == 6)
        #expect(records.first?.explanation == "新建研发中心投产")
        if case .rd(let rd)? = records.first?.body {
            #expect(rd.performer == .enterpriseAboveScale && rd.year == 2025 && rd.expenditure.description == "100.25")
        } else {
            Issue.record("not an R&D record")
        }
        // An untouched template is refused row by row (no figure yet), naming the cells.
        let blank = temp("blank.xlsx")
        try XLSXWriter.write(sheets: sheets, to: blank)
        let refused = Submitter(options: .init(kind: .rd)).check(
            paths: [blank.path], submittedAt: "2026-01-15T09:30:00+08:00")
        #expect(refused.problems.count == 6)
        #expect(
            refused.problems.first?.description.contains("sheet 填报 data") == true,
            "\(refused.problems.first?.description ?? "")")
        #expect(throws: FeedTemplate.TemplateError.self) {
            try FeedTemplate.sheets(kind: .rd, county: "999999", year: 2025)
        }
    }

    @Test func contractAndProfileTemplatesHaveListsForEveryEnumeratedField() throws {
        let contract = try FeedTemplate.sheets(kind: .techContract, county: "KM-HTZ", year: 2025)[0]
        let headers = contract.rows[0].map { cell -> String in if case .text(let t) = cell.value { t } else { "" } }
        #expect(headers.last == "说明\nexplanation")
        for field in ["contract_type", "domain", "status", "buyer_country", "county"] {
            let column = try #require(headers.firstIndex { $0.hasSuffix("\n" + field) })
            let letter = SheetPlace.columnLetters(column)
            #expect(contract.validations.contains { $0.range.hasPrefix(letter + "2:") }, "\(field)")
        }
        #expect(contract.columnStyles.contains(.decimal4) && contract.columnStyles.contains(.date))
        let profile = try FeedTemplate.sheets(kind: .countyProfile, county: "530102", year: 2025)
        #expect(profile[0].rows.count == 2)
        let notes = profile[1].rows.flatMap { $0 }.compactMap { cell -> String? in
            if case .text(let t) = cell.value { t } else { nil }
        }
        #expect(notes.contains("W_YOY_CHANGE") && notes.contains("gdp_100m_cny"))
    }

    @Test func snapshotWorkbookHoldsTheTablesTyped() throws {
        let tables = [
            WorkbookTable(
                name: "indicators", file: "indicators.csv", header: ["year", "geo_name_zh", "value", "status"],
                rows: [
                    [.number("2025"), .text("五华区"), .number("1.6181"), .text("ok")],
                    [.number("2025"), .text("=1+1"), .number("0.5"), .text("missing")],
                ], statusColumn: "status"),
            WorkbookTable(
                name: "warnings", file: "warnings.csv", header: ["disposition"], rows: [[.text("held")]],
                statusColumn: "disposition"),
        ]
        let data = try SnapshotWorkbook.data(tables)
        let xml = try part(data, "xl/worksheets/sheet1.xml")
        #expect(xml.contains(#"<c r="C2"><v>1.6181</v></c>"#))
        #expect(xml.contains(#"<c r="D2" s="5" t="inlineStr"><is><t>ok</t></is></c>"#), "ok is green")
        #expect(xml.contains(#"<c r="D3" s="7" t="inlineStr"><is><t>missing</t></is></c>"#), "missing is red")
        #expect(xml.contains(#"<c r="B3" t="inlineStr"><is><t>=1+1</t></is></c>"#), "a text cell, never a formula")
        #expect(try part(data, "xl/worksheets/sheet2.xml").contains(#"s="6""#), "held is yellow")
        // Read back by sti's own reader: the same text.
        let url = temp("snapshot.xlsx")
        try data.write(to: url)
        var reader = XLSXReader(path: url.path)
        let sheet = try reader.read(sheet: "indicators")
        #expect(
            sheet.rows.map { $0.cells.sorted { $0.key < $1.key }.map(\.value) }
                == [
                    ["year", "geo_name_zh", "value", "status"], ["2025", "五华区", "1.6181", "ok"],
                    ["2025", "=1+1", "0.5", "missing"],
                ])
    }
}
