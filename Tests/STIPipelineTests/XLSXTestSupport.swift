// Workbooks for the .xlsx reader's tests: a minimal SpreadsheetML package written part by
// part (so a test can make any part hostile), zipped by ZIPFoundation.

import Foundation
import ZIPFoundation

@testable import STIPipeline

enum XLSXTestBook {
    static let workbookRels =
        #"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/></Relationships>"#

    static func workbook(date1904: Bool = false, sheets: [String] = ["数据"]) -> String {
        var s =
            #"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
        s += date1904 ? #"<workbookPr date1904="1"/>"# : "<workbookPr/>"
        s += "<sheets>"
        for (i, name) in sheets.enumerated() {
            s += #"<sheet name="\#(name)" sheetId="\#(i + 1)" r:id="rId\#(i + 1)"/>"#
        }
        return s + "</sheets></workbook>"
    }

    /// Styles: 0 general, 1 built-in date (14), 2 custom date `yyyy/m/d`, 3 custom `0.0000`.
    static let styles =
        #"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="170" formatCode="yyyy/m/d;@"/><numFmt numFmtId="171" formatCode="0.0000"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="170"/><xf numFmtId="171"/></cellXfs></styleSheet>"#

    static func sheet(_ rows: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
            + rows + "</sheetData></worksheet>"
    }

    /// An inline-string cell.
    static func t(_ ref: String, _ text: String) -> String {
        #"<c r="\#(ref)" t="inlineStr"><is><t>\#(XLSXWriter.escape(text))</t></is></c>"#
    }
    /// A number cell (text as stored), with a style.
    static func n(_ ref: String, _ stored: String, s: Int = 0) -> String {
        #"<c r="\#(ref)" s="\#(s)"><v>\#(stored)</v></c>"#
    }
    static func row(_ r: Int, _ cells: String...) -> String { #"<row r="\#(r)">"# + cells.joined() + "</row>" }

    /// A zip of the given parts, deflated.
    static func zip(_ parts: [(String, Data)]) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, data) in parts {
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return archive.data!
    }

    /// A workbook whose first sheet is `sheet1` (and `sheet2` if given), written to a temp file.
    static func write(
        sheet1: String, sheet2: String? = nil, sharedStrings: String? = nil, date1904: Bool = false,
        extra: [(String, Data)] = [], ext: String = "xlsx", sheets: [String]? = nil
    ) throws -> String {
        var parts: [(String, Data)] = [
            ("[Content_Types].xml", Data(XLSXWriter.contentTypes(2).utf8)),
            (
                "xl/workbook.xml",
                Data(workbook(date1904: date1904, sheets: sheets ?? (sheet2 == nil ? ["数据"] : ["数据", "第二"])).utf8)
            ),
            ("xl/_rels/workbook.xml.rels", Data(workbookRels.utf8)),
            ("xl/styles.xml", Data(styles.utf8)),
            ("xl/worksheets/sheet1.xml", Data(sheet1.utf8)),
        ]
        if let sheet2 { parts.append(("xl/worksheets/sheet2.xml", Data(sheet2.utf8))) }
        if let sharedStrings { parts.append(("xl/sharedStrings.xml", Data(sharedStrings.utf8))) }
        parts += extra
        let path = NSTemporaryDirectory() + "sti-xlsx-\(UUID().uuidString).\(ext)"
        try zip(parts).write(to: URL(fileURLWithPath: path))
        return path
    }
}
