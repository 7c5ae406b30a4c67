// The CSV half of FeedReader as it was before its own CSV reader replaced CSV.swift (commit
// 8a062c4, Sources/STIPipeline/FeedReader.swift `csvRows`, `jsonLiteral`, `buildObject`),
// kept here as an oracle: the rewrite promises to read every file exactly as before, so the
// fuzz target compares the two on every input.
//
// One rule changed since (issue 11, point 17): malformed quoting is an error. CSV.swift kept
// a stray quote, dropped the character after a closing quote and ran an open quote to the end
// of the file; FeedReader refuses such a file on the line of the first bad quote (of the
// opening quote when it never closes), after the rows before it. `firstQuotingError` finds
// that place on its own; the rows before it are still read by CSV.swift.
import CSV
import Foundation
import STIProtocol

enum CSVOracle {
    struct Row: Equatable {
        var line: Int
        var key: String?
        var value: [UInt8]
    }
    /// A file that cannot be read; only the line is compared (the texts were reworded).
    struct Failure: Error {
        var line: Int?
        var message: String
    }

    /// The numeric columns (the catalogue's number fields; before it, the same list by hand).
    static let numericFields: Set<String> = RecordCatalogue.numberFieldNames

    static func rows(_ text: String, kind: RecordKind, county: String?, submittedAt: String) throws(Failure) -> [Row] {
        guard let bad = firstQuotingError(Array(text.utf8)) else {
            return try csvSwiftRows(text, kind: kind, county: county, submittedAt: submittedAt)
        }
        // The records before the bad one are read (and judged) first; the header is one of them.
        if bad.recordStart > 0 {
            _ = try csvSwiftRows(
                String(decoding: Array(text.utf8)[..<bad.recordStart], as: UTF8.self),
                kind: kind, county: county, submittedAt: submittedAt)
        }
        throw Failure(line: bad.line, message: "malformed quoting")
    }

    /// RFC 4180 quoting, checked byte by byte: the line of the first quote inside a field that
    /// does not start with one, of the first character after a closing quote that is not a
    /// comma, line break or quote, or of a quote still open at the end; and the byte where that
    /// record starts. LF, CRLF and a lone CR each end a line.
    static func firstQuotingError(_ b: [UInt8]) -> (line: Int, recordStart: Int)? {
        enum State { case fieldStart, plain, quoted, afterQuote }
        var state = State.fieldStart
        var line = 1
        var recordStart = 0
        var openedOn = 1
        var i = 0
        while i < b.count {
            let c = b[i]
            let lineBreak = c == 0x0A || c == 0x0D
            if lineBreak, c == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A { i += 1 }
            switch state {
            case .fieldStart, .plain, .afterQuote:
                if lineBreak {
                    line += 1
                    recordStart = i + 1
                    state = .fieldStart
                } else if c == 0x2C {
                    state = .fieldStart
                } else if c == 0x22 {
                    if state == .plain { return (line, recordStart) }
                    if state == .fieldStart { openedOn = line }
                    state = .quoted
                } else {
                    if state == .afterQuote { return (line, recordStart) }
                    state = .plain
                }
            case .quoted:
                if lineBreak { line += 1 } else if c == 0x22 { state = .afterQuote }
            }
            i += 1
        }
        return state == .quoted ? (openedOn, recordStart) : nil
    }

    /// The reading with CSV.swift, for text whose quoting is well-formed.
    static func csvSwiftRows(_ text: String, kind: RecordKind, county: String?, submittedAt: String) throws(Failure)
        -> [Row]
    {
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw Failure(line: 1, message: "cannot read the CSV header: \(error)")
        }
        guard let header = reader.headerRow?.map({ $0.trimmingCharacters(in: .whitespaces) }), !header.isEmpty,
            !(header.count == 1 && header[0].isEmpty)
        else {
            throw Failure(line: 1, message: "the file has no header row")
        }
        var seen = Set<String>()
        for name in header {
            guard !name.isEmpty else { throw Failure(line: 1, message: "a header column has no name") }
            guard seen.insert(name).inserted else {
                throw Failure(line: 1, message: "column \(name) appears twice in the header")
            }
        }
        var rows: [Row] = []
        var line = 2 + header.joined().filter { $0 == "\n" }.count
        while let cells = reader.next() {
            let span = cells.reduce(0) { $0 + $1.utf8.filter { $0 == 0x0A }.count }
            defer { line += 1 + span }
            if cells.allSatisfy({ $0.isEmpty }) { continue }
            var object: [(String, String)] = []
            var rowCounty: String?
            for (index, name) in header.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                if cell.isEmpty { continue }
                if name == "county" { rowCounty = cell }
                object.append((name, jsonLiteral(field: name, cell: cell)))
            }
            if cells.count > header.count, cells[header.count...].contains(where: { !$0.isEmpty }) {
                throw Failure(
                    line: line, message: "the row has \(cells.count) cells but the header has \(header.count) columns")
            }
            rows.append(
                Row(
                    line: line, key: rowCounty ?? county,
                    value: buildObject(object, kind: kind, county: county, submittedAt: submittedAt)))
        }
        if let error = reader.error {
            throw Failure(line: line, message: "malformed CSV: \(error)")
        }
        return rows
    }

    static func jsonLiteral(field: String, cell: String) -> String {
        let trimmed = cell.trimmingCharacters(in: .whitespaces)
        if numericFields.contains(field), isJSONNumber(trimmed) { return trimmed }
        return JSONText.string(cell)
    }

    static func buildObject(_ fields: [(String, String)], kind: RecordKind, county: String?, submittedAt: String)
        -> [UInt8]
    {
        var names = Set(fields.map(\.0))
        var parts: [String] = []
        if !names.contains("schema") { parts.append("\"schema\":\(JSONText.string(kind.schema))") }
        if !names.contains("county"), let county { parts.append("\"county\":\(JSONText.string(county))") }
        if !names.contains("revision") { parts.append("\"revision\":1") }
        names.insert("schema")
        for (name, literal) in fields { parts.append("\(JSONText.string(name)):\(literal)") }
        if !names.contains("submitted_at") { parts.append("\"submitted_at\":\(JSONText.string(submittedAt))") }
        return Array("{\(parts.joined(separator: ","))}".utf8)
    }

    static func isJSONNumber(_ s: String) -> Bool {
        let b = Array(s.utf8)
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
}
