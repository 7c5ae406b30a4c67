// Incremental per-(year, geography) totals of the current records: exactly the inputs of the
// indicators and of completeness (sections 7 and 8), so a snapshot never rereads the records.
//
// The book changes by `add` (a record becomes current) and `remove` (a current record is
// replaced by a later revision). Both are exact integer operations, so removing what was
// added restores the previous book bit for bit, and a rebuild from offset zero yields a book
// equal to the one built up by any split of incremental runs.

/// The buyer countries of `tech_contract_value_s_se_asia` (section 7): South and Southeast Asia.
public let southAndSoutheastAsia: Set<String> = [
    "BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL", "IN", "PK", "BD", "LK", "NP", "BT", "MV", "AF",
]

/// The totals of one geography's current records for one year: what the indicators and the
/// completeness table need, and nothing else. Sums are Int128 yuan (a hostile but valid
/// stream of contracts could overflow Int64).
public struct CountyYearTotals: Codable, Sendable, Hashable {
    /// Current records of every kind and status; a year exists when any geography has one.
    public var currentRecords: Int = 0
    /// Current active `sti.rd/1` records.
    public var activeRD: Int = 0
    /// Current active `sti.tech-contract/1` records (= the `tech_contracts` count).
    public var activeContracts: Int = 0
    /// Current active `sti.county-profile/1` records: 0 or 1 (one identity per county-year).
    public var activeProfiles: Int = 0
    /// Σ R&D expenditure of all performers, yuan.
    public var rdExpenditureYuan: Int128 = 0
    /// Σ R&D expenditure of `enterprise_above_scale`, yuan.
    public var enterpriseAboveScaleYuan: Int128 = 0
    /// Σ contract value of active contracts, yuan.
    public var contractValueYuan: Int128 = 0
    /// Σ technology transaction value of active contracts, yuan.
    public var techTransactionValueYuan: Int128 = 0
    /// Σ contract value of active contracts whose buyer is in `southAndSoutheastAsia`, yuan.
    public var contractValueSSEAsiaYuan: Int128 = 0
    /// The figures of the current active profile, nil when there is none. A revision replaces
    /// the whole profile, so a figure left out of it is no longer known.
    public var profile: CountyProfile?

    public init() {}

    /// Whether nothing is recorded; the book drops such entries so rebuilds and incremental
    /// runs hold the same set of keys.
    public var isEmpty: Bool { self == CountyYearTotals() }

    /// Active records of one kind (completeness `records`).
    public func activeRecords(of kind: RecordKind) -> Int {
        switch kind {
        case .rd: activeRD
        case .techContract: activeContracts
        case .countyProfile: activeProfiles
        }
    }

    enum CodingKeys: String, CodingKey {
        case currentRecords = "current_records"
        case activeRD = "active_rd"
        case activeContracts = "active_contracts"
        case activeProfiles = "active_profiles"
        case rdExpenditureYuan = "rd_expenditure_yuan"
        case enterpriseAboveScaleYuan = "enterprise_above_scale_yuan"
        case contractValueYuan = "contract_value_yuan"
        case techTransactionValueYuan = "tech_transaction_value_yuan"
        case contractValueSSEAsiaYuan = "contract_value_s_se_asia_yuan"
        case profile
    }

