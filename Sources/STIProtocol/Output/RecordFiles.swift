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

/// One current record as the fields of its `records/` line (section 8), its text borrowed
/// (valid UTF-8, valid only while the lender keeps it): the state's stored form is formatted
/// from where it lies, without building a `Record` and its strings. The figures are scaled
/// integers (`ExactAmount.scaled`) or counts; fields of other kinds than `kind` are unused.
public struct RecordLineFields {
    public typealias Text = UnsafeRawBufferPointer
    public static var noText: Text { Text(start: nil, count: 0) }

    public var kind: RecordKind
    public var county: Text = noText
    public var revision = 0
    public var status = RecordStatus.active
    public var submittedAt: Text = noText
    /// Empty when the record has none.
    public var explanation: Text = noText
    /// Whether the record has an explanation (possibly empty text).
    public var hasExplanation = false
    /// The record's year (a contract's: its registration year).
    public var year = 0
    // sti.rd
    public var performer = Performer.other
    public var expenditure: Int64?
    // sti.tech-contract
    public var contractNo: Text = noText
    public var registeredOn = CalendarDate(year: 0, month: 1, day: 1)
    public var contractType = ContractType.development
    public var domain = TechDomain.other
    public var contractValue: Int64?
    public var techTransactionValue: Int64?
    public var buyerCountry: Text = noText
    // sti.county-profile
    public var gdp: Int64?
    public var residentPopulation: Int64?
    public var highTechEnterprises: Int64?
    public var inventionPatentsHeld: Int64?
    public var industrialOutput: Int64?
    public var highTechIndustrialOutput: Int64?
    /// The message that made the record current (section 8's last three columns); nil topic:
    /// none kept.
    public var sourceTopic: Text?
    public var sourcePartition: Int32 = 0
    public var sourceOffset: Int64 = 0

    public init(kind: RecordKind) { self.kind = kind }
}

