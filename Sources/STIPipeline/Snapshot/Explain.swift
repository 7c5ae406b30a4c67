// `sti explain`: why a figure of a snapshot is what it is, from the snapshot folder alone:
// the row of indicators.csv, the current records behind it (records/<year>/*.csv, with the
// topic, partition and offset of the message that made each current), and the rows of
// warnings.csv about those records.

public import Foundation
public import STIProtocol

/// A request `sti explain` cannot answer, naming the bad argument.
public struct ExplainError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unknownGeography, unknownIndicator, yearNotInSnapshot, snapshot
    }
    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// What lies behind one figure.
public struct Explanation: Sendable {
    public struct RecordLine: Sendable, Hashable {
        public var role: IndicatorInputSpec.Role
        public var kind: RecordKind
        /// The column's name and the record's cell, or nil for a counted record.
        public var column: String?
        public var value: String
        /// `active` or `withdrawn` (a withdrawn record is listed but not counted).
        public var status: String
        public var county: String
        /// The record's identity within its kind: performer, contract number or empty.
        public var identity: String
        public var revision: String
        public var topic: String
        public var partition: String
        public var offset: String
    }

    public var runId: String
    public var year: Int
    public var geoCode: String
    public var geoNameZh: String
    public var geoNameEn: String
    public var indicator: Indicator
    public var value: String
    public var status: String
    public var countiesReporting: String
    public var countiesExpected: String
    public var constituents: [String]
    public var records: [RecordLine]
    /// Rows of warnings.csv about the constituents' records of the kinds used, as read.
    public var warnings: [[String]]
}

public enum Explain {
    /// Explains `indicator` of `geo` in `year` from the snapshot `runId` of `out` (`latest` when nil).
    public static func explain(
        out: URL, runId: String?, year: Int, geo: String, indicator name: String,
        registry: Registry
    ) throws(ExplainError) -> Explanation {
        guard let indicator = Indicator(rawValue: name) else {
            throw ExplainError(
                .unknownIndicator,
                "--indicator \(name) is not an indicator; one of \(Indicator.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let constituents: [String]
        if registry.contains(geo) {
            constituents = [geo]
        } else if let d = registry.derived.first(where: { $0.code == geo }) {
            constituents = d.constituents
        } else {
            throw ExplainError(
                .unknownGeography,
                "--geo \(geo) is not a geography of the registry nor a derived one (\(registry.derived.map(\.code).joined(separator: ", ")))"
            )
        }
        do {
            let folder = try SnapshotFolder(out: out, runId: runId)
            let indicators = try folder.indicators()
            let years = Set(indicators.rows.map { $0[0] })
            guard years.contains(String(year)) else {
                throw ExplainError(
                    .yearNotInSnapshot,
                    "--year \(year) is not in snapshot \(folder.runId); its years are \(years.sorted().joined(separator: ", "))"
                )
            }
            guard
                let row = indicators.rows.first(where: {
                    $0[0] == String(year) && $0[1] == geo && $0[4] == indicator.rawValue
                })
            else {
                throw ExplainError(
                    .unknownGeography, "--geo \(geo) has no row in snapshot \(folder.runId) (registry changed since?)")
            }
            let wanted = Set(constituents)
            var lines: [Explanation.RecordLine] = []
            for spec in indicator.inputs {
                let table = try folder.records(year: year, kind: spec.kind)
                let col = { (name: String) in table.column(name)! }
                let county = col(IndicatorInputSpec.countyColumn)
                let status = col(IndicatorInputSpec.statusColumn)
                let revision = col(RecordFiles.revisionColumn)
                let value = spec.column.map(col)
                let filter = spec.filterColumn.map(col)
                let identity = RecordFiles.identityColumn(spec.kind).map(col)
                let topic = col(RecordFiles.sourceColumns[0])
                let partition = col(RecordFiles.sourceColumns[1])
                let offset = col(RecordFiles.sourceColumns[2])
                for r in table.rows where wanted.contains(r[county]) {
                    if let filter, !spec.filterValues.contains(r[filter]) { continue }
                    lines.append(
                        .init(
                            role: spec.role, kind: spec.kind, column: spec.column, value: value.map { r[$0] } ?? "1",
                            status: r[status], county: r[county], identity: identity.map { r[$0] } ?? "",
                            revision: r[revision], topic: r[topic], partition: r[partition], offset: r[offset]))
                }
            }
            let kinds = Set(indicator.inputs.map(\.kind.rawValue))
            let warnings = try folder.warnings().rows.filter {
                $0[0] == String(year) && wanted.contains($0[1]) && kinds.contains($0[2])
            }
            return Explanation(
                runId: folder.runId, year: year, geoCode: geo, geoNameZh: row[2], geoNameEn: row[3],
                indicator: indicator, value: row[5], status: row[7], countiesReporting: row[8],
                countiesExpected: row[9], constituents: constituents, records: lines, warnings: warnings)
        } catch let error as ExplainError {
            throw error
        } catch {
            throw ExplainError(.snapshot, "\(error)")
        }
    }

    /// The plain-text answer `sti explain` prints.
    public static func render(_ x: Explanation) -> String {
        var out =
            "\(x.geoCode) \(x.geoNameZh) \(x.geoNameEn), \(x.year), \(x.indicator.rawValue) (\(x.indicator.unit)), snapshot \(x.runId)\n"
        out +=
            "value: \(x.value.isEmpty ? "(empty)" : x.value)  status: \(x.status)  counties reporting: \(x.countiesReporting) of \(x.countiesExpected)\n"
        if x.constituents.count > 1 { out += "constituents: \(x.constituents.joined(separator: " "))\n" }
        out +=
            x.indicator.isRatio
            ? "a ratio: Σ numerator ÷ Σ denominator × \(x.indicator == .inventionPatentsPer10k ? "1 (population in 万人)" : "100"), only when every constituent reports both (section 7)\n"
            : "a sum over the constituents that report (section 7)\n"
        for spec in x.indicator.inputs {
            let lines = x.records.filter { $0.role == spec.role && $0.kind == spec.kind }
            let what = spec.column.map { "Σ \($0)" } ?? "count"
            let filter =
                spec.filterColumn.map { " where \($0) in \(spec.filterValues.sorted().joined(separator: " "))" } ?? ""
            out +=
                "\n\(spec.role.rawValue): \(what) of active \(spec.kind.rawValue) records\(filter) (records/\(x.year)/\(RecordFiles.fileName(spec.kind)))\n"
            if lines.isEmpty { out += "  (no records)\n" }
            for l in lines {
                let id = l.identity.isEmpty ? "" : " \(l.identity)"
                let counted = l.status == RecordStatus.active.rawValue ? "" : "  [\(l.status), not counted]"
                let value = l.column.map { " \($0)=\(l.value.isEmpty ? "(absent)" : l.value)" } ?? ""
                out +=
                    "  \(l.county)\(id)\(value) revision \(l.revision)  \(l.topic) partition \(l.partition) offset \(l.offset)\(counted)\n"
            }
        }
        out += "\nwarnings (warnings.csv):\n"
        if x.warnings.isEmpty { out += "  (none)\n" }
        for w in x.warnings {
            let explanation = w[9].isEmpty ? "" : "  explanation: \(w[9])"
            out +=
                "  \(w[1]) \(w[2]) \(w[3]) \(w[4]) \(w[5])=\(w[6])\(w[7].isEmpty ? "" : " vs \(w[7])") \(w[8])  \(w[10]) partition \(w[11]) offset \(w[12])\(explanation)\n"
        }
        return out
    }
}
