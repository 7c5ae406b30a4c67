// Reading a published snapshot folder back (section 8), for `revisions.csv` (the previous
// snapshot's indicators), `sti explain` and `report.html`: the files are parsed with the strict
// RFC 4180 reader and checked against their exact headers, never split on commas.

public import Foundation
public import STIProtocol

/// A snapshot file that cannot be read, naming the file and what is wrong.
public struct SnapshotReadError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One CSV file of a snapshot: its header and rows, as text cells (the spreadsheet guard of
/// section 8 removed).
public struct SnapshotTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    /// The column named `name`.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// Reads `path`, which must start with exactly `header`.
    public static func read(_ path: String, header expected: [String]) throws(SnapshotReadError) -> SnapshotTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotReadError("cannot read \(path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        var rows: [[String]] = []
        var failure: CSVQuotingError?
        text.withUTF8 { bytes in
            var reader = CSVRowReader(bytes)
            do {
                while let row = try reader.next() { rows.append(row) }
            } catch let error as CSVQuotingError { failure = error } catch {}
        }
        if let failure { throw SnapshotReadError("\(path): \(failure.message(fieldName: nil))") }
        guard let header = rows.first else { throw SnapshotReadError("\(path) is empty (no header)") }
        guard header == expected else {
            throw SnapshotReadError(
                "\(path): header is \(header.joined(separator: ",")), expected \(expected.joined(separator: ","))")
        }
        var body = Array(rows.dropFirst())
        // The file ends with CRLF, which the reader does not turn into a row; an empty last row
        // would be a text ending in an empty line.
        if body.last == [""] { body.removeLast() }
        for (i, row) in body.enumerated() where row.count != expected.count {
            throw SnapshotReadError("\(path): line \(i + 2) has \(row.count) fields, expected \(expected.count)")
        }
        return SnapshotTable(header: header, rows: body.map { $0.map(Self.unguarded) })
    }

    /// A cell's text without the `'` section 8 puts before a leading `=`, `+`, `-`, `@`, tab or CR.
    public static func unguarded(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let second = cell.unicodeScalars.dropFirst().first,
            CSVWriter.guardedLeadingCharacters.contains(Character(second))
        else { return cell }
        return String(cell.dropFirst())
    }
}

/// A published run folder `<out>/runs/<run_id>/` read back.
public struct SnapshotFolder: Sendable {
    public let out: URL
    public let runId: String
    public var path: String { out.path + "/runs/" + runId }

    /// The run `runId` of `out`, or the one `latest` points at.
    public init(out: URL, runId: String?) throws(SnapshotReadError) {
        self.out = out
        if let runId {
            guard SnapshotWriter.isValidRunId(runId) else {
                throw SnapshotReadError("--run \(runId) is not a run id (YYYYMMDDTHHMMSSZ, optionally -N)")
            }
            self.runId = runId
        } else {
            guard let latest = SnapshotWriter.latestRunId(out: out) else {
                throw SnapshotReadError("--out \(out.path) has no latest snapshot (no runs/ folder published yet)")
            }
            self.runId = latest
        }
        guard FileManager.default.fileExists(atPath: path + "/" + SnapshotWriter.manifestFile) else {
            throw SnapshotReadError(
                "run \(self.runId) in \(out.path) is not a complete snapshot (no \(SnapshotWriter.manifestFile))")
        }
    }

    public func manifest() throws(SnapshotReadError) -> Manifest {
        do {
            return try Manifest.load(contentsOf: URL(fileURLWithPath: path + "/" + SnapshotWriter.manifestFile))
        } catch {
            throw SnapshotReadError("\(path)/\(SnapshotWriter.manifestFile) cannot be read: \(error)")
        }
    }

    public func indicators() throws(SnapshotReadError) -> SnapshotTable {
        try SnapshotTable.read(path + "/" + SnapshotWriter.indicatorsFile, header: indicatorsCSVHeader)
    }

    public func completeness() throws(SnapshotReadError) -> SnapshotTable {
        try SnapshotTable.read(path + "/" + SnapshotWriter.completenessFile, header: completenessCSVHeader)
    }

    public func warnings() throws(SnapshotReadError) -> SnapshotTable {
        try SnapshotTable.read(path + "/" + SnapshotWriter.warningsFile, header: warningsCSVHeader)
    }

    /// `revisions.csv`; an empty table for a snapshot written before it existed.
    public func revisions() throws(SnapshotReadError) -> SnapshotTable {
        let file = path + "/" + SnapshotWriter.revisionsFile
        guard FileManager.default.fileExists(atPath: file) else {
            return SnapshotTable(header: revisionsCSVHeader, rows: [])
        }
        return try SnapshotTable.read(file, header: revisionsCSVHeader)
    }

    /// `records/<year>/<kind>.csv`.
    public func records(year: Int, kind: RecordKind) throws(SnapshotReadError) -> SnapshotTable {
        try SnapshotTable.read(path + "/" + RecordFiles.path(year: year, kind: kind), header: RecordFiles.header(kind))
    }

    /// The indicator rows as `revisions.csv` compares them.
    public static func keyedIndicators(_ table: SnapshotTable) throws(SnapshotReadError) -> [RevisionRow.Keyed] {
        var result: [RevisionRow.Keyed] = []
        result.reserveCapacity(table.rows.count)
        for (i, row) in table.rows.enumerated() {
            guard let year = Int(row[0]) else {
                throw SnapshotReadError("indicators.csv line \(i + 2): year \(row[0]) is not a number")
            }
            result.append((year, row[1], row[4], row[5], row[7]))
        }
        return result
    }
}
