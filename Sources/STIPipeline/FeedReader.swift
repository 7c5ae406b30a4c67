import Foundation
public import STIProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a county bureau's feed file (CSV with a header row of protocol field names, or JSON
/// Lines) and turns every row into the message value it will be sent as.
///
/// The reader never judges a row: it only builds the JSON object, filling in `schema`,
/// `submitted_at` and a default `revision` of 1. Judging is the validator's job, so
/// `sti validate`, `sti submit` and the aggregator apply the very same rules.
public struct FeedReader: Sendable {
    public enum Format: String, Sendable { case csv, jsonl, xlsx }
    public enum Encoding: String, Sendable, CaseIterable {
        case utf8 = "utf-8"
        case gb18030
    }

    public var kind: RecordKind
    /// Used as `county` where a row has none, and as the message key.
    public var county: String?
    public var encoding: Encoding
    /// RFC 3339 time written into rows that carry no `submitted_at`.
    public var submittedAt: String
    /// For `.xlsx` feeds: the sheet to read (default: the first) and how much to read at most.
    public var sheet: String?
    public var xlsxLimits = XLSXLimits()

    public init(kind: RecordKind, county: String? = nil, encoding: Encoding = .utf8, submittedAt: String) {
        self.kind = kind
        self.county = county
        self.encoding = encoding
        self.submittedAt = submittedAt
    }

    /// One row of a feed, as it will travel.
    public struct Row: Sendable {
        /// 1-based line of the file where the row starts.
        public var line: Int
        /// The message key: the row's county (or `--county`).
        public var key: String?
        /// The message value: one JSON object.
        public var value: [UInt8]
        /// For a row of a workbook: its sheet and which cell holds which field (for errors).
        public var sheet: SheetPlace?

        public init(line: Int, key: String?, value: [UInt8], sheet: SheetPlace? = nil) {
            self.line = line
            self.key = key
            self.value = value
            self.sheet = sheet
        }
    }