extension Record {
    /// Calls `body` with the record's line fields, its text borrowed from one buffer.
    public func withLineFields<T>(source: RecordSource?, _ use: (RecordLineFields) throws -> T) rethrows -> T {
        var arena: [UInt8] = []
        func put(_ s: String) -> Range<Int> {
            let start = arena.count
            arena.append(contentsOf: s.utf8)
            return start..<arena.count
        }
        let county = put(self.county)
        let submitted = put(submittedAt)
        let explained = put(explanation ?? "")
        var contract = 0..<0
        var buyer = 0..<0
        let topic = source.map { put($0.topic) }
        var f = RecordLineFields(kind: kind)
        f.revision = revision
        f.status = status
        f.year = year
        f.hasExplanation = explanation != nil
        switch body {
        case .rd(let r):
            f.performer = r.performer
            f.expenditure = r.expenditure.scaled
        case .techContract(let c):
            contract = put(c.contractNo)
            buyer = put(c.buyerCountry)
            f.registeredOn = c.registeredOn
            f.contractType = c.contractType
            f.domain = c.domain
            f.contractValue = c.contractValue.scaled
            f.techTransactionValue = c.techTransactionValue.scaled
        case .countyProfile(let p):
            f.gdp = p.gdp?.scaled
            f.residentPopulation = p.residentPopulation?.scaled
            f.highTechEnterprises = p.highTechEnterprises
            f.inventionPatentsHeld = p.inventionPatentsHeld
            f.industrialOutput = p.industrialOutput?.scaled
            f.highTechIndustrialOutput = p.highTechIndustrialOutput?.scaled
        }
        if let source {
            f.sourcePartition = source.partition
            f.sourceOffset = source.offset
        }
        return try arena.withUnsafeBytes { base in
            func text(_ r: Range<Int>) -> RecordLineFields.Text { RecordLineFields.Text(rebasing: base[r]) }
            f.county = text(county)
            f.submittedAt = text(submitted)
            f.explanation = text(explained)
            f.contractNo = text(contract)
            f.buyerCountry = text(buyer)
            f.sourceTopic = topic.map(text)
            return try use(f)
        }
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

    /// The line of one current record (its cells, then CRLF), appended to `line`. Numbers as
    /// `warnings.csv` writes them (section 7's format, in the field's own unit); an absent
    /// figure is an empty cell; submitted text is a guarded text cell; no source (a record
    /// stored before sources were kept) gives empty source cells. Written as bytes from borrowed
    /// fields: a snapshot holds a line for every current record, a million in the benchmark.
    public static func appendLine(_ record: RecordLineFields, to line: inout CSVLine, scratch: inout [UInt8]) {
        for field in fields(record.kind) { appendCell(of: field, in: record, to: &line, scratch: &scratch) }
        if let topic = record.sourceTopic {
            line.text(utf8: topic)
            line.int(record.sourcePartition)
            line.int(record.sourceOffset)
        } else {
            line.empty()
            line.empty()
            line.empty()
        }
        line.end()
    }

    /// The line of one current record as text.
    public static func line(_ record: Record, source: RecordSource?) -> String {
        var line = CSVLine()
        var scratch: [UInt8] = []
        record.withLineFields(source: source) { appendLine($0, to: &line, scratch: &scratch) }
        return String(decoding: line.bytes, as: UTF8.self)
    }

    static func appendCell(
        of field: MessageField, in r: RecordLineFields, to line: inout CSVLine, scratch: inout [UInt8]
    ) {
        func amount(_ scaled: Int64?) {
            if let scaled {
                line.decimal(scaled: scaled, fractionDigits: ExactAmount.fractionDigits)
            } else {
                line.empty()
            }
        }
        func count(_ n: Int64?) {
            if let n { line.int(n) } else { line.empty() }
        }
        switch field {
        case .county: line.text(utf8: r.county)
        case .revision: line.int(r.revision)
        case .status: line.text(r.status.rawValue)
        case .submittedAt: line.text(utf8: r.submittedAt)
        case .explanation: line.text(utf8: r.explanation)
        case .schema: line.text(r.kind.schema)
        case .year: line.int(r.year)
        case .performer: line.text(r.performer.rawValue)
        case .expenditure: amount(r.expenditure)
        case .contractNo: line.text(utf8: r.contractNo)
        case .registeredOn:
            scratch.removeAll(keepingCapacity: true)
            r.registeredOn.appendText(to: &scratch)
            line.text(bytes: scratch)
        case .contractType: line.text(r.contractType.rawValue)
        case .domain: line.text(r.domain.rawValue)
        case .contractValue: amount(r.contractValue)
        case .techTransactionValue: amount(r.techTransactionValue)
        case .buyerCountry: line.text(utf8: r.buyerCountry)
        case .gdp: amount(r.gdp)
        case .residentPopulation: amount(r.residentPopulation)
        case .highTechEnterprises: count(r.highTechEnterprises)
        case .inventionPatentsHeld: count(r.inventionPatentsHeld)
        case .industrialOutput: amount(r.industrialOutput)
        case .highTechIndustrialOutput: amount(r.highTechIndustrialOutput)
        }
    }

    /// Where a record stands in `Record.identity` byte order among the records of its county
    /// and kind: year then performer name (R&D), contract number as bytes, year (a profile).
    /// The state store gives records in this order; section 8 wants it too, except that R&D
    /// performers go in section 3's order (`Performer.order`).
    public struct IdentityPosition: Equatable {
        public var year = Int.min
        public var name: [UInt8] = []
        public init() {}

        /// Moves to `record`'s position; false when that is not after the current one.
        public mutating func advance(to record: RecordLineFields) -> Bool {
            switch record.kind {
            case .rd: step(year: record.year, name: record.performer.rawValue.utf8)
            case .techContract: step(year: 0, name: record.contractNo)
            case .countyProfile: step(year: record.year, name: EmptyCollection())
            }
        }

        private mutating func step(year: Int, name: some Collection<UInt8>) -> Bool {
            let after = year != self.year ? year > self.year : self.name.lexicographicallyPrecedes(name)
            self.year = year
            self.name.removeAll(keepingCapacity: true)
            self.name.append(contentsOf: name)
            return after
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
