import Foundation

/// RFC 4180 reading, enough for the snapshot files: CRLF records, quoted fields with doubled
/// quotes. Throws on a bare LF, which the protocol's files must never contain outside quotes.
public enum CSVText {
    public static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var scalars = Array(text.unicodeScalars)[...]
        while let c = scalars.popFirst() {
            if quoted {
                if c == "\"" {
                    if scalars.first == "\"" {
                        scalars.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\r":
                guard scalars.popFirst() == "\n" else { throw TestEnvironmentError("CR without LF in CSV") }
                row.append(field)
                field = ""
                rows.append(row)
                row = []
            case "\n": throw TestEnvironmentError("bare LF in CSV (line ends must be CRLF)")
            default: field.unicodeScalars.append(c)
            }
        }
        guard field.isEmpty, row.isEmpty, !quoted else { throw TestEnvironmentError("CSV does not end with CRLF") }
        return rows
    }
}