    public static func format(of path: String) throws(FeedError) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return .csv
        case "jsonl", "ndjson": return .jsonl
        case "xlsx", "xls": return .xlsx  // .xls is refused with what to do by the xlsx reader
        case "xlsm": throw FeedError(path: path, line: nil, XLSXReader.macroRefusal)
        default: throw FeedError(path: path, line: nil, "unknown feed format: name the file .csv, .jsonl or .xlsx")
        }
    }

    public func read(path: String) throws(FeedError) -> [Row] {
        let format = try Self.format(of: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeedError(path: path, line: nil, "cannot read the file")
        }
        if format == .xlsx { return try xlsxRows(path: path) }  // Feed/XLSXFeed.swift
        let text = try decode(Array(data), path: path)
        switch format {
        case .xlsx: return []
        case .csv: return try csvRows(text, path: path)
        case .jsonl: return jsonlRows(text)
        }
    }

    // MARK: Encoding

    func decode(_ bytes: [UInt8], path: String) throws(FeedError) -> String {
        var bytes = bytes
        if encoding == .gb18030 {
            bytes = try Self.convertGB18030(bytes, path: path)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        // One pass over the whole file; only a file that is not UTF-8 is searched line by line.
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        throw FeedError(
            path: path, line: Self.firstInvalidUTF8Line(bytes) ?? 1,
            """
            is not valid UTF-8 (a GBK or GB18030 export from a spreadsheet is the common cause). \
            Convert it with `iconv -f GB18030 -t UTF-8 '\(path)' > converted.csv`, or pass --encoding gb18030
            """)
    }

    /// The 1-based line holding the first byte sequence that is not UTF-8, or nil.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        var line = 1
        var lineStart = 0
        for i in bytes.indices where bytes[i] == 0x0A || i == bytes.count - 1 {
            let end = bytes[i] == 0x0A ? i : i + 1
            if String(validating: bytes[lineStart..<end], as: UTF8.self) == nil { return line }
            line += 1
            lineStart = i + 1
        }
        return nil
    }

    /// GB18030 (a superset of GBK) → UTF-8 through the C library's iconv.
    static func convertGB18030(_ input: [UInt8], path: String) throws(FeedError) -> [UInt8] {
        if input.isEmpty { return [] }
        let cd = iconv_open("UTF-8", "GB18030")
        guard cd != iconv_t(bitPattern: -1) else {
            throw FeedError(path: path, line: nil, "this system's iconv cannot convert from GB18030")
        }
        defer { iconv_close(cd) }
        // One GB18030 character of n bytes becomes at most n + 1 UTF-8 bytes, so twice the
        // input is always enough.
        var output = [UInt8](repeating: 0, count: input.count * 2 + 4)
        var source = input
        let written: Int? = source.withUnsafeMutableBytes { src in
            output.withUnsafeMutableBytes { dst in
                var inPtr = src.baseAddress?.assumingMemoryBound(to: CChar.self)
                var inLeft = src.count
                var outPtr = dst.baseAddress?.assumingMemoryBound(to: CChar.self)
                var outLeft = dst.count
                if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 { return nil }
                return dst.count - outLeft
            }
        }
        guard let written else {
            throw FeedError(path: path, line: nil, "is not valid GB18030 either; check the file's encoding")
        }
        return Array(output[..<written])
    }

    // MARK: CSV

    /// The body of a CSV text of at least this many bytes is read in slices at once (one
    /// reader per slice, cut at row ends: `CSVRowReader.slices`), giving the same rows and the
    /// same first error as one reader. Tests lower it to read small texts in slices.
    var csvSliceBytes = 256 * 1024

    func csvRows(_ text: String, path: String) throws(FeedError) -> [Row] {
        var text = text
        let rows: Result<[Row], FeedError> = text.withUTF8 { utf8 in
            do throws(FeedError) { return .success(try csvRows(utf8, path: path)) } catch { return .failure(error) }
        }
        return try rows.get()
    }

    private func csvRows(_ utf8: UnsafeBufferPointer<UInt8>, path: String) throws(FeedError) -> [Row] {
        var reader = CSVRowReader(utf8)
        let first: [String]?
        do { first = try reader.next() } catch {
            throw FeedError(path: path, line: error.line, error.message(fieldName: nil))
        }
        guard let headerRow = first else {
            throw FeedError(path: path, line: 1, "cannot read the CSV header: the file is empty")
        }
        let builder = try rowBuilder(header: headerRow, path: path, place: { _ in (1, nil) })
        // Line numbers: a record starts one line after the previous one ended; a quoted field
        // holding line breaks makes its record span several lines.
        let line = 2 + headerRow.joined().filter { $0 == "\n" }.count
        let bodyBytes = utf8.count - reader.offset
        let parts =
            bodyBytes < 2 * csvSliceBytes
            ? 1 : min(bodyBytes / csvSliceBytes, 2 * max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4)))
        let slices = CSVRowReader.slices(
            utf8, from: reader.offset, readerLine: reader.line, rowLine: line, parts: parts)
        if slices.count == 1 { return try csvRows(&reader, line: line, builder: builder, path: path) }
        let found = Mutex([Result<[Row], FeedError>](repeating: .success([]), count: slices.count))
        let text = BorrowedBytes(buffer: utf8)
        DispatchQueue.concurrentPerform(iterations: slices.count) { index in
            let slice = slices[index]
            var sliceReader = CSVRowReader(
                UnsafeBufferPointer(rebasing: text.buffer[slice.range]), line: slice.readerLine)
            let result = Result { () throws(FeedError) -> [Row] in
                try csvRows(&sliceReader, line: slice.rowLine, builder: builder, path: path)
            }
            found.withLock { $0[index] = result }
        }
        let results = found.withLock { $0 }
        var rows: [Row] = []
        rows.reserveCapacity(results.reduce(0) { $0 + ((try? $1.get())?.count ?? 0) })
        for result in results { rows += try result.get() }
        return rows
    }

    /// The rows `reader` gives until its end, the first one at `line`.
    private func csvRows(
        _ reader: inout CSVRowReader, line: Int, builder: RowBuilder, path: String
    ) throws(FeedError) -> [Row] {
        var line = line
        var rows: [Row] = []
        var value: [UInt8] = []
        while true {
            let cells: [String]
            do {
                guard let next = try reader.next() else { return rows }
                cells = next
            } catch {
                let header = builder.headerRow
                throw FeedError(
                    path: path, line: error.line,
                    error.message(fieldName: error.field <= header.count ? header[error.field - 1] : nil))
            }
            var span = 0
            for cell in cells { for byte in cell.utf8 where byte == 0x0A { span += 1 } }
            defer { line += 1 + span }
            if let row = try builder.row(line: line, cells: cells, value: &value) { rows.append(row) }
        }
    }

    /// The rows of a table given its header and a source of its rows (each with its line, or
    /// its row number in a sheet): shared by CSV and `.xlsx` feeds, so both are read alike.
    /// Headers may be protocol field names or their Chinese names, and cells of enumerated
    /// fields Chinese labels (`ChineseNames`): both become the protocol's names and codes here,
    /// before anything is validated or signed. `place` says where a header column is (for
    /// errors): its line, and for a sheet the cell.
    func rows(
        header headerRow: [String], path: String, sheet: SheetPlace? = nil,
        place: (Int) -> (line: Int, cell: String?),
        next: () throws(FeedError) -> (line: Int, cells: [String])?
    ) throws(FeedError) -> [Row] {
        let builder = try rowBuilder(header: headerRow, path: path, sheet: sheet, place: place)
        var rows: [Row] = []
        var value: [UInt8] = []
        while let (line, cells) = try next() {
            if let row = try builder.row(line: line, cells: cells, value: &value) { rows.append(row) }
        }
        return rows
    }

    /// Checks a table's header and prepares what every row needs from it (`rows(header:…)`).
    func rowBuilder(
        header headerRow: [String], path: String, sheet: SheetPlace? = nil,
        place: (Int) -> (line: Int, cell: String?)
    ) throws(FeedError) -> RowBuilder {
        func at(_ column: Int) -> String { place(column).cell.map { " (cell \($0))" } ?? "" }
        let written = headerRow.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !written.isEmpty, !(written.count == 1 && written[0].isEmpty) else {
            throw FeedError(path: path, line: place(0).line, "the file has no header row (the protocol's field names)")
        }
        // An unknown header stays as written (the validator names it: E_FIELD_UNKNOWN); one that
        // could name several fields is refused here (RecordCatalogue.match(header:)).
        for (index, text) in written.enumerated() {
            if case .ambiguous = RecordCatalogue.match(header: text), let refusal = RecordCatalogue.headerRefusal(text)
            {
                throw FeedError(path: path, line: place(index).line, refusal + at(index))
            }
        }
        let header = written.map { ChineseNames.protocolFieldName(forHeader: $0) ?? $0 }
        var seen: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            guard !name.isEmpty else {
                throw FeedError(path: path, line: place(index).line, "a header column\(at(index)) has no name")
            }
            if let earlier = seen[name] {
                let both =
                    written[earlier] == written[index] ? name : "\(name) (as \(written[earlier]) and \(written[index]))"
                throw FeedError(
                    path: path, line: place(index).line, "column \(both) appears twice in the header\(at(index))")
            }
            seen[name] = index
        }
        func member(_ f: MessageField, _ value: String) -> [UInt8] {
            Array((Self.jsonString(f.name) + ":" + value).utf8)
        }
        let sheetColumns = sheet.map { sheet in
            Dictionary(
                header.indices.map {
                    (header[$0], (column: SheetPlace.columnLetters($0 + sheet.firstColumn), header: written[$0]))
                },
                uniquingKeysWith: { first, _ in first })
        }
        // Per column, once: its `"name":` bytes and whether it is a number field. Each row is
        // then written straight into its value's bytes (a profile of `sti submit` showed string
        // joins, Foundation trimming and scalar-by-scalar escaping as 80 % of its time).
        return RowBuilder(
            reader: self, headerRow: headerRow, header: header, path: path,
            keys: header.map { Array("\(Self.jsonString($0)):".utf8) },
            numeric: header.map { Self.numericFields.contains($0) },
            labelled: header.map { ChineseNames.hasLabels(fieldName: $0) },
            countyColumn: header.firstIndex(of: MessageField.county.name),
            schemaColumn: header.firstIndex(of: MessageField.schema.name),
            revisionColumn: header.firstIndex(of: MessageField.revision.name),
            submittedAtColumn: header.firstIndex(of: MessageField.submittedAt.name),
            schemaPart: member(.schema, Self.jsonString(kind.schema)),
            countyPart: county.map { member(.county, Self.jsonString($0)) },
            revisionPart: member(.revision, "1"),
            submittedAtPart: member(.submittedAt, Self.jsonString(submittedAt)),
            sheet: sheet, sheetColumns: sheetColumns)
    }

    /// What a table's header decides for every row, and the row's value built from its cells.
    struct RowBuilder: Sendable {
        let reader: FeedReader
        /// The header as written (for errors naming a column).
        let headerRow: [String]
        /// The protocol field name of each column.
        let header: [String]
        let path: String
        let keys: [[UInt8]]
        let numeric: [Bool]
        let labelled: [Bool]
        let countyColumn: Int?
        let schemaColumn: Int?
        let revisionColumn: Int?
        let submittedAtColumn: Int?
        let schemaPart: [UInt8]
        let countyPart: [UInt8]?
        let revisionPart: [UInt8]
        let submittedAtPart: [UInt8]
        let sheet: SheetPlace?
        let sheetColumns: [String: (column: String, header: String)]?

        /// The row of `cells`, or nil for a row of empty cells (skipped). `value` is scratch
        /// space kept between rows.
        func row(line: Int, cells: [String], value: inout [UInt8]) throws(FeedError) -> Row? {
            if cells.allSatisfy({ $0.isEmpty }) { return nil }
            if cells.count > header.count, cells[header.count...].contains(where: { !$0.isEmpty }) {
                throw FeedError(
                    path: path, line: line,
                    "the row has \(cells.count) cells but the header has \(header.count) columns")
            }
            func given(_ column: Int?) -> Bool { column.map { $0 < cells.count && !cells[$0].isEmpty } ?? false }
            value.removeAll(keepingCapacity: true)
            value.append(UInt8(ascii: "{"))
            var first = true
            func part(_ bytes: [UInt8]) {
                if !first { value.append(UInt8(ascii: ",")) }
                first = false
                value += bytes
            }
            if !given(schemaColumn) { part(schemaPart) }
            if !given(countyColumn), let countyPart { part(countyPart) }
            if !given(revisionColumn) { part(revisionPart) }
            for index in header.indices where index < cells.count && !cells[index].isEmpty {
                part(keys[index])
                var cell = cells[index]
                // Labels are Chinese: an ASCII cell (a code, or a mistake the validator names) is kept.
                if labelled[index], cell.utf8.contains(where: { $0 >= 0x80 }),
                    let code = ChineseNames.protocolCode(forLabel: cell, fieldName: header[index])
                {
                    cell = code
                }
                reader.appendLiteral(cell: cell, numeric: numeric[index], to: &value)
            }
            if !given(submittedAtColumn) { part(submittedAtPart) }
            value.append(UInt8(ascii: "}"))
            let rowCounty = given(countyColumn) ? cells[countyColumn!] : nil
            var row = Row(line: line, key: rowCounty ?? reader.county, value: value)
            if let sheet, let sheetColumns {
                row.sheet = SheetPlace(sheet: sheet.sheet, firstColumn: sheet.firstColumn, columns: sheetColumns)
            }
            return row
        }
    }

    /// A cell's JSON value: a number field holding a JSON number literal (spaces around it
    /// dropped) is written as that number; anything else as a string, so that the validator
    /// reports `E_TYPE` naming the field.
    func appendLiteral(cell: String, numeric: Bool, to out: inout [UInt8]) {
        if numeric {
            let trimmed = Self.trimmedOfWhitespace(cell)
            if Self.isJSONNumber(trimmed) {
                out += trimmed.utf8
                return
            }
        }
        Self.appendJSONString(cell, to: &out)
    }

    /// `cell.trimmingCharacters(in: .whitespaces)`, without Foundation when neither end can be
    /// whitespace (an ASCII byte other than space and tab), which is nearly always.
    static func trimmedOfWhitespace(_ cell: String) -> String {
        let utf8 = cell.utf8
        if let head = utf8.first, let tail = utf8.last, head < 0x80, tail < 0x80,
            head != 0x20, head != 0x09, tail != 0x20, tail != 0x09
        {
            return cell
        }
        return cell.trimmingCharacters(in: .whitespaces)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `JSONText.string(s)` appended as bytes: `"`, `\\` and control characters escaped, the
    /// rest verbatim.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let utf8 = s.utf8
        // Nearly every cell needs no escape: then it is copied whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += utf8
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: JSON Lines

    func jsonlRows(_ text: String) -> [Row] {
        var rows: [Row] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let value = fillDefaults(String(line))
            rows.append(Row(line: index + 1, key: Self.topLevelCounty(value) ?? county, value: Array(value.utf8)))
        }
        return rows
    }

    /// Inserts `schema`, `county`, `revision` and `submitted_at` when the object lacks them.
    /// Works on the text, so numbers keep their exact literal form; a line that is not a JSON
    /// object is left as it is and the validator names the problem.
    func fillDefaults(_ line: String) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else { return line }
        let keys = Self.topLevelKeys(trimmed)
        var inserts: [String] = []
        func member(_ f: MessageField, _ value: String) -> String { Self.jsonString(f.name) + ":" + value }
        if !keys.contains(MessageField.schema.name) { inserts.append(member(.schema, Self.jsonString(kind.schema))) }
        if !keys.contains(MessageField.county.name), let county {
            inserts.append(member(.county, Self.jsonString(county)))
        }
        if !keys.contains(MessageField.revision.name) { inserts.append(member(.revision, "1")) }
        if !keys.contains(MessageField.submittedAt.name) {
            inserts.append(member(.submittedAt, Self.jsonString(submittedAt)))
        }
        guard !inserts.isEmpty else { return trimmed }
        let body = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
        let separator = body == "}" ? "" : ","
        return "{" + inserts.joined(separator: ",") + separator + body
    }

    /// The keys of the outermost object, found by a small scan that tracks strings and depth.
    static func topLevelKeys(_ text: String) -> Set<String> {
        Set(topLevelPairs(text).map(\.key))
    }

    static func topLevelCounty(_ text: String) -> String? {
        guard let raw = topLevelPairs(text).first(where: { $0.key == MessageField.county.name })?.rawValue,
            raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2
        else { return nil }
        let inner = raw.dropFirst().dropLast()
        return inner.contains("\\") ? nil : String(inner)
    }

    private static func topLevelPairs(_ text: String) -> [(key: String, rawValue: String)] {
        let bytes = Array(text.utf8)
        var pairs: [(String, String)] = []
        var depth = 0
        var i = 0
        var expectingKey = false
        var currentKey: String?
        var valueStart: Int?
        func finishValue(at end: Int) {
            if let key = currentKey, let start = valueStart {
                let raw = String(decoding: bytes[start..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                pairs.append((key, raw))
            }
            currentKey = nil
            valueStart = nil
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let start = i
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1, expectingKey {
                    currentKey = String(decoding: bytes[(start + 1)..<min(i, bytes.count)], as: UTF8.self)
                    expectingKey = false
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 { expectingKey = true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 1 { finishValue(at: i) }
                depth -= 1
            case UInt8(ascii: ":") where depth == 1:
                valueStart = i + 1
            case UInt8(ascii: ",") where depth == 1:
                finishValue(at: i)
                expectingKey = true
            default: break
            }
            i += 1
        }
        return pairs
    }

    // MARK: Helpers

    /// Fields whose JSON value is a number (from the catalogue).
    static let numericFields: Set<String> = RecordCatalogue.numberFieldNames

    /// RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    static func isJSONNumber(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isJSONNumber($0) }
    }

    private static func isJSONNumber(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        func digits() -> Int {
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i - start
        }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == b.count
    }

    static func jsonString(_ s: String) -> String { JSONText.string(s) }
}

/// The text's bytes, read (never written) by the slices' readers at once: they all run inside
/// `concurrentPerform`, which returns only after every one has finished, while the bytes are alive.
private struct BorrowedBytes: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
}

/// A feed file that cannot be read at all (as opposed to rows that break protocol rules).
public struct FeedError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String
    public init(path: String, line: Int?, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }
    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}
