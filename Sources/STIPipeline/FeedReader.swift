import Foundation
public import STIProtocol
import CSV
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
    public enum Format: String, Sendable { case csv, jsonl }
    public enum Encoding: String, Sendable, CaseIterable { case utf8 = "utf-8", gb18030 }

    public var kind: RecordKind
    /// Used as `county` where a row has none, and as the message key.
    public var county: String?
    public var encoding: Encoding
    /// RFC 3339 time written into rows that carry no `submitted_at`.
    public var submittedAt: String

    public init(kind: RecordKind, county: String? = nil, encoding: Encoding = .utf8, submittedAt: String) {
        self.kind = kind; self.county = county; self.encoding = encoding; self.submittedAt = submittedAt
    }

    /// One row of a feed, as it will travel.
    public struct Row: Sendable {
        /// 1-based line of the file where the row starts.
        public var line: Int
        /// The message key: the row's county (or `--county`).
        public var key: String?
        /// The message value: one JSON object.
        public var value: [UInt8]
    }

    public static func format(of path: String) throws(FeedError) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return .csv
        case "jsonl", "ndjson": return .jsonl
        default: throw FeedError(path: path, line: nil, "unknown feed format: name the file .csv or .jsonl")
        }
    }

    public func read(path: String) throws(FeedError) -> [Row] {
        let format = try Self.format(of: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeedError(path: path, line: nil, "cannot read the file")
        }
        let text = try decode(Array(data), path: path)
        switch format {
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
        if let line = Self.firstInvalidUTF8Line(bytes) {
            throw FeedError(path: path, line: line, """
                is not valid UTF-8 (a GBK or GB18030 export from a spreadsheet is the common cause). \
                Convert it with `iconv -f GB18030 -t UTF-8 '\(path)' > converted.csv`, or pass --encoding gb18030
                """)
        }
        return String(decoding: bytes, as: UTF8.self)
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

    func csvRows(_ text: String, path: String) throws(FeedError) -> [Row] {
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw FeedError(path: path, line: 1, "cannot read the CSV header: \(error)")
        }
        guard let header = reader.headerRow?.map({ $0.trimmingCharacters(in: .whitespaces) }), !header.isEmpty,
              !(header.count == 1 && header[0].isEmpty) else {
            throw FeedError(path: path, line: 1, "the file has no header row (the protocol's field names)")
        }
        var seen = Set<String>()
        for name in header {
            guard !name.isEmpty else { throw FeedError(path: path, line: 1, "a header column has no name") }
            guard seen.insert(name).inserted else { throw FeedError(path: path, line: 1, "column \(name) appears twice in the header") }
        }
        var rows: [Row] = []
        // Line numbers: a record starts one line after the previous one ended; a quoted field
        // holding line breaks makes its record span several lines.
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
                throw FeedError(path: path, line: line, "the row has \(cells.count) cells but the header has \(header.count) columns")
            }
            rows.append(Row(line: line, key: rowCounty ?? county, value: buildObject(object)))
        }
        if let error = reader.error {
            throw FeedError(path: path, line: line, "malformed CSV: \(error)")
        }
        return rows
    }

    /// Number fields are written as JSON numbers when the cell is a JSON number literal, and as
    /// strings otherwise, so that the validator reports `E_TYPE` naming the field.
    func jsonLiteral(field: String, cell: String) -> String {
        let trimmed = cell.trimmingCharacters(in: .whitespaces)
        if Self.numericFields.contains(field), Self.isJSONNumber(trimmed) { return trimmed }
        return Self.jsonString(cell)
    }

    func buildObject(_ fields: [(String, String)]) -> [UInt8] {
        var names = Set(fields.map(\.0))
        var parts: [String] = []
        if !names.contains("schema") { parts.append("\"schema\":\(Self.jsonString(kind.schema))") }
        if !names.contains("county"), let county { parts.append("\"county\":\(Self.jsonString(county))") }
        if !names.contains("revision") { parts.append("\"revision\":1") }
        names.insert("schema")
        for (name, literal) in fields { parts.append("\(Self.jsonString(name)):\(literal)") }
        if !names.contains("submitted_at") { parts.append("\"submitted_at\":\(Self.jsonString(submittedAt))") }
        return Array("{\(parts.joined(separator: ","))}".utf8)
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
        if !keys.contains("schema") { inserts.append("\"schema\":\(Self.jsonString(kind.schema))") }
        if !keys.contains("county"), let county { inserts.append("\"county\":\(Self.jsonString(county))") }
        if !keys.contains("revision") { inserts.append("\"revision\":1") }
        if !keys.contains("submitted_at") { inserts.append("\"submitted_at\":\(Self.jsonString(submittedAt))") }
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
        guard let raw = topLevelPairs(text).first(where: { $0.key == "county" })?.rawValue,
              raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 else { return nil }
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
            currentKey = nil; valueStart = nil
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

    static let numericFields: Set<String> = [
        "revision", "year", "expenditure_10k_cny", "contract_value_10k_cny", "tech_transaction_value_10k_cny",
        "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
        "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny",
    ]

    /// RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    static func isJSONNumber(_ s: String) -> Bool {
        let b = Array(s.utf8)
        var i = 0
        func digits() -> Int { let start = i; while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }; return i - start }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; if digits() == 0 { return false } }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == b.count
    }

    static func jsonString(_ s: String) -> String { JSONText.string(s) }
}

/// A feed file that cannot be read at all (as opposed to rows that break protocol rules).
public struct FeedError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String
    public init(path: String, line: Int?, _ message: String) { self.path = path; self.line = line; self.message = message }
    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}
