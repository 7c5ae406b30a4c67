// The per-kind record files of a snapshot, `records/<year>/{rd,tech-contracts,county-profiles}.csv`
// (section 8): pure formatting of rows. Writing them is the pipeline's (Snapshot/RecordFilesWriter).
//
// The field columns are not spelt here: they are the fields of the kind's schema in the field
// table's order (`MessageField`, section 3), `county` first, the common fields after them.

/// The Kafka message that made a record current: its `topic,partition,offset` (section 8).
public struct RecordSource: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// The layout of the record files of section 8.
public enum RecordFiles {
    /// The folder under a run folder: `records`.
    public static let folder = "records"

    /// `rd.csv`, `tech-contracts.csv`, `county-profiles.csv`: the topic's name after the prefix.
    public static func fileName(_ kind: RecordKind) -> String { kind.topicSuffix + ".csv" }

    /// `records/<year>/<file>`, the path under the run folder (as the manifest lists it).
    public static func path(year: Int, kind: RecordKind) -> String { "\(folder)/\(year)/\(fileName(kind))" }

    /// The fields every schema has, written after the kind's own (section 8), in table order.
    static let trailingFields: [MessageField] = [.revision, .status, .submittedAt, .explanation]
    /// The fields that are not columns at all.
    static let omittedFields: Set<MessageField> = [.schema]

    /// The field columns of a kind: `county`, then its own fields in the field table's order,
    /// then the common fields `revision,status,submitted_at,explanation`.
    static func fields(_ kind: RecordKind) -> [MessageField] {
        switch kind {
        case .rd: rdFields
        case .techContract: contractFields
        case .countyProfile: profileFields
        }
    }

    private static let rdFields = computeFields(.rd)
    private static let contractFields = computeFields(.techContract)
    private static let profileFields = computeFields(.countyProfile)

    private static func computeFields(_ kind: RecordKind) -> [MessageField] {
        let mask = MessageField.mask(of: kind)
        let own = MessageField.allCases.filter {
            mask & (1 << UInt32($0.rawValue)) != 0 && $0 != .county && !trailingFields.contains($0)
                && !omittedFields.contains($0)
        }
        return [.county] + own + trailingFields
    }

    /// The `revision` column.
    public static let revisionColumn = MessageField.revision.name

    /// The column naming a record within its county and kind: the performer, the contract
    /// number; nil for a profile (one per county and year).
    public static func identityColumn(_ kind: RecordKind) -> String? {
        switch kind {
        case .rd: MessageField.performer.name
        case .techContract: MessageField.contractNo.name
        case .countyProfile: nil
        }
    }

    /// The identities of one kind and county as a half-open range of strings: `Record.identity`
    /// starts with `<kind>|<county>|`, and `}` follows `|` in byte order.
    public static func identityRange(kind: RecordKind, county: String) -> Range<String> {
        "\(kind.rawValue)|\(county)|"..<"\(kind.rawValue)|\(county)}"
    }

    /// The source columns, last.
    public static let sourceColumns = ["topic", "partition", "offset"]

    /// The header of a kind's file.
    public static func header(_ kind: RecordKind) -> [String] { fields(kind).map(\.name) + sourceColumns }

    /// The cells of one current record. Numbers as `warnings.csv` writes them (section 7's
    /// format, in the field's own unit); an absent figure is an empty cell; submitted text is a
    /// guarded text cell. `source` nil (a record stored before sources were kept) gives empty
    /// source cells.
    public static func cells(_ record: Record, source: RecordSource?) -> [CSVCell] {
        fields(record.kind).map { cell(of: $0, in: record) }
            + [
                .text(source?.topic ?? ""), .number(source.map { String($0.partition) } ?? ""),
                .number(source.map { String($0.offset) } ?? ""),
            ]
    }

    static func cell(of field: MessageField, in record: Record) -> CSVCell {
        func amount(_ a: ExactAmount?) -> CSVCell { .number(a?.description ?? "") }
        func count(_ n: Int64?) -> CSVCell { .number(n.map { String($0) } ?? "") }
        switch field {
        case .county: return .text(record.county)
        case .revision: return .int(record.revision)
        case .status: return .text(record.status.rawValue)
        case .submittedAt: return .text(record.submittedAt)
        case .explanation: return .text(record.explanation ?? "")
        case .schema: return .text(record.kind.schema)
        case .year: return .int(record.year)
        default: break
        }
        switch record.body {
        case .rd(let r):
            switch field {
            case .performer: return .text(r.performer.rawValue)
            case .expenditure: return amount(r.expenditure)
            default: return .text("")
            }
        case .techContract(let c):
            switch field {
            case .contractNo: return .text(c.contractNo)
            case .registeredOn: return .text(c.registeredOn.description)
            case .contractType: return .text(c.contractType.rawValue)
            case .domain: return .text(c.domain.rawValue)
            case .contractValue: return amount(c.contractValue)
            case .techTransactionValue: return amount(c.techTransactionValue)
            case .buyerCountry: return .text(c.buyerCountry)
            default: return .text("")
            }
        case .countyProfile(let p):
            switch field {
            case .gdp: return amount(p.gdp)
            case .residentPopulation: return amount(p.residentPopulation)
            case .highTechEnterprises: return count(p.highTechEnterprises)
            case .inventionPatentsHeld: return count(p.inventionPatentsHeld)
            case .industrialOutput: return amount(p.industrialOutput)
            case .highTechIndustrialOutput: return amount(p.highTechIndustrialOutput)
            default: return .text("")
            }
        }
    }

