// The CSV half of FeedReader as it was before its own CSV reader replaced CSV.swift (commit
// 8a062c4, Sources/STIPipeline/FeedReader.swift `csvRows`, `jsonLiteral`, `buildObject`),
// kept here as an oracle: the rewrite promises to read every file exactly as before, so the
// fuzz target compares the two on every input.
import CSV
import Foundation
import STIProtocol

enum CSVOracle {
    struct Row: Equatable { var line: Int; var key: String?; var value: [UInt8] }
    /// A file that cannot be read; only the line is compared (the texts were reworded).
    struct Failure: Error { var line: Int?; var message: String }

    static let numericFields: Set<String> = [
        "revision", "year", "expenditure_10k_cny", "contract_value_10k_cny", "tech_transaction_value_10k_cny",
        "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
        "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny",
    ]

    static func rows(_ text: String, kind: RecordKind, county: String?, submittedAt: String) throws(Failure) -> [Row] {
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw Failure(line: 1, message: "cannot read the CSV header: \(error)")
        }
        guard let header = reader.headerRow?.map({ $0.trimmingCharacters(in: .whitespaces) }), !header.isEmpty,
              !(header.count == 1 && header[0].isEmpty) else {
            throw Failure(line: 1, message: "the file has no header row")
        }
        var seen = Set<String>()
        for name in header {
            guard !name.isEmpty else { throw Failure(line: 1, message: "a header column has no name") }
            guard seen.insert(name).inserted else { throw Failure(line: 1, message: "column \(name) appears twice in the header") }
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
                throw Failure(line: line, message: "the row has \(cells.count) cells but the header has \(header.count) columns")
            }
            rows.append(Row(line: line, key: rowCounty ?? county,
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

    static func buildObject(_ fields: [(String, String)], kind: RecordKind, county: String?, submittedAt: String) -> [UInt8] {
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
}
