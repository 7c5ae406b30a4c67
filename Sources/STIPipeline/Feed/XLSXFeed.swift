import Foundation

extension FeedReader {
    /// The rows of a workbook's sheet (the first, or `sheet`), built exactly as a CSV feed's
    /// rows (`rows(header:…)`), so both are validated alike. The header is the first row with
    /// any cell; empty rows are skipped; each row's `line` is its row number in the sheet and
    /// its `sheet` names the cell of every field, for errors.
    func xlsxRows(path: String) throws(FeedError) -> [Row] {
        var reader = XLSXReader(path: path, limits: xlsxLimits)
        let table = try reader.read(sheet: sheet)
        let name = table.name
        guard let headerRow = table.rows.first else {
            throw FeedError(
                path: path, line: nil,
                "sheet \(name) is empty: its first row must hold the column headers (the protocol's field names or their Chinese names)"
            )
        }
        let first = headerRow.cells.keys.min()!
        let last = headerRow.cells.keys.max()!
        let header = (first...last).map { headerRow.cells[$0] ?? "" }
        var index = 1
        func cell(_ column: Int, _ row: Int) -> String { "\(SheetPlace.columnLetters(column))\(row)" }
        do {
            return try rows(
                header: header, path: path, sheet: SheetPlace(sheet: name, firstColumn: first),
                place: { (headerRow.number, cell(first + $0, headerRow.number)) }
            ) { () throws(FeedError) -> (line: Int, cells: [String])? in
                guard index < table.rows.count else { return nil }
                let row = table.rows[index]
                index += 1
                if let outside = row.cells.keys.filter({ $0 < first || $0 > last }).min() {
                    throw FeedError(
                        path: path, line: nil,
                        "sheet \(name), cell \(cell(outside, row.number)): a value outside the header's columns \(cell(first, headerRow.number))–\(cell(last, headerRow.number)); give the column a header or delete the value"
                    )
                }
                return (row.number, (first...last).map { row.cells[$0] ?? "" })
            }
        } catch {
            guard let line = error.line else { throw error }
            throw FeedError(path: path, line: nil, "sheet \(name), row \(line): \(error.message)")
        }
    }
}
