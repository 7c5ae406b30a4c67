import Foundation
public import STIProtocol
import ZIPFoundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Where a row of a workbook is: its sheet and, per protocol field, the column letter and the
/// header as written, so that every error names the sheet, the cell (`B17`) and the header.
public struct SheetPlace: Sendable {
    public var sheet: String
    /// 0-based index of the header's first column (A = 0).
    public var firstColumn: Int
    /// Protocol field name → (column letters, header as written in the sheet).
    public var columns: [String: (column: String, header: String)]

    public init(sheet: String, firstColumn: Int, columns: [String: (column: String, header: String)] = [:]) {
        self.sheet = sheet
        self.firstColumn = firstColumn
        self.columns = columns
    }

    /// `A` for 0, `Z` for 25, `AA` for 26.
    public static func columnLetters(_ index: Int) -> String {
        var n = index + 1
        var letters: [Character] = []
        while n > 0 {
            let r = (n - 1) % 26
            letters.insert(Character(UnicodeScalar(UInt8(65 + r))), at: 0)
            n = (n - 1) / 26
        }
        return String(letters)
    }

    /// `book.xlsx: sheet Sheet1, cell C17 (column R&D经费支出（万元）): E_PRECISION expenditure_10k_cny: …`;
    /// a number with more decimals than the field takes gets the fix for a sheet (the cell
    /// shows a rounded value but stores a binary-float artefact).
    public func describeProblem(_ error: FieldError, path: String, row: Int) -> String {
        var text =
            "\(path): \(describe(field: error.field, row: row)): \(error.code.rawValue) \(error.field ?? "-"): \(error.message)"
        if error.code == .precision {
            text +=
                "; the cell stores more decimals than it shows: round it in the sheet (=ROUND(value, 4), then paste as values) or type the number again"
        }
        return text
    }

    /// `sheet Sheet1, cell C17 (column R&D经费支出（万元）)` for a field of row `row`.
    public func describe(field: String?, row: Int) -> String {
        guard let field, let column = columns[field] else { return "sheet \(sheet), row \(row)" }
        return "sheet \(sheet), cell \(column.column)\(row) (column \(column.header))"
    }
}

/// How much of a workbook the reader will take: beyond any of these it stops with an error
/// naming the limit, so a hostile file (a zip bomb, a huge shared-string table, XML nested
/// without end) costs bounded memory and time.
public struct XLSXLimits: Sendable {
    /// Uncompressed bytes of one part (a sheet, the shared strings), counted while inflating.
    public var maxEntryBytes = 64 << 20
    /// Uncompressed bytes of all the parts read, together.
    public var maxTotalBytes = 160 << 20
    public var maxSharedStrings = 1_000_000
    public var maxSharedStringBytes = 32 << 20
    public var maxDepth = 32
    /// Excel's own limits are 1,048,576 rows and 16,384 columns; a feed needs far fewer columns.
    public var maxRows = 1_048_576
    public var maxColumns = 64
    public init() {}
}

/// A worksheet read as a table of text: the cells of each row by 0-based column, as the feed
/// reader takes them (numbers as their exact decimal text, dates as YYYY-MM-DD).
struct XLSXSheet {
    var name: String
    /// (1-based row number, cells by column index).
    var rows: [(number: Int, cells: [Int: String])]
}

/// Reads `.xlsx` workbooks (Office Open XML SpreadsheetML, ECMA-376): the zip container
/// through ZIPFoundation, the XML parts through Foundation's XMLParser (a streaming parser:
/// no tree is built). Text cells (shared strings, inline strings) are text; number cells are
/// the decimal text stored in the file, never a Double, so the validator judges exactly what
/// the sheet holds (`12.345600000000001` is E_PRECISION, not rounded); number cells with a date
/// format become YYYY-MM-DD; formula cells are refused (see `XLSXReader.formulaRefusal`).
struct XLSXReader {
    var path: String
    var limits: XLSXLimits

    /// Why a formula cell is refused rather than its cached value taken: the cached value is
    /// whatever the program that last saved the file computed (a generator that never
    /// recalculates leaves none, or a stale one), and a statistic of record must be the number
    /// the clerk sees and can check. Pasting values is one step in any spreadsheet program.
    static let formulaRefusal =
        "holds a formula; a feed takes values only: select the column, copy, and paste as values (Paste Special → Values), then save"

    private var totalBytes = 0

    init(path: String, limits: XLSXLimits = XLSXLimits()) {
        self.path = path
        self.limits = limits
    }

