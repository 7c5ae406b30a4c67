// .xlsx feeds (issue 15): read into the same rows as a CSV feed, numbers from the exact text
// the file stores, dates from serials, every error naming sheet, cell and header; other
// formats and hostile workbooks refused with a clear error and bounded memory.

import Foundation
import STIProtocol
import Testing

@testable import STIPipeline

@Suite struct XLSXFeedTests {
    typealias B = XLSXTestBook
    static let at = "2026-01-15T09:30:00+08:00"
    let reader = FeedReader(kind: .rd, submittedAt: XLSXFeedTests.at)

    func values(_ rows: [FeedReader.Row]) -> [String] { rows.map { String(decoding: $0.value, as: UTF8.self) } }

    func check(_ path: String, kind: RecordKind = .rd, sheet: String? = nil) -> Submitter.CheckResult {
        var options = Submitter.Options(kind: kind)
        options.sheet = sheet
        return Submitter(options: options).check(
            paths: [path], submittedAt: Self.at, now: Date(timeIntervalSince1970: 1_768_440_600))
    }

    func csv(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "sti-xlsx-csv-\(UUID().uuidString).csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aSheetGivesTheSameMessagesAsTheCSV() throws {
        let book = try B.write(
            sheet1: B.sheet(
                B.row(
                    1, B.t("A1", "county"), B.t("B1", "year"), B.t("C1", "performer"), B.t("D1", "expenditure_10k_cny"))
                    + B.row(2, B.n("A2", "530102"), B.n("B2", "2024"), B.t("C2", "medical"), B.n("D2", "100.5", s: 3))
                    + B.row(4, B.t("A4", "530103"), B.n("B4", "2024"), B.t("C4", "other"), B.n("D4", "1.5E-3"))))
        let sheetRows = try reader.read(path: book)
        let csvRows = try reader.read(
            path: try csv(
                "county,year,performer,expenditure_10k_cny\n530102,2024,medical,100.5\n\n530103,2024,other,0.0015\n"))
        #expect(
            values(sheetRows) == values(csvRows), "the empty row 3 is skipped and 1.5E-3 is written exactly as 0.0015")
        #expect(sheetRows.map(\.line) == [2, 4], "a row's line is its row number in the sheet")
        #expect(sheetRows.map(\.key) == ["530102", "530103"])
        #expect(check(book).problems.isEmpty)
    }

    @Test func aBinaryFloatArtefactIsEPrecisionNamingSheetCellAndHeader() throws {
        let book = try B.write(
            sheet1: B.sheet(
                B.row(1, B.t("A1", "县区代码"), B.t("B1", "年份"), B.t("C1", "执行部门"), B.t("D1", "R&D经费支出（万元）"))
                    + B.row(
                        17, B.t("A17", "530102"), B.n("B17", "2024"), B.t("C17", "医疗机构"),
                        B.n("D17", "12.345600000000001", s: 3))))
        let rows = try reader.read(path: book)
        #expect(values(rows)[0].contains(#""expenditure_10k_cny":12.345600000000001"#), "never rounded silently")
        let result = check(book)
        #expect(result.problems.count == 1)
        let problem = try #require(result.problems.first)
        #expect(problem.errors.map(\.code) == [.precision])
        #expect(problem.description.contains("sheet 数据, cell D17 (column R&D经费支出（万元）)"), "\(problem.description)")
        #expect(problem.description.contains("round it in the sheet"), "\(problem.description)")
    }

    @Test func errorsOfOtherFieldsNameTheirCell() throws {
        let book = try B.write(
            sheet1: B.sheet(
                B.row(
                    1, B.t("B1", "county"), B.t("C1", "year"), B.t("D1", "performer"), B.t("E1", "expenditure_10k_cny"))
                    + B.row(5, B.t("B5", "530102"), B.n("C5", "2024"), B.t("D5", "技术服务"), B.n("E5", "1"))))
        let problem = try #require(check(book).problems.first)
        #expect(problem.errors.map(\.code) == [.enumeration])
        #expect(problem.description.contains("cell D5 (column performer)"), "\(problem.description)")
    }

    @Test func dateCellsBecomeISODatesIn1900And1904Systems() throws {
        #expect(XLSXReader.dateText(serial: 1, date1904: false) == "1900-01-01")
        #expect(XLSXReader.dateText(serial: 59, date1904: false) == "1900-02-28")
        #expect(XLSXReader.dateText(serial: 60, date1904: false) == nil, "Excel's 1900-02-29 never was")
        #expect(XLSXReader.dateText(serial: 61, date1904: false) == "1900-03-01")
        #expect(XLSXReader.dateText(serial: 45658, date1904: false) == "2025-01-01")
        #expect(XLSXReader.dateText(serial: 0, date1904: true) == "1904-01-01")
        #expect(XLSXReader.dateText(serial: 44196, date1904: true) == "2025-01-01")
        let contracts = FeedReader(kind: .techContract, submittedAt: Self.at)
        for (date1904, serial) in [(false, "45663"), (true, "44201")] {
            let book = try B.write(
                sheet1: B.sheet(
                    B.row(1, B.t("A1", "registered_on"), B.t("B1", "登记日期"), B.t("C1", "contract_no"))
                        + B.row(2, B.n("A2", serial, s: 1), B.n("B2", serial, s: 2), B.n("C2", serial, s: 3))),
                date1904: date1904)
            // Two columns for one field are refused; so read them one by one.
            #expect(throws: FeedError.self) { try contracts.read(path: book) }
            let single = try B.write(
                sheet1: B.sheet(
                    B.row(1, B.t("A1", "registered_on"), B.t("B1", "contract_no"))
                        + B.row(2, B.n("A2", serial, s: 2), B.n("B2", serial, s: 3))), date1904: date1904)
            let value = try #require(values(try contracts.read(path: single)).first)
            #expect(value.contains(#""registered_on":"2025-01-06""#), "\(value)")
            #expect(value.contains(#""contract_no":"\#(serial)""#), "a 0.0000 format is no date: \(value)")
        }
        let bug = try B.write(sheet1: B.sheet(B.row(1, B.t("A1", "registered_on")) + B.row(2, B.n("A2", "60", s: 1))))
        #expect { try contracts.read(path: bug) } throws: {
            "\($0)".contains("cell A2") && "\($0)".contains("1900-02-29")
        }
        #expect(XLSXReader.isDateFormat("yyyy/m/d;@") && XLSXReader.isDateFormat("[$-804]YYYY\"年\"M\"月\"D\"日\""))
        #expect(
            !XLSXReader.isDateFormat("0.0000") && !XLSXReader.isDateFormat("#,##0.00\"元\"")
                && !XLSXReader.isDateFormat("[Red]0.00"))
    }

    @Test func sharedStringsAndTheSheetOption() throws {
        let shared =
            #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>county</t></si><si><r><t>per</t></r><r><t>former</t></r></si><si><t>规模以上企业</t><rPh><t>guimo</t></rPh></si></sst>"#
        let second = B.sheet(
            B.row(1, #"<c r="A1" t="s"><v>0</v></c>"#, #"<c r="B1" t="s"><v>1</v></c>"#, B.t("C1", "year"))
                + B.row(2, B.n("A2", "530102"), #"<c r="B2" t="s"><v>2</v></c>"#, B.n("C2", "2024")))
        let book = try B.write(sheet1: B.sheet(B.row(1, B.t("A1", "nothing"))), sheet2: second, sharedStrings: shared)
        var chosen = reader
        chosen.sheet = "第二"
        let value = try #require(values(try chosen.read(path: book)).first)
        #expect(
            value.contains(#""performer":"enterprise_above_scale""#),
            "rich text runs joined, the phonetic guide left out, the label mapped: \(value)")
        chosen.sheet = "missing"
        #expect { try chosen.read(path: book) } throws: {
            "\($0)".contains("no sheet named missing (its sheets: 数据, 第二)")
        }
    }

    @Test func formulaCellsAreRefusedNamingTheCell() throws {
        let book = try B.write(
            sheet1: B.sheet(
                B.row(1, B.t("A1", "county"), B.t("B1", "expenditure_10k_cny"))
                    + B.row(9, B.t("A9", "530102"), #"<c r="B9"><f>SUM(C1:C8)</f><v>12</v></c>"#)))
        #expect { try reader.read(path: book) } throws: { error in
            let text = "\(error)"
            return text.contains("sheet 数据, cell B9") && text.contains("formula (=SUM(C1:C8))")
                && text.contains("paste as values")
        }
    }

    @Test func otherFormatsGetWhatToDo() throws {
        let dir = NSTemporaryDirectory()
        let ole: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 504)
        let xls = dir + "sti-\(UUID().uuidString).xls"
        try Data(ole).write(to: URL(fileURLWithPath: xls))
        #expect { try reader.read(path: xls) } throws: {
            "\($0)".contains("Excel 97–2003 workbook (.xls)") && "\($0)".contains("save it as .xlsx")
        }
        let encrypted = dir + "sti-\(UUID().uuidString).xlsx"
        try Data(
            ole + Array("EncryptionInfo".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
                + Array(repeating: 0, count: 64)
        )
        .write(to: URL(fileURLWithPath: encrypted))
        #expect { try reader.read(path: encrypted) } throws: {
            "\($0)".contains("encrypted (password-protected)") && "\($0)".contains("remove the password")
        }
        let xlsm = try B.write(sheet1: B.sheet(""), ext: "xlsm")
        #expect { try reader.read(path: xlsm) } throws: { "\($0)".contains("macro-enabled workbook (.xlsm)") }
        let disguised = try B.write(sheet1: B.sheet(""), extra: [("xl/vbaProject.bin", Data([1, 2, 3]))])
        #expect { try reader.read(path: disguised) } throws: { "\($0)".contains("macro-enabled") }
        let text = dir + "sti-\(UUID().uuidString).xlsx"
        try Data("county,year\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect { try reader.read(path: text) } throws: { "\($0)".contains("not a zip container") }
    }

    @Test func aZipBombStopsAtTheCapWhileInflating() throws {
        // 40 MiB of one byte deflates to a few tens of KiB; the cap here is 1 MiB.
        let bomb = B.sheet("<row r=\"1\">" + String(repeating: " ", count: 40 << 20) + "</row>")
        let book = try B.write(sheet1: bomb)
        var small = reader
        small.xlsxLimits.maxEntryBytes = 1 << 20
        #expect { try small.read(path: book) } throws: { "\($0)".contains("inflates to more than 1 MiB") }
        small.xlsxLimits = XLSXLimits()
        small.xlsxLimits.maxTotalBytes = 2 << 20
        #expect { try small.read(path: book) } throws: { "\($0)".contains("more than 2 MiB together") }
        // A file larger than the whole budget is refused before it is read.
        small.xlsxLimits.maxTotalBytes = 1 << 10
        #expect { try small.read(path: book) } throws: {
            "\($0)".contains("more than the 0 MiB a feed workbook may be")
        }
    }

    @Test func hugeSharedStringTablesDeepXMLAndWideSheetsAreRefused() throws {
        let many = "<sst>" + String(repeating: "<si><t>x</t></si>", count: 2_000) + "</sst>"
        var limited = reader
        limited.xlsxLimits.maxSharedStrings = 1_000
        let book = try B.write(sheet1: B.sheet(""), sharedStrings: many)
        #expect { try limited.read(path: book) } throws: { "\($0)".contains("more than 1000 entries") }
        limited.xlsxLimits = XLSXLimits()
        limited.xlsxLimits.maxSharedStringBytes = 1 << 10
        let long = try B.write(
            sheet1: B.sheet(""),
            sharedStrings: "<sst><si><t>" + String(repeating: "长", count: 1_000) + "</t></si></sst>")
        #expect { try limited.read(path: long) } throws: { "\($0)".contains("shared-string table holds more than") }
        let deep = try B.write(
            sheet1: B.sheet(String(repeating: "<x>", count: 200) + String(repeating: "</x>", count: 200)))
        #expect { try reader.read(path: deep) } throws: { "\($0)".contains("nested more than 32 elements deep") }
        let wide = try B.write(sheet1: B.sheet(B.row(1, B.t("BZ1", "county"))))
        #expect { try reader.read(path: wide) } throws: {
            "\($0)".contains("cell BZ1") && "\($0)".contains("at most 64 columns")
        }
        let entities = try B.write(
            sheet1: #"<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><worksheet><sheetData/></worksheet>"#)
        #expect { try reader.read(path: entities) } throws: { "\($0)".contains("declares a DTD or entities") }
        var fewRows = reader
        fewRows.xlsxLimits.maxRows = 10
        let tall = try B.write(sheet1: B.sheet(B.row(1, B.t("A1", "county")) + B.row(11, B.t("A11", "530102"))))
        #expect { try fewRows.read(path: tall) } throws: { "\($0)".contains("more than 10 rows") }
    }

    @Test func valuesOutsideTheHeaderAndErrorCellsAreNamed() throws {
        let outside = try B.write(
            sheet1: B.sheet(B.row(1, B.t("A1", "county")) + B.row(3, B.t("A3", "530102"), B.t("C3", "stray"))))
        #expect { try reader.read(path: outside) } throws: {
            "\($0)".contains("cell C3: a value outside the header's columns A1–A1")
        }
        let errorCell = try B.write(
            sheet1: B.sheet(B.row(1, B.t("A1", "county")) + B.row(2, #"<c r="A2" t="e"><v>#N/A</v></c>"#)))
        #expect { try reader.read(path: errorCell) } throws: { "\($0)".contains("cell A2: holds the error #N/A") }
        let gap = try B.write(sheet1: B.sheet(B.row(1, B.t("A1", "county"), B.t("C1", "year"))))
        #expect { try reader.read(path: gap) } throws: {
            "\($0)".contains("sheet 数据, row 1: a header column (cell B1) has no name")
        }
    }

    @Test func plainDecimalIsExact() {
        #expect(XLSXReader.plainDecimal("12.345600000000001") == "12.345600000000001")
        #expect(XLSXReader.plainDecimal("1.5E-3") == "0.0015")
        #expect(XLSXReader.plainDecimal("1E+3") == "1000")
        #expect(XLSXReader.plainDecimal("-2.5e2") == "-250")
        #expect(XLSXReader.plainDecimal("123456789012345E-20") == "0.00000123456789012345")
        #expect(XLSXReader.plainDecimal("1e999") == nil)
        #expect(XLSXReader.plainDecimal("abc") == nil)
    }
}
