// The analysts' files of a snapshot (section 8): `revisions.csv`, `records/<year>/*.csv` and
// `report.html`. Formatting is STIProtocol's (RecordFiles, RevisionRow) and ReportHTML's; this
// file writes them durably into the run folder and lists them for the manifest.

public import Foundation
import Kafka
public import STIProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a run hands the snapshot writer for the analysts' files.
public struct AnalystFiles {
    /// The indicator rows of the previous published snapshot (the one `latest` pointed at when
    /// the run began), nil when there is none: `revisions.csv` then holds only its header.
    public var previousIndicators: [RevisionRow.Keyed]?
    /// The years of `indicators.csv`: each gets its three record files.
    public var years: [Int]
    /// The years whose records changed since the snapshot `linkFrom` names.
    public var changedYears: Set<Int>
    /// The previous snapshot of the same state, whose unchanged years' files may be hard-linked
    /// (section 8): its run id and its manifest's files by name.
    public var linkFrom: (runId: String, files: [String: ManifestFile])?
    /// Calls its last argument with every current record of a kind and county (all years) as
    /// its line fields, with its source (`StateStore.forEachCurrentRecord`).
    public var records: (RecordKind, String, (RecordLineFields) throws -> Void) throws -> Void
    /// The registry, for `report.html`.
    public var registry: Registry

    public init(
        previousIndicators: [RevisionRow.Keyed]?, years: [Int], changedYears: Set<Int>,
        linkFrom: (runId: String, files: [String: ManifestFile])?,
        records: @escaping (RecordKind, String, (RecordLineFields) throws -> Void) throws -> Void,
        registry: Registry
    ) {
        self.previousIndicators = previousIndicators
        self.years = years
        self.changedYears = changedYears
        self.linkFrom = linkFrom
        self.records = records
        self.registry = registry
    }
}

extension SnapshotWriter {
    public static let revisionsFile = "revisions.csv"
    public static let reportFile = "report.html"

    /// Writes `revisions.csv` and `records/` into `dir`; returns their manifest entries and the
    /// cells of `revisions.csv` (for snapshot.xlsx).
    static func writeAnalystTables(
        dir: String, indicators: [IndicatorRow], analysts: AnalystFiles,
        runsPath: String
    ) throws(SnapshotError) -> (files: [ManifestFile], revisions: [[CSVCell]]) {
        var files: [ManifestFile] = []
        let revisions = RevisionRow.diff(previous: analysts.previousIndicators, current: indicators.map(\.keyed))
        var file = try DurableFile(creating: dir + "/" + revisionsFile)
        try file.append(CSVWriter.line(revisionsCSVHeader.map(CSVCell.text)))
        let revisionCells = revisions.map(\.csvCells)
        for row in revisionCells { try file.append(CSVWriter.line(row)) }
        files.append(ManifestFile(name: revisionsFile, rows: revisions.count, sha256: try file.finish()))

        let recordsDir = dir + "/" + RecordFiles.folder
        try makeDirectory(recordsDir)
        let years = analysts.years.sorted()
        for year in years { try makeDirectory(recordsDir + "/\(year)") }
        var entries: [String: ManifestFile] = [:]
        for kind in RecordKind.allCases {
            var rewrite: [Int] = []
            for year in years {
                let name = RecordFiles.path(year: year, kind: kind)
                if !analysts.changedYears.contains(year), let base = analysts.linkFrom, let entry = base.files[name],
                    link(runsPath + "/" + base.runId + "/" + name, dir + "/" + name) == 0
                {
                    entries[name] = entry
                } else {
                    rewrite.append(year)
                }
            }
            for entry in try writeRecordFiles(dir: dir, kind: kind, years: rewrite, analysts: analysts) {
                entries[entry.name] = entry
            }
        }
        for year in years {
            for kind in RecordKind.allCases { files.append(entries[RecordFiles.path(year: year, kind: kind)]!) }
            try fsyncDirectory(recordsDir + "/\(year)")
        }
        try fsyncDirectory(recordsDir)
        return (files, revisionCells)
    }

    /// A record file being written.
    final class OpenRecordFile {
        var file: DurableFile
        var rows = 0
        init(_ file: consuming DurableFile) { self.file = file }
    }