    /// Orders the current records of one county and kind as section 8 lists them: performer in
    /// section 3 order, contract number in byte order (a profile is alone).
    public static func precedes(_ a: Record, _ b: Record) -> Bool {
        switch (a.body, b.body) {
        case (.rd(let x), .rd(let y)):
            return Performer.allCases.firstIndex(of: x.performer)! < Performer.allCases.firstIndex(of: y.performer)!
        case (.techContract(let x), .techContract(let y)):
            return Array(x.contractNo.utf8).lexicographicallyPrecedes(Array(y.contractNo.utf8))
        default:
            return a.year < b.year
        }
    }
}

/// The column names of `revisions.csv` (section 8).
public let revisionsCSVHeader = [
    "year", "geo_code", "indicator", "previous_value", "previous_status", "value", "status",
]

/// One row of `revisions.csv`: an indicator row whose value or status changed since the previous
/// published snapshot, a new one (no previous cells) or a gone one (no current cells).
public struct RevisionRow: Sendable, Hashable {
    public var year: Int
    public var geoCode: String
    public var indicator: String
    /// nil for a new row.
    public var previous: (value: String, status: String)?
    /// nil for a gone row.
    public var current: (value: String, status: String)?

    public init(
        year: Int, geoCode: String, indicator: String, previous: (value: String, status: String)?,
        current: (value: String, status: String)?
    ) {
        self.year = year
        self.geoCode = geoCode
        self.indicator = indicator
        self.previous = previous
        self.current = current
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.year == b.year && a.geoCode == b.geoCode && a.indicator == b.indicator
            && a.previous?.value == b.previous?.value && a.previous?.status == b.previous?.status
            && a.current?.value == b.current?.value && a.current?.status == b.current?.status
    }

    public func hash(into h: inout Hasher) {
        h.combine(year)
        h.combine(geoCode)
        h.combine(indicator)
        h.combine(previous?.value)
        h.combine(previous?.status)
        h.combine(current?.value)
        h.combine(current?.status)
    }

    /// The cells in `revisions.csv` column order.
    public var csvCells: [CSVCell] {
        [
            .int(year), .text(geoCode), .text(indicator), .number(previous?.value ?? ""), .text(previous?.status ?? ""),
            .number(current?.value ?? ""), .text(current?.status ?? ""),
        ]
    }

    /// The key cells of an indicator row: year, geography, indicator, and its value and status.
    public typealias Keyed = (year: Int, geoCode: String, indicator: String, value: String, status: String)

    /// The rows of `revisions.csv` from the previous snapshot's indicator rows and the current
    /// ones (section 8): changed and new rows in the current order, then gone rows in the
    /// previous order. `previous` nil (no previous snapshot) gives no rows.
    public static func diff(previous: [Keyed]?, current: [Keyed]) -> [RevisionRow] {
        guard let previous else { return [] }
        struct Key: Hashable {
            var year: Int
            var geo: String
            var indicator: String
        }
        var before: [Key: (value: String, status: String)] = [:]
        for p in previous { before[Key(year: p.year, geo: p.geoCode, indicator: p.indicator)] = (p.value, p.status) }
        var seen = Set<Key>()
        var rows: [RevisionRow] = []
        for c in current {
            let key = Key(year: c.year, geo: c.geoCode, indicator: c.indicator)
            seen.insert(key)
            let old = before[key]
            if let old, old.value == c.value, old.status == c.status { continue }
            rows.append(
                RevisionRow(
                    year: c.year, geoCode: c.geoCode, indicator: c.indicator, previous: old,
                    current: (c.value, c.status)))
        }
        for p in previous where !seen.contains(Key(year: p.year, geo: p.geoCode, indicator: p.indicator)) {
            rows.append(
                RevisionRow(
                    year: p.year, geoCode: p.geoCode, indicator: p.indicator, previous: (p.value, p.status),
                    current: nil))
        }
        return rows
    }
}

extension IndicatorRow {
    /// The cells `revisions.csv` compares.
    public var keyed: RevisionRow.Keyed { (year, geoCode, indicator.rawValue, value, status.rawValue) }
}
