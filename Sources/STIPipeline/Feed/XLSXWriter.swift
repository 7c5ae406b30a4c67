public import Foundation
import ZIPFoundation

/// One cell of a workbook `XLSXWriter` writes: text (an inline string: it is shown as written
/// and can never run as a formula, whatever it starts with), a number (its exact decimal text,
/// never a Double), or nothing; and a style.
public struct XLSXCell: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case text(String)
        case number(String)
        case empty
    }
    public enum Style: Int, Sendable, CaseIterable {
        case plain = 0
        case header, decimal4, integer, text, good, warning, bad, date, note
    }
    public var value: Value
    public var style: Style
    public init(_ value: Value, style: Style = .plain) {
        self.value = value
        self.style = style
    }
    public static func text(_ s: String, _ style: Style = .plain) -> XLSXCell { XLSXCell(.text(s), style: style) }
    public static func number(_ s: String, _ style: Style = .plain) -> XLSXCell { XLSXCell(.number(s), style: style) }
    public static let empty = XLSXCell(.empty)
}

/// A sheet to write.
public struct XLSXSheetSpec: Sendable {
    /// A drop-down list (data validation of type list) over a range of cells.
    public struct ListValidation: Sendable {
        public var range: String
        public var values: [String]
        /// Whether a value off the list is refused (`stop`) or only warned about.
        public var strict: Bool
        public var prompt: String?
        public init(range: String, values: [String], strict: Bool = true, prompt: String? = nil) {
            self.range = range
            self.values = values
            self.strict = strict
            self.prompt = prompt
        }
    }

    public var name: String
    public var rows: [[XLSXCell]]
    /// Column widths in characters, from column A.
    public var widths: [Double]
    /// Styles applied to whole columns (empty cells a clerk fills take them), from column A.
    public var columnStyles: [XLSXCell.Style?]
    public var validations: [ListValidation]
    /// Rows kept in view when scrolling (the header).
    public var frozenRows: Int

    public init(
        name: String, rows: [[XLSXCell]], widths: [Double] = [], columnStyles: [XLSXCell.Style?] = [],
        validations: [ListValidation] = [], frozenRows: Int = 0
    ) {
        self.name = name
        self.rows = rows
        self.widths = widths
        self.columnStyles = columnStyles
        self.validations = validations
        self.frozenRows = frozenRows
    }
}

/// Writes `.xlsx` workbooks (SpreadsheetML, ECMA-376 transitional) from generated, escaped XML
/// zipped by ZIPFoundation. No formulas are ever written in cells; text is inline strings.
/// The output is deterministic (fixed entry dates), so the same sheets give the same bytes.
/// Chinese text needs nothing special: the parts are UTF-8 XML, which Excel, WPS and
/// LibreOffice read the same on every locale (unlike a CSV without a byte-order mark).
public enum XLSXWriter {
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The workbook's bytes.
    public static func data(sheets: [XLSXSheetSpec]) throws(WriteError) -> Data {
        var parts: [(String, Data)] = []
        parts.append(("[Content_Types].xml", Data(contentTypes(sheets.count).utf8)))
        parts.append(("_rels/.rels", Data(rootRels.utf8)))
        parts.append(("xl/workbook.xml", Data(workbook(sheets).utf8)))
        parts.append(("xl/_rels/workbook.xml.rels", Data(workbookRels(sheets.count).utf8)))
        parts.append(("xl/styles.xml", Data(styles.utf8)))
        for (index, sheet) in sheets.enumerated() {
            parts.append(("xl/worksheets/sheet\(index + 1).xml", Data(worksheet(sheet).utf8)))
        }
        return try zip(parts)
    }

