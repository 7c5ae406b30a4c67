// What a run gives the snapshot writer for the analysts' files of section 8.

import Foundation
import STIProtocol

extension Aggregator {
    /// The inputs of `revisions.csv`, `records/` and `report.html` for the snapshot about to be
    /// written: the previous published snapshot's indicators (the one `latest` points at, which
    /// does not move before this run publishes), the years to write, and which of them changed
    /// since the state's last snapshot, whose unchanged year files may be hard-linked.
    func analystFiles(store: any StateStore, writer: SnapshotWriter, indicators: [IndicatorRow]) throws(AggregateError)
        -> AnalystFiles
    {
        var previousIndicators: [RevisionRow.Keyed]?
        var linkFrom: (runId: String, files: [String: ManifestFile])?
        if let latest = writer.latestRunId(), let folder = try? SnapshotFolder(out: writer.out, runId: latest) {
            do { previousIndicators = try SnapshotFolder.keyedIndicators(folder.indicators()) } catch {
                throw AggregateError(
                    .snapshotFailed,
                    context: "the previous snapshot \(latest) cannot be compared for revisions.csv", underlying: error)
            }
            // Links only from the snapshot this state wrote last: its pending years are exactly
            // the years changed since then.
            if let manifest = try? folder.manifest(), (try? store.meta("last_run_id")) == latest {
                linkFrom = (latest, Dictionary(manifest.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
            }
        }
        let changed: Set<Int>
        do { changed = try store.pendingRecordYears() } catch { throw AggregateError(state: error) }
        var years: [Int] = []
        for row in indicators where years.last != row.year { years.append(row.year) }
        let registry = options.registry
        return AnalystFiles(
            previousIndicators: previousIndicators, years: years, changedYears: changed, linkFrom: linkFrom,
            records: { kind, county, emit in try store.forEachCurrentRecord(kind: kind, county: county, emit) },
            registry: registry)
    }
}