    /// A profile figure's key: the catalogue's field name, with `_scaled` for a decimal (held
    /// × 10^4), e.g. `gdp_100m_cny_scaled`, `high_tech_enterprises`.
    struct ProfileKeys: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        init(_ f: MessageField) {
            let spec = RecordCatalogue.spec(f)
            stringValue = spec.type == .decimal ? spec.name + "_scaled" : spec.name
        }
        static let year = ProfileKeys(.year), gdp = ProfileKeys(.gdp),
            residentPopulation = ProfileKeys(.residentPopulation)
        static let highTechEnterprises = ProfileKeys(.highTechEnterprises),
            inventionPatentsHeld = ProfileKeys(.inventionPatentsHeld)
        static let industrialOutput = ProfileKeys(.industrialOutput),
            highTechIndustrialOutput = ProfileKeys(.highTechIndustrialOutput)
    }

    // Int128 sums are written as decimal strings: JSON readers commonly hold numbers as
    // doubles, which would round sums above 2^53.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(currentRecords, forKey: .currentRecords)
        try c.encode(activeRD, forKey: .activeRD)
        try c.encode(activeContracts, forKey: .activeContracts)
        try c.encode(activeProfiles, forKey: .activeProfiles)
        try c.encode(String(rdExpenditureYuan), forKey: .rdExpenditureYuan)
        try c.encode(String(enterpriseAboveScaleYuan), forKey: .enterpriseAboveScaleYuan)
        try c.encode(String(contractValueYuan), forKey: .contractValueYuan)
        try c.encode(String(techTransactionValueYuan), forKey: .techTransactionValueYuan)
        try c.encode(String(contractValueSSEAsiaYuan), forKey: .contractValueSSEAsiaYuan)
        if let p = profile {
            var pc = c.nestedContainer(keyedBy: ProfileKeys.self, forKey: .profile)
            try pc.encode(p.year, forKey: .year)
            try pc.encodeIfPresent(p.gdp?.scaled, forKey: .gdp)
            try pc.encodeIfPresent(p.residentPopulation?.scaled, forKey: .residentPopulation)
            try pc.encodeIfPresent(p.highTechEnterprises, forKey: .highTechEnterprises)
            try pc.encodeIfPresent(p.inventionPatentsHeld, forKey: .inventionPatentsHeld)
            try pc.encodeIfPresent(p.industrialOutput?.scaled, forKey: .industrialOutput)
            try pc.encodeIfPresent(p.highTechIndustrialOutput?.scaled, forKey: .highTechIndustrialOutput)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int {
            let v = try c.decode(Int.self, forKey: key)
            guard v >= 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "a record count cannot be negative")
            }
            return v
        }
        func sum(_ key: CodingKeys) throws -> Int128 {
            let text = try c.decode(String.self, forKey: key)
            guard let v = Int128(text), String(v) == text else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "not a canonical decimal integer: \(text)")
            }
            return v
        }
        currentRecords = try count(.currentRecords)
        activeRD = try count(.activeRD)
        activeContracts = try count(.activeContracts)
        activeProfiles = try count(.activeProfiles)
        rdExpenditureYuan = try sum(.rdExpenditureYuan)
        enterpriseAboveScaleYuan = try sum(.enterpriseAboveScaleYuan)
        contractValueYuan = try sum(.contractValueYuan)
        techTransactionValueYuan = try sum(.techTransactionValueYuan)
        contractValueSSEAsiaYuan = try sum(.contractValueSSEAsiaYuan)
        if c.contains(.profile), try !c.decodeNil(forKey: .profile) {
            let pc = try c.nestedContainer(keyedBy: ProfileKeys.self, forKey: .profile)
            profile = CountyProfile(
                year: try pc.decode(Int.self, forKey: .year),
                gdp: try pc.decodeIfPresent(Int64.self, forKey: .gdp).map(ExactAmount.init(scaled:)),
                residentPopulation: try pc.decodeIfPresent(Int64.self, forKey: .residentPopulation).map(
                    ExactAmount.init(scaled:)),
                highTechEnterprises: try pc.decodeIfPresent(Int64.self, forKey: .highTechEnterprises),
                inventionPatentsHeld: try pc.decodeIfPresent(Int64.self, forKey: .inventionPatentsHeld),
                industrialOutput: try pc.decodeIfPresent(Int64.self, forKey: .industrialOutput).map(
                    ExactAmount.init(scaled:)),
                highTechIndustrialOutput: try pc.decodeIfPresent(Int64.self, forKey: .highTechIndustrialOutput).map(
                    ExactAmount.init(scaled:)))
        } else {
            profile = nil
        }
    }
}

/// The key of one book entry: a year and a submitting geography's code.
public struct AggregateKey: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var geo: String
    public init(year: Int, geo: String) {
        self.year = year
        self.geo = geo
    }
    public static func < (a: AggregateKey, b: AggregateKey) -> Bool { (a.year, a.geo) < (b.year, b.geo) }
    public var description: String { "\(year)/\(geo)" }
}

/// The aggregate state of all current records: one `CountyYearTotals` per (year, submitting
/// geography) that has any current record. Derived geographies are not stored; they are
/// summed from counties when indicators are computed.
///
/// The state store persists only the entries a run touched: `add` and `remove` return the
/// key they changed, and `self[key]` (nil once the entry became empty) is what to write.
public struct AggregateBook: Codable, Sendable, Hashable {
    /// Every non-empty entry.
    public private(set) var entries: [AggregateKey: CountyYearTotals]

    public init() { entries = [:] }

    /// A book from persisted entries (empty totals are dropped so equality with a rebuilt
    /// book holds).
    public init(entries: [AggregateKey: CountyYearTotals]) {
        self.entries = entries.filter { !$0.value.isEmpty }
    }