    func fail(_ message: String) -> FeedError { FeedError(path: path, line: nil, message) }

    /// Refuses what is not an .xlsx workbook with the step that makes one.
    static func refuseOtherFormats(path: String, data: Data) throws(FeedError) {
        let ext = (path as NSString).pathExtension.lowercased()
        let ole: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
        if data.starts(with: ole) {
            // An encrypted .xlsx is an OLE compound file holding EncryptionInfo and EncryptedPackage.
            let marker = Data("EncryptionInfo".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
            if data.range(of: marker) != nil {
                throw FeedError(
                    path: path, line: nil,
                    "is an encrypted (password-protected) workbook, which sti cannot read: open it, remove the password (File → Info → Protect Workbook → Encrypt with Password, clear it; in WPS: File → Document Encryption) and save it as .xlsx"
                )
            }
            throw FeedError(
                path: path, line: nil,
                "is an Excel 97–2003 workbook (.xls), which sti does not read: open it in Excel or WPS and save it as .xlsx (Excel Workbook), or export the sheet as CSV UTF-8"
            )
        }
        if ext == "xls" {
            throw FeedError(
                path: path, line: nil,
                "is named .xls but is not an Excel 97–2003 workbook: save the sheet as .xlsx or as CSV UTF-8")
        }
        guard data.starts(with: [0x50, 0x4B, 0x03, 0x04]) || data.starts(with: [0x50, 0x4B, 0x05, 0x06]) else {
            throw FeedError(
                path: path, line: nil,
                "is not an .xlsx workbook (not a zip container): save the sheet from Excel or WPS as .xlsx (Excel Workbook), or export it as CSV UTF-8"
            )
        }
    }

    static let macroRefusal =
        "is a macro-enabled workbook (.xlsm), which sti does not open: save a copy without macros as .xlsx (File → Save As → Excel Workbook) and submit that"

    /// The sheet named `sheet`, or the first sheet.
    mutating func read(sheet wanted: String?) throws(FeedError) -> XLSXSheet {
        // The file itself is read whole (the zip directory is at its end): bounded first.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int,
            size > limits.maxTotalBytes
        {
            throw fail(
                "is \(size >> 20) MiB, more than the \(limits.maxTotalBytes >> 20) MiB a feed workbook may be; split it into smaller workbooks"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        try Self.refuseOtherFormats(path: path, data: data)
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch {
            throw fail(
                "is not a readable .xlsx workbook (its zip container is damaged: \(error)); save it again from Excel or WPS"
            )
        }
        if (path as NSString).pathExtension.lowercased() == "xlsm" || archive["xl/vbaProject.bin"] != nil {
            throw fail(Self.macroRefusal)
        }
        guard archive["xl/workbook.xml"] != nil else {
            throw fail(
                "is a zip file but not an .xlsx workbook (no xl/workbook.xml): save the sheet from Excel or WPS as .xlsx"
            )
        }
        // The workbook: its sheets and date system.
        let book = WorkbookHandler()
        try parse(try part("xl/workbook.xml", in: archive, required: true)!, "xl/workbook.xml", book)
        guard !book.sheets.isEmpty else { throw fail("the workbook has no sheets") }
        let chosen: (name: String, rid: String)
        if let wanted {
            guard let found = book.sheets.first(where: { $0.name == wanted }) else {
                throw fail(
                    "has no sheet named \(wanted) (its sheets: \(book.sheets.map(\.name).joined(separator: ", ")))")
            }
            chosen = found
        } else {
            chosen = book.sheets[0]
        }
        let rels = RelationshipsHandler()
        if let relsData = try part("xl/_rels/workbook.xml.rels", in: archive, required: false) {
            try parse(relsData, "xl/_rels/workbook.xml.rels", rels)
        }
        guard let target = rels.targets[chosen.rid] else {
            throw fail("sheet \(chosen.name): the workbook does not say where it is (no relationship \(chosen.rid))")
        }
        let sheetPath = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target

        var shared: [String] = []
        if let sharedData = try part("xl/sharedStrings.xml", in: archive, required: false) {
            let handler = SharedStringsHandler(limits: limits)
            try parse(sharedData, "xl/sharedStrings.xml", handler)
            if let problem = handler.problem { throw fail(problem) }
            shared = handler.strings
        }
        var dateStyles: [Bool] = []
        if let stylesData = try part("xl/styles.xml", in: archive, required: false) {
            let styles = StylesHandler()
            try parse(stylesData, "xl/styles.xml", styles)
            dateStyles = styles.cellFormats.map { id in
                (14...22).contains(id) || styles.customFormats[id].map(Self.isDateFormat) ?? false
            }
        }
        guard let sheetData = try part(sheetPath, in: archive, required: false) else {
            throw fail("sheet \(chosen.name): its part \(sheetPath) is missing from the workbook")
        }
        let handler = SheetHandler(
            sheet: chosen.name, shared: shared, dateStyles: dateStyles, date1904: book.date1904, limits: limits)
        try parse(sheetData, sheetPath, handler)
        if let problem = handler.problem { throw fail(problem) }
        return XLSXSheet(name: chosen.name, rows: handler.rows)
    }

    /// A part's bytes, inflated in chunks with the running size checked against the limits
    /// (the sizes the zip headers claim are not trusted).
    private mutating func part(_ name: String, in archive: Archive, required: Bool) throws(FeedError) -> Data? {
        guard let entry = archive[name] else {
            if required { throw fail("is not an .xlsx workbook: \(name) is missing") }
            return nil
        }
        var out = Data()
        let entryLimit = limits.maxEntryBytes
        let totalLeft = limits.maxTotalBytes - totalBytes
        var exceeded: String?
        do {
            _ = try archive.extract(entry, bufferSize: 64 << 10, skipCRC32: false) { chunk in
                if out.count + chunk.count > entryLimit {
                    exceeded =
                        "part \(name) inflates to more than \(entryLimit >> 20) MiB (a zip bomb, or far more than a feed holds); split the sheet into smaller workbooks"
                    throw XLSXStop()
                }
                if out.count + chunk.count > totalLeft {
                    exceeded =
                        "the workbook's parts inflate to more than \(limits.maxTotalBytes >> 20) MiB together (a zip bomb, or far more than a feed holds)"
                    throw XLSXStop()
                }
                out.append(chunk)
            }
        } catch {
            if let exceeded { throw fail(exceeded) }
            throw fail(
                "part \(name) cannot be inflated (\(error)): the workbook is damaged; save it again from Excel or WPS")
        }
        totalBytes += out.count
        return out
    }

    private func parse(_ data: Data, _ name: String, _ handler: DepthLimitedHandler) throws(FeedError) {
        // OOXML parts never carry a DTD; one is refused before parsing, so no entity is ever
        // expanded (no "billion laughs").
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil || data.range(of: Data("<!ENTITY".utf8)) != nil {
            throw fail("part \(name) declares a DTD or entities, which no spreadsheet program writes; refused")
        }
        handler.maxDepth = limits.maxDepth
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.delegate = handler
        let ok = parser.parse()
        if let problem = handler.problem { throw fail(problem) }
        if !ok {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML"
            throw fail(
                "part \(name) is not well-formed XML (line \(parser.lineNumber): \(reason)); save the workbook again from Excel or WPS"
            )
        }
    }

    /// Text with OOXML's `_xHHHH_` escapes (characters XML cannot hold) decoded.
    static func unescaped(_ text: String) -> String {
        guard text.contains("_x") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if scalars[i] == "_", i + 6 < scalars.count, scalars[i + 1] == "x", scalars[i + 6] == "_",
                let value = UInt32(String(String.UnicodeScalarView(scalars[(i + 2)...(i + 5)])), radix: 16),
                let scalar = Unicode.Scalar(value)
            {
                out.append(scalar)
                i += 7
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }

    /// Whether a custom number format shows a date: it has y, m or d outside quoted text,
    /// `[...]` sections (colours, conditions, elapsed time) and escaped characters.
    static func isDateFormat(_ code: String) -> Bool {
        var inQuote = false
        var inBracket = false
        var escaped = false
        for ch in code {
            if escaped {
                escaped = false
                continue
            }
            if inQuote {
                if ch == "\"" { inQuote = false }
                continue
            }
            if inBracket {
                if ch == "]" { inBracket = false }
                continue
            }
            switch ch {
            case "\"": inQuote = true
            case "[": inBracket = true
            case "\\", "_", "*": escaped = true
            case "y", "Y", "m", "M", "d", "D": return true
            default: break
            }
        }
        return false
    }

    /// YYYY-MM-DD of an Excel date serial (whole days). 1900 system: serial 1 is 1900-01-01 and
    /// Excel counts a 1900-02-29 that never was (serial 60), so serials from 61 on are one day
    /// ahead; 1904 system: serial 0 is 1904-01-01.
    static func dateText(serial: Int, date1904: Bool) -> String? {
        let daysFrom1970: Int
        if date1904 {
            daysFrom1970 = serial - 24_107  // 1904-01-01 is day -24107
        } else {
            guard serial >= 1, serial != 60 else { return nil }
            daysFrom1970 = serial < 60 ? serial - 25_568 : serial - 25_569  // 1899-12-31 / 1899-12-30
        }
        // Civil from days (H. Hinnant).
        let z = daysFrom1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        guard (1...9999).contains(y) else { return nil }
        func pad(_ n: Int, _ w: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// A number cell's stored text as a plain decimal, exactly: `1.5E-3` → `0.0015`, `1E+3` →
    /// `1000` (Excel writes exponent form for very small and large values). Nil for text that is
    /// not a number or an exponent beyond ±400 (no protocol field holds such a value).
    static func plainDecimal(_ stored: String) -> String? {
        var s = Substring(stored.trimmingCharacters(in: .whitespaces))
        var negative = false
        if s.hasPrefix("-") {
            negative = true
            s = s.dropFirst()
        } else if s.hasPrefix("+") {
            s = s.dropFirst()
        }
        var mantissa = s
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = s[..<e]
            guard let value = Int(s[s.index(after: e)...]), abs(value) <= 400 else { return nil }
            exponent = value
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let intPart = parts.first else { return nil }
        let fracPart = parts.count == 2 ? parts[1] : ""
        guard !(intPart.isEmpty && fracPart.isEmpty), (intPart + fracPart).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        if exponent == 0 {
            // The text as stored, digit for digit (`12.345600000000001` stays so).
            let text = (intPart.isEmpty ? "0" : String(intPart)) + (parts.count == 2 ? "." + fracPart : "")
            return (negative ? "-" : "") + text
        }
        var digits = Array(intPart + fracPart)
        var point = intPart.count + exponent
        if point < 0 {
            digits.insert(contentsOf: Array(repeating: "0", count: -point), at: 0)
            point = 0
        }
        if point > digits.count { digits += Array(repeating: "0", count: point - digits.count) }
        var whole = String(digits[..<point]).drop { $0 == "0" }
        if whole.isEmpty { whole = "0" }
        var fraction = String(digits[point...])
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let text = String(whole) + (fraction.isEmpty ? "" : "." + fraction)
        return (negative && text != "0" ? "-" : "") + text
    }
}

private struct XLSXStop: Error {}

// MARK: XML handlers

class DepthLimitedHandler: NSObject, XMLParserDelegate {
    var depth = 0
    var maxDepth = 32
    var problem: String?

    func stop(_ parser: XMLParser, _ message: String) {
        if problem == nil { problem = message }
        parser.abortParsing()
    }

    func enter(_ parser: XMLParser) -> Bool {
        depth += 1
        if depth > maxDepth {
            stop(
                parser,
                "its XML is nested more than \(maxDepth) elements deep, which no spreadsheet program writes; refused")
            return false
        }
        return problem == nil
    }

    // The delegate methods are implemented here once, and dispatch to methods the handlers
    // override: a subclass's own `parser(_:didStartElement:…)` would not be the witness of the
    // protocol requirement (the conformance is this class's), and would never be called.
    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes: [String: String] = [:]
    ) {
        guard enter(parser) else { return }
        started(parser, elementName, attributes)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { characters(parser, string) }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
    ) {
        depth -= 1
        ended(elementName)
    }

    func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {}
    func characters(_ parser: XMLParser, _ string: String) {}
    func ended(_ name: String) {}
}

/// Element names without a namespace prefix (`x:row` → `row`).
private func local(_ name: String) -> Substring {
    if let colon = name.lastIndex(of: ":") { return name[name.index(after: colon)...] }
    return Substring(name)
}

final class WorkbookHandler: DepthLimitedHandler {
    var sheets: [(name: String, rid: String)] = []
    var date1904 = false
    override func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {
        switch local(elementName) {
        case "workbookPr":
            let value = attributes["date1904"]
            date1904 = value == "1" || value == "true"
        case "sheet":
            let rid = attributes.first { local($0.key) == "id" && $0.key != "sheetId" }?.value ?? ""
            sheets.append((attributes["name"] ?? "Sheet\(sheets.count + 1)", rid))
        default: break
        }
    }
}

final class RelationshipsHandler: DepthLimitedHandler {
    var targets: [String: String] = [:]
    override func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {
        if local(elementName) == "Relationship", let id = attributes["Id"], let target = attributes["Target"] {
            targets[id] = target
        }
    }
}

final class StylesHandler: DepthLimitedHandler {
    var customFormats: [Int: String] = [:]
    var cellFormats: [Int] = []
    private var inCellXfs = false
    override func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {
        switch local(elementName) {
        case "numFmt":
            if let id = attributes["numFmtId"].flatMap({ Int($0) }), let code = attributes["formatCode"] {
                customFormats[id] = code
            }
        case "cellXfs": inCellXfs = true
        case "xf" where inCellXfs:
            if cellFormats.count < 65_536 { cellFormats.append(attributes["numFmtId"].flatMap { Int($0) } ?? 0) }
        default: break
        }
    }
    override func ended(_ name: String) { if local(name) == "cellXfs" { inCellXfs = false } }
}

final class SharedStringsHandler: DepthLimitedHandler {
    var strings: [String] = []
    let limits: XLSXLimits
    private var bytes = 0
    private var current = ""
    private var inText = false
    private var inPhonetic = false
    init(limits: XLSXLimits) { self.limits = limits }

    override func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {
        switch local(elementName) {
        case "si":
            current = ""
            if strings.count >= limits.maxSharedStrings {
                stop(
                    parser,
                    "its shared-string table has more than \(limits.maxSharedStrings) entries, far more than a feed needs; refused"
                )
            }
        case "t": inText = !inPhonetic
        case "rPh": inPhonetic = true  // phonetic guide (furigana/pinyin): not part of the text
        default: break
        }
    }

    override func characters(_ parser: XMLParser, _ string: String) {
        guard inText else { return }
        bytes += string.utf8.count
        if bytes > limits.maxSharedStringBytes {
            stop(
                parser,
                "its shared-string table holds more than \(limits.maxSharedStringBytes >> 20) MiB of text, far more than a feed needs; refused"
            )
            return
        }
        current += string
    }

    override func ended(_ name: String) {
        switch local(name) {
        case "t": inText = false
        case "rPh": inPhonetic = false
        case "si": strings.append(XLSXReader.unescaped(current))
        default: break
        }
    }
}

final class SheetHandler: DepthLimitedHandler {
    let sheet: String
    let shared: [String]
    let dateStyles: [Bool]
    let date1904: Bool
    let limits: XLSXLimits
    var rows: [(number: Int, cells: [Int: String])] = []

    private var rowNumber = 0
    private var cells: [Int: String] = [:]
    private var cell: (ref: String, column: Int, type: String, style: Int)?
    private var value = ""
    private var inlineText = ""
    private var hasFormula = false
    private var hasValue = false
    private var collecting: Collect = .none
    private enum Collect { case none, value, inline, formula }
    private var formula = ""

    init(sheet: String, shared: [String], dateStyles: [Bool], date1904: Bool, limits: XLSXLimits) {
        self.sheet = sheet
        self.shared = shared
        self.dateStyles = dateStyles
        self.date1904 = date1904
        self.limits = limits
    }

    private func fail(_ parser: XMLParser, _ ref: String, _ message: String) {
        stop(parser, "sheet \(sheet), cell \(ref): \(message)")
    }

    override func started(_ parser: XMLParser, _ elementName: String, _ attributes: [String: String]) {
        switch local(elementName) {
        case "row":
            parserForErrors = parser
            let next = attributes["r"].flatMap { Int($0) } ?? rowNumber + 1
            guard next > rowNumber, next <= limits.maxRows else {
                stop(
                    parser,
                    next > limits.maxRows
                        ? "sheet \(sheet) has more than \(limits.maxRows) rows; split it into several workbooks"
                        : "sheet \(sheet): row \(next) comes after row \(rowNumber); the sheet is damaged, save it again"
                )
                return
            }
            rowNumber = next
            cells = [:]
        case "c":
            let ref = attributes["r"] ?? ""
            let column: Int
            if let parsed = Self.column(of: ref) {
                column = parsed
            } else if ref.isEmpty {
                column = (cells.keys.max() ?? -1) + 1
            } else {
                stop(
                    parser,
                    "sheet \(sheet): a cell has the reference \(String(ref.prefix(20))), which is not a cell name like B17"
                )
                return
            }
            guard column < limits.maxColumns else {
                fail(
                    parser, ref.isEmpty ? "\(SheetPlace.columnLetters(column))\(rowNumber)" : ref,
                    "is beyond column \(SheetPlace.columnLetters(limits.maxColumns - 1)); a feed has at most \(limits.maxColumns) columns (the protocol's fields); delete the cells to its right"
                )
                return
            }
            let name = ref.isEmpty ? "\(SheetPlace.columnLetters(column))\(rowNumber)" : ref
            cell = (name, column, attributes["t"] ?? "n", attributes["s"].flatMap { Int($0) } ?? 0)
            value = ""
            inlineText = ""
            formula = ""
            hasFormula = false
            hasValue = false
        case "v":
            collecting = .value
            hasValue = true
        case "f":
            collecting = .formula
            hasFormula = true
        case "t" where cell != nil: collecting = .inline
        case "rPh": collecting = .none
        default: break
        }
    }

    override func characters(_ parser: XMLParser, _ string: String) {
        switch collecting {
        case .value: if value.utf8.count < 4096 { value += string }
        case .inline: if inlineText.utf8.count < 1 << 20 { inlineText += string }
        case .formula: if formula.utf8.count < 64 { formula += string }
        case .none: break
        }
    }

    override func ended(_ name: String) {
        switch local(name) {
        case "v", "f", "t": collecting = .none
        case "c": finishCell()
        case "row":
            if !cells.isEmpty { rows.append((rowNumber, cells)) }
            cells = [:]
        default: break
        }
    }

    private var parserForErrors: XMLParser?

    private func finishCell() {
        guard let cell, problem == nil, let parser = parserForErrors else { return }
        self.cell = nil
        if hasFormula {
            let shown = formula.isEmpty ? "" : " (=\(formula.prefix(40))\(formula.count > 40 ? "…" : ""))"
            fail(
                parser, cell.ref,
                XLSXReader.formulaRefusal.replacingOccurrences(of: "holds a formula", with: "holds a formula\(shown)"))
            return
        }
        let text: String
        switch cell.type {
        case "s":
            guard let index = Int(value.trimmingCharacters(in: .whitespaces)), shared.indices.contains(index) else {
                fail(
                    parser, cell.ref,
                    "refers to shared string \(value.prefix(20)), which the workbook does not have; save it again")
                return
            }
            text = shared[index]
        case "inlineStr": text = XLSXReader.unescaped(inlineText)
        case "str": text = value
        case "b": text = value == "1" ? "TRUE" : "FALSE"
        case "e":
            fail(parser, cell.ref, "holds the error \(value.prefix(20)); put the value itself in the cell")
            return
        case "d":
            // ISO 8601 date (strict OOXML): keep the date part.
            text = String(value.prefix(10))
        default:
            guard hasValue, !value.isEmpty else { return }
            guard let plain = XLSXReader.plainDecimal(value) else {
                fail(
                    parser, cell.ref,
                    "is a number cell holding \(value.prefix(40)), which is not a number; save the workbook again")
                return
            }
            if dateStyles.indices.contains(cell.style), dateStyles[cell.style] {
                guard let serial = Int(plain) else {
                    fail(
                        parser, cell.ref,
                        "holds a date with a time of day (serial \(plain.prefix(30))); the field takes a date: type it as YYYY-MM-DD"
                    )
                    return
                }
                guard let date = XLSXReader.dateText(serial: serial, date1904: date1904) else {
                    fail(
                        parser, cell.ref,
                        "holds the date serial \(serial), which is no real date\(serial == 60 && !date1904 ? " (Excel's 1900-02-29, a day that never was)" : ""); type the date as YYYY-MM-DD"
                    )
                    return
                }
                text = date
            } else {
                text = plain
            }
        }
        if !text.isEmpty { cells[cell.column] = text }
    }

    /// 0-based column of a cell name (`B17` → 1), or nil if it is not one.
    static func column(of ref: String) -> Int? {
        var column = 0
        var letters = 0
        var digits = 0
        for scalar in ref.unicodeScalars {
            switch scalar.value {
            case 65...90 where digits == 0:
                column = column * 26 + Int(scalar.value - 64)
                letters += 1
            case 97...122 where digits == 0:
                column = column * 26 + Int(scalar.value - 96)
                letters += 1
            case 48...57 where letters > 0: digits += 1
            default: return nil
            }
            if letters > 3 { return nil }
        }
        return letters > 0 ? column - 1 : nil
    }
}