    /// The files `records/<year>/<kind>.csv` of `years`, in one pass over the kind's records:
    /// county by county in registry order, each county's records (all years) put in section 8's
    /// order (performer, contract number) and appended to their year's file.
    static func writeRecordFiles(
        dir: String, kind: RecordKind, years: [Int],
        analysts: AnalystFiles
    ) throws(SnapshotError) -> [ManifestFile] {
        guard !years.isEmpty else { return [] }
        var open: [Int: OpenRecordFile] = [:]
        for year in years {
            let file = OpenRecordFile(try DurableFile(creating: dir + "/" + RecordFiles.path(year: year, kind: kind)))
            try file.file.append(CSVWriter.line(RecordFiles.header(kind).map(CSVCell.text)))
            open[year] = file
        }
        // The store gives a county's records in identity byte order (`StateStore`), which is
        // section 8's order for contracts (by contract number) and profiles (one a year), so
        // they are written as they come; R&D (`rd|county|year|performer`) comes year by year
        // and only a year's few performers are put in section 3's order. Two threads read and
        // format (SQLite, the stored form, the CSV line), each taking the next county when it is
        // free, while this one hashes and writes the counties' lines in registry order.
        let reader = HandedOver(value: analysts.records)
        let counties = analysts.registry.geographies.map(\.code)
        let firstYear = years.min() ?? 0
        var wantedYears = [Bool](repeating: false, count: (years.max() ?? 0) - firstYear + 1)
        for year in years { wantedYears[year - firstYear] = true }
        let wanted = wantedYears
        let produce: @Sendable (Int, Handoff<LineChunk>) throws -> Void = { index, handoff in
            var chunk = LineChunk()
            var line = CSVLine()
            var scratch: [UInt8] = []
            var group: [(order: Int, line: [UInt8])] = []
            var groupYear = 0
            func flushGroup() {
                group.sort { $0.order < $1.order }
                for entry in group { chunk.append(year: groupYear, line: entry.line) }
                group.removeAll(keepingCapacity: true)
            }
            let county = counties[index]
            var position = RecordFiles.IdentityPosition()
            try reader.value(kind, county) { record in
                guard position.advance(to: record) else {
                    throw SnapshotError(
                        "the state gave the \(kind.rawValue) records of \(county) out of identity order")
                }
                let slot = record.year - firstYear
                guard slot >= 0 && slot < wanted.count && wanted[slot] else { return }
                if kind == .rd {
                    line.removeAll()
                    RecordFiles.appendLine(record, to: &line, scratch: &scratch)
                    if !group.isEmpty && groupYear != record.year { flushGroup() }
                    groupYear = record.year
                    group.append((record.performer.order, line.bytes))
                } else {
                    // Formatted straight into the chunk: no copy of the line.
                    RecordFiles.appendLine(record, to: &chunk.text, scratch: &scratch)
                    chunk.lines.append((record.year, chunk.text.bytes.count))
                }
                if chunk.text.bytes.count >= LineChunk.size {
                    guard handoff.send(chunk) else { throw Handoff<LineChunk>.Cancelled() }
                    chunk.removeAll()
                }
            }
            flushGroup()
            if !chunk.lines.isEmpty, !handoff.send(chunk) { throw Handoff<LineChunk>.Cancelled() }
        }
        func consume(_ handoffs: [Handoff<LineChunk>]) throws(SnapshotError) {
            do {
                var year = Int.min
                var target: OpenRecordFile?
                for handoff in handoffs {
                    while let chunk = try handoff.receive() {
                        var start = 0
                        for (lineYear, end) in chunk.lines {
                            if lineYear != year {
                                year = lineYear
                                target = open[year]
                            }
                            try target!.file.append(chunk.text.bytes[start..<end])
                            target!.rows += 1
                            start = end
                        }
                    }
                }
            } catch let error as SnapshotError {
                throw error
            } catch {
                throw SnapshotError("cannot read the current \(kind.rawValue) records: \(error)")
            }
        }
        do throws(SnapshotError) {
            try Handoff<LineChunk>.run(items: counties.count, lanes: 2, capacity: 16, produce: produce) {
                handoffs throws(SnapshotError) in try consume(handoffs)
            }
        } catch {
            for file in open.values { file.file.abandon() }
            throw error
        }
        var entries: [ManifestFile] = []
        for year in years {
            let target = open[year]!
            entries.append(
                ManifestFile(
                    name: RecordFiles.path(year: year, kind: kind), rows: target.rows,
                    sha256: try target.file.finish()))
        }
        return entries
    }

    static func makeDirectory(_ path: String) throws(SnapshotError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .posix("cannot create folder", path) }
    }

    /// Writes `report.html` into `dir` (created exclusively, fsynced) and returns its entry.
    static func writeReport(dir: String, html: String) throws(SnapshotError) -> ManifestFile {
        var file = try DurableFile(creating: dir + "/" + reportFile)
        try file.append(html)
        return ManifestFile(name: reportFile, rows: 0, sha256: try file.finish())
    }
}

/// `sti report`: writes a published snapshot's `report.html` again from the folder's own files.
public enum ReportWriter {
    /// Renders the report of run `runId` of `out` (`latest` when nil) and puts it in place
    /// atomically (a temporary file renamed over `report.html`). Returns the path written.
    public static func rewrite(out: URL, runId: String?, registry: Registry) throws -> String {
        let folder = try SnapshotFolder(out: out, runId: runId)
        let html = try ReportHTML.render(folder: folder.path, manifest: try folder.manifest(), registry: registry)
        let target = folder.path + "/" + SnapshotWriter.reportFile
        let temp = folder.path + "/.\(SnapshotWriter.reportFile).tmp-\(getpid())"
        unlink(temp)
        var file = try SnapshotWriter.DurableFile(creating: temp)
        try file.append(html)
        _ = try file.finish()
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw SnapshotError.posix("cannot move the report to", target, code)
        }
        try SnapshotWriter.fsyncDirectory(folder.path)
        return target
    }
}

/// Formatted record lines on their way from the reading thread to the writing one: the bytes
/// of consecutive lines and, for each, its year and where it ends.
struct LineChunk: Sendable {
    /// About this many bytes a chunk (a few thousand lines).
    static let size = 256 * 1024
    /// The lines, one after another (each ended by CRLF).
    var text = CSVLine(capacity: Self.size + 4096)
    /// Each line's year and where it ends in `text`.
    var lines: [(year: Int, end: Int)] = []

    init() { lines.reserveCapacity(Self.size / 64) }

    mutating func append(year: Int, line: [UInt8]) {
        text.append(line: line)
        lines.append((year, text.bytes.count))
    }

    mutating func removeAll() { self = LineChunk() }
}

/// A value handed to another thread that the giving thread does not touch until that thread
/// ended (`Handoff.run` joins it): the state store's record reader, used by one thread at a time.
struct HandedOver<Value>: @unchecked Sendable {
    let value: Value
}
