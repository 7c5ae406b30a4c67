public import Foundation
import STIProtocol

/// `snapshot.xlsx`: the snapshot's tables (indicators, completeness, warnings, and revisions
/// once the snapshot has them) as sheets, built from the same typed cells the CSVs are written
/// from. Numbers are number cells, text is text cells (inline strings, which never run as a
/// formula, so the CSVs' spreadsheet guard of section 8 is not needed here), status columns
/// are coloured. The parts are UTF-8 XML: Chinese names read the same in Excel on any locale,
/// which a CSV without a byte-order mark (as the protocol writes them) does not.
public enum SnapshotWorkbook {
    public static let fileName = "snapshot.xlsx"

    /// The extra-file hook for `SnapshotWriter`.
    public static let extraFile = SnapshotExtraFile(name: fileName) { tables in try Array(data(tables)) }

    public static func data(_ tables: [WorkbookTable]) throws -> Data {
        try XLSXWriter.data(sheets: tables.map(sheet))
    }

    static func sheet(_ table: WorkbookTable) -> XLSXSheetSpec {
        let status = table.statusColumn.flatMap { table.header.firstIndex(of: $0) }
        var rows: [[XLSXCell]] = [table.header.map { .text($0, .header) }]
        rows.reserveCapacity(table.rows.count + 1)
        for row in table.rows {
            rows.append(
                row.enumerated().map { index, cell in
                    switch cell {
                    case .number(let n): return .number(n)
                    case .text(let t): return .text(t, index == status ? statusStyle(t) : .plain)
                    }
                })
        }
        let widths = table.header.map { name -> Double in
            switch name {
            case "geo_name_zh", "geo_name_en", "indicator", "identity", MessageField.explanation.name, "first_message",
                "codes":
                return 24
            default: return max(10, Double(name.count) + 2)
            }
        }
        return XLSXSheetSpec(name: table.name, rows: rows, widths: widths, frozenRows: 1)
    }

    /// Green for a figure that stands (ok, received, explained), yellow for one to watch
    /// (partial, held), red for one that is not there (missing, undefined).
    static func statusStyle(_ value: String) -> XLSXCell.Style {
        switch value {
        case "ok", "received", "explained", "accepted": .good
        case "partial", "held": .warning
        case "missing", "undefined", "rejected": .bad
        default: .plain
        }
    }
}
