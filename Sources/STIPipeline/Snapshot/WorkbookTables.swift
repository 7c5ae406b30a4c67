public import STIProtocol

// The tables of a snapshot as typed cells, handed to whatever writes a file of them besides
// the CSVs (snapshot.xlsx, issue 15: STIPipeline's SnapshotWorkbook). The cells are the very
// ones the CSVs are written from (`csvCells`), so the workbook cannot disagree with them.

/// One table: its sheet name, the CSV file it mirrors, its header and typed rows.
public struct WorkbookTable: Sendable {
    public var name: String
    public var file: String
    public var header: [String]
    public var rows: [[CSVCell]]
    /// The column holding a status (coloured in the workbook), if any.
    public var statusColumn: String?
    public init(name: String, file: String, header: [String], rows: [[CSVCell]], statusColumn: String?) {
        self.name = name
        self.file = file
        self.header = header
        self.rows = rows
        self.statusColumn = statusColumn
    }
}

/// A file written from the tables into the run folder, after the CSVs and before the manifest,
/// which lists it with its SHA-256 like every other file.
public struct SnapshotExtraFile: Sendable {
    public var name: String
    public var build: @Sendable ([WorkbookTable]) throws -> [UInt8]
    public init(name: String, build: @escaping @Sendable ([WorkbookTable]) throws -> [UInt8]) {
        self.name = name
        self.build = build
    }
}

/// Keeps the cells of a streamed table for the extra file (only when there is one).
final class CellCollector {
    let enabled: Bool
    private(set) var rows: [[CSVCell]] = []
    init(enabled: Bool) { self.enabled = enabled }
    func keep(_ cells: [CSVCell]) -> [CSVCell] {
        if enabled { rows.append(cells) }
        return cells
    }
}