    public subscript(key: AggregateKey) -> CountyYearTotals? { entries[key] }
    public subscript(year year: Int, geo geo: String) -> CountyYearTotals? {
        entries[AggregateKey(year: year, geo: geo)]
    }

    /// Years with any current record (withdrawn ones too), ascending: the years of every snapshot.
    public var years: [Int] { Set(entries.keys.map(\.year)).sorted() }

    /// The entry a record belongs to.
    public static func key(for record: Record) -> AggregateKey { AggregateKey(year: record.year, geo: record.county) }

    /// Counts `record` as current. When it replaces an earlier revision, `remove` that one first.
    @discardableResult
    public mutating func add(_ record: Record) -> AggregateKey {
        let key = Self.key(for: record)
        var t = entries[key] ?? CountyYearTotals()
        t.currentRecords += 1
        if record.isActive {
            switch record.body {
            case .rd(let r):
                t.activeRD += 1
                let yuan = Int128(r.expenditure.scaled)
                t.rdExpenditureYuan += yuan
                if r.performer == .enterpriseAboveScale { t.enterpriseAboveScaleYuan += yuan }
            case .techContract(let c):
                t.activeContracts += 1
                t.contractValueYuan += Int128(c.contractValue.scaled)
                t.techTransactionValueYuan += Int128(c.techTransactionValue.scaled)
                if southAndSoutheastAsia.contains(c.buyerCountry) {
                    t.contractValueSSEAsiaYuan += Int128(c.contractValue.scaled)
                }
            case .countyProfile(let p):
                precondition(
                    t.activeProfiles == 0,
                    "AggregateBook.add: \(record.identity) already has a current active profile; remove it first")
                t.activeProfiles = 1
                t.profile = p
            }
        }
        entries[key] = t
        return key
    }

    /// Stops counting `record`, which must be current (added and not yet removed). Exactly
    /// undoes `add`; an entry left empty is dropped.
    @discardableResult
    public mutating func remove(_ record: Record) -> AggregateKey {
        let key = Self.key(for: record)
        guard var t = entries[key], t.currentRecords > 0 else {
            preconditionFailure("AggregateBook.remove: \(record.identity) was never added")
        }
        t.currentRecords -= 1
        if record.isActive {
            switch record.body {
            case .rd(let r):
                precondition(t.activeRD > 0, "AggregateBook.remove: no active R&D record counted for \(key)")
                t.activeRD -= 1
                let yuan = Int128(r.expenditure.scaled)
                t.rdExpenditureYuan -= yuan
                if r.performer == .enterpriseAboveScale { t.enterpriseAboveScaleYuan -= yuan }
            case .techContract(let c):
                precondition(t.activeContracts > 0, "AggregateBook.remove: no active contract counted for \(key)")
                t.activeContracts -= 1
                t.contractValueYuan -= Int128(c.contractValue.scaled)
                t.techTransactionValueYuan -= Int128(c.techTransactionValue.scaled)
                if southAndSoutheastAsia.contains(c.buyerCountry) {
                    t.contractValueSSEAsiaYuan -= Int128(c.contractValue.scaled)
                }
            case .countyProfile(let p):
                precondition(
                    t.activeProfiles == 1 && t.profile == p,
                    "AggregateBook.remove: \(record.identity) is not the current active profile")
                t.activeProfiles = 0
                t.profile = nil
            }
        }
        entries[key] = t.isEmpty ? nil : t
        return key
    }

    /// Sets one entry as persisted (nil or empty removes it): for loading the state store.
    public mutating func setEntry(_ totals: CountyYearTotals?, for key: AggregateKey) {
        entries[key] = (totals?.isEmpty ?? true) ? nil : totals
    }

    // Encoded as an array sorted by key, so the encoding of equal books is identical.
    private struct Entry: Codable {
        var year: Int
        var geo: String
        var totals: CountyYearTotals
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(
            entries.sorted { $0.key < $1.key }.map { Entry(year: $0.key.year, geo: $0.key.geo, totals: $0.value) })
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        var entries: [AggregateKey: CountyYearTotals] = [:]
        for e in try c.decode([Entry].self) {
            let key = AggregateKey(year: e.year, geo: e.geo)
            guard entries[key] == nil else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "aggregate entry \(key) appears twice")
            }
            guard !e.totals.isEmpty else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "aggregate entry \(key) is empty")
            }
            entries[key] = e.totals
        }
        self.entries = entries
    }
}