    /// A zip of the given parts, deflated, with fixed entry dates (also for the fuzz target,
    /// which wraps its input as a sheet of an otherwise valid workbook).
    public static func zip(_ parts: [(String, Data)]) throws(WriteError) -> Data {
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            // 2000-01-01: zip dates start in 1980; a fixed one keeps the bytes reproducible.
            let fixed = Date(timeIntervalSince1970: 946_684_800)
            for (name, bytes) in parts {
                try archive.addEntry(
                    with: name, type: .file, uncompressedSize: Int64(bytes.count), modificationDate: fixed,
                    compressionMethod: .deflate
                ) { position, size in
                    bytes.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            guard let data = archive.data else { throw WriteError(description: "the zip archive has no data") }
            return data
        } catch let error as WriteError {
            throw error
        } catch {
            throw WriteError(description: "cannot build the workbook: \(error)")
        }
    }

    /// Writes the workbook to `url` (through a temporary file in the same folder, renamed).
    public static func write(sheets: [XLSXSheetSpec], to url: URL) throws(WriteError) {
        let bytes = try data(sheets: sheets)
        do { try bytes.write(to: url, options: .atomic) } catch {
            throw WriteError(description: "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    // MARK: Parts

    static func contentTypes(_ count: Int) -> String {
        var s = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        s += #"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#
        s += #"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#
        s += #"<Default Extension="xml" ContentType="application/xml"/>"#
        s +=
            #"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#
        s +=
            #"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#
        for i in 1...max(1, count) {
            s +=
                #"<Override PartName="/xl/worksheets/sheet\#(i).xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        }
        return s + "</Types>"
    }

    static let rootRels =
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        + #"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#
        + "</Relationships>"

    static func workbook(_ sheets: [XLSXSheetSpec]) -> String {
        var s = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        s +=
            #"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
        s += "<workbookPr/><sheets>"
        for (i, sheet) in sheets.enumerated() {
            s += #"<sheet name="\#(escape(sheetName(sheet.name)))" sheetId="\#(i + 1)" r:id="rId\#(i + 1)"/>"#
        }
        return s + "</sheets></workbook>"
    }

    /// Excel's rules for a sheet name: at most 31 characters, none of `\ / ? * [ ] :`.
    static func sheetName(_ name: String) -> String {
        let cleaned = String(name.map { "\\/?*[]:".contains($0) ? "_" : $0 }.prefix(31))
        return cleaned.isEmpty ? "Sheet" : cleaned
    }

    static func workbookRels(_ count: Int) -> String {
        var s = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        s += #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        for i in 1...max(1, count) {
            s +=
                #"<Relationship Id="rId\#(i)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet\#(i).xml"/>"#
        }
        s +=
            #"<Relationship Id="rId\#(count + 1)" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#
        return s + "</Relationships>"
    }

    /// Cell formats in the order of `XLSXCell.Style`: plain, header (bold, wrapped, grey),
    /// 4 decimals, integer, text (`@`, so a typed 530102 stays text), good (green), warning
    /// (yellow), bad (red), date (yyyy-mm-dd), note (wrapped text).
    static let styles =
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        + #"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#
        + #"<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0000"/><numFmt numFmtId="165" formatCode="yyyy\-mm\-dd"/></numFmts>"#
        + #"<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>"#
        + #"<fills count="6"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>"#
        + #"<fill><patternFill patternType="solid"><fgColor rgb="FFD9D9D9"/><bgColor indexed="64"/></patternFill></fill>"#
        + #"<fill><patternFill patternType="solid"><fgColor rgb="FFC6EFCE"/><bgColor indexed="64"/></patternFill></fill>"#
        + #"<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/><bgColor indexed="64"/></patternFill></fill>"#
        + #"<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/><bgColor indexed="64"/></patternFill></fill></fills>"#
        + #"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#
        + #"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#
        + #"<cellXfs count="10">"#
        + #"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#
        + #"<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyNumberFormat="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>"#
        + #"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="49" fontId="0" fillId="3" borderId="0" xfId="0" applyFill="1" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="49" fontId="0" fillId="4" borderId="0" xfId="0" applyFill="1" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="49" fontId="0" fillId="5" borderId="0" xfId="0" applyFill="1" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#
        + #"<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>"#
        + "</cellXfs>"
        + #"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#
        + "</styleSheet>"

    static func worksheet(_ sheet: XLSXSheetSpec) -> String {
        var s = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
        s +=
            #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
        if sheet.frozenRows > 0 {
            s +=
                #"<sheetViews><sheetView workbookViewId="0"><pane ySplit="\#(sheet.frozenRows)" topLeftCell="A\#(sheet.frozenRows + 1)" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>"#
        }
        let columns = max(sheet.widths.count, sheet.columnStyles.count)
        if columns > 0 {
            s += "<cols>"
            for i in 0..<columns {
                let width = i < sheet.widths.count ? sheet.widths[i] : 12
                let style =
                    i < sheet.columnStyles.count ? sheet.columnStyles[i].map { #" style="\#($0.rawValue)""# } ?? "" : ""
                s += #"<col min="\#(i + 1)" max="\#(i + 1)" width="\#(width)" customWidth="1"\#(style)/>"#
            }
            s += "</cols>"
        }
        s += "<sheetData>"
        for (r, row) in sheet.rows.enumerated() {
            s += #"<row r="\#(r + 1)">"#
            for (c, cell) in row.enumerated() {
                let ref = SheetPlace.columnLetters(c) + String(r + 1)
                let style = cell.style == .plain ? "" : #" s="\#(cell.style.rawValue)""#
                switch cell.value {
                case .empty:
                    if cell.style != .plain { s += #"<c r="\#(ref)"\#(style)/>"# }
                case .number(let n):
                    s += #"<c r="\#(ref)"\#(style)><v>\#(escape(n))</v></c>"#
                case .text(let t):
                    let space =
                        t.first?.isWhitespace == true || t.last?.isWhitespace == true || t.contains("\n")
                        ? #" xml:space="preserve""# : ""
                    s += #"<c r="\#(ref)"\#(style) t="inlineStr"><is><t\#(space)>\#(escape(t))</t></is></c>"#
                }
            }
            s += "</row>"
        }
        s += "</sheetData>"
        if !sheet.validations.isEmpty {
            s += #"<dataValidations count="\#(sheet.validations.count)">"#
            for v in sheet.validations {
                let error = v.strict ? "" : #" errorStyle="warning""#
                let prompt =
                    v.prompt.map { #" showInputMessage="1" prompt="\#(escape(String($0.prefix(255))))""# } ?? ""
                // A list of literal values: quoted, comma-separated (Excel allows 255 characters).
                let list = "\"" + v.values.joined(separator: ",").replacingOccurrences(of: "\"", with: "\"\"") + "\""
                s +=
                    #"<dataValidation type="list" allowBlank="1" showErrorMessage="1"\#(error)\#(prompt) sqref="\#(v.range)"><formula1>\#(escape(list))</formula1></dataValidation>"#
            }
            s += "</dataValidations>"
        }
        return s + "</worksheet>"
    }

    /// Text for XML content and attributes: `& < > "` escaped; characters XML 1.0 cannot hold
    /// (controls other than tab, line feed, carriage return) written as OOXML's `_xHHHH_`, and
    /// an underscore that would read as such an escape written as `_x005F_`.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let scalars = Array(text.unicodeScalars)
        for (i, scalar) in scalars.enumerated() {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "_"
            where i + 6 < scalars.count && scalars[i + 1] == "x" && scalars[i + 6] == "_"
                && scalars[(i + 2)...(i + 5)].allSatisfy({ $0.properties.isASCIIHexDigit }):
                out += "_x005F_"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "_x" + String(repeating: "0", count: 4 - hex.count) + hex + "_"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
