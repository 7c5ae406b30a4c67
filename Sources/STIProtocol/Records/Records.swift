// The three record schemas of protocol section 3, as typed values.
//
// A `Record` only exists once a message has passed validation: every field is in range
// and every amount is exact. Amounts are `ExactAmount` (an integer count of 1/10,000 of the
// field's unit), never binary floating point.

/// The kind of a submission: which schema, which topic.
public enum RecordKind: String, CaseIterable, Sendable, Hashable, Codable {
    case rd = "rd"
    case techContract = "tech-contract"
    case countyProfile = "county-profile"

    /// The `schema` field value, e.g. `sti.rd/1` (from the catalogue).
    public var schema: String { RecordCatalogue.record(self).schema }

    /// The topic name after the prefix, e.g. `tech-contracts` in `sti.tech-contracts`.
    public var topicSuffix: String { RecordCatalogue.record(self).topicSuffix }

    /// The topic prefix of section 2: `sti.rd`, `sti.tech-contracts`, …
    public static let defaultTopicPrefix = "sti"

    /// The full topic name for a prefix (`sti` by default).
    public func topic(prefix: String = RecordKind.defaultTopicPrefix) -> String { "\(prefix).\(topicSuffix)" }

    public init?(schema: String) {
        guard let kind = RecordKind.allCases.first(where: { $0.schema == schema }) else { return nil }
        self = kind
    }
}

/// The rejection-notice topic's suffix (`sti.rejected`).
public let rejectedTopicSuffix = "rejected"

/// `status` of a record (section 3): `active` by default.
public enum RecordStatus: String, CaseIterable, Sendable, Hashable, Codable {
    case active
    case withdrawn
}

/// R&D performer sectors of `sti.rd/1`.
public enum Performer: String, CaseIterable, Sendable, Hashable, Codable {
    case enterpriseAboveScale = "enterprise_above_scale"
    case enterpriseOther = "enterprise_other"
    case researchInstitute = "research_institute"
    case higherEducation = "higher_education"
    case medical = "medical"
    case other = "other"

    /// The performer's place in section 3's order (the order of `allCases`), for sorting.
    public var order: Int { Self.inOrder.firstIndex(of: self)! }
    private static let inOrder = allCases
}

/// The contract type of `sti.tech-contract/1` (`MessageField.contractType`).
public enum ContractType: String, CaseIterable, Sendable, Hashable, Codable {
    case development, transfer, consulting, service
}

/// `domain` of `sti.tech-contract/1`.
public enum TechDomain: String, CaseIterable, Sendable, Hashable, Codable {
    case electronicInformation = "electronic_information"
    case biomedicine = "biomedicine"
    case newMaterials = "new_materials"
    case advancedManufacturing = "advanced_manufacturing"
    case newEnergy = "new_energy"
    case agriculture = "agriculture"
    case environment = "environment"
    case other = "other"
}

/// A decimal with at most four fractional digits, held exactly as an integer number of
/// 1/10,000 units. For a 万元 field one unit is exactly one yuan; for a 亿元 field, 10,000 yuan.
/// Every protocol range fits: 10,000,000,000 × 10,000 = 1e14 < Int64.max.
public struct ExactAmount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The value × 10,000.
    public var scaled: Int64

    public init(scaled: Int64) { self.scaled = scaled }
    public init(whole: Int64) { self.scaled = whole * 10_000 }

    public static func < (a: ExactAmount, b: ExactAmount) -> Bool { a.scaled < b.scaled }

    /// Canonical decimal text: no exponent, trailing zeros dropped (`100.5`, `3000`).
    /// Digits after the point that `scaled` carries: 4 (万元 to the yuan, 亿元 to the 万元).
    public static let fractionDigits = 4
    public var description: String { DecimalText.format(Int128(scaled), fractionDigits: Self.fractionDigits) }
}

/// A calendar date `YYYY-MM-DD` (proleptic Gregorian), as in a contract's registration date.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        appendText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD` (each part zero-padded to its width) to `out`.
    public func appendText(to out: inout [UInt8]) {
        func pad(_ v: Int, _ width: Int) {
            guard let magnitude = UInt64(exactly: v) else {
                let text = String(v)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, width - text.utf8.count)))
                out.append(contentsOf: text.utf8)
                return
            }
            var digits = 1
            var rest = magnitude
            while rest >= 10 {
                rest /= 10
                digits += 1
            }
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, width - digits)))
            DecimalText.appendDigits(magnitude, to: &out)
        }
        pad(year, 4)
        out.append(UInt8(ascii: "-"))
        pad(month, 2)
        out.append(UInt8(ascii: "-"))
        pad(day, 2)
    }
}

/// `sti.rd/1`: R&D expenditure of one performer sector, one county, one year.
public struct RDExpenditure: Sendable, Hashable, Codable {
    public var year: Int
    public var performer: Performer
    /// 万元; `scaled` is integer yuan.
    public var expenditure: ExactAmount
    public init(year: Int, performer: Performer, expenditure: ExactAmount) {
        self.year = year
        self.performer = performer
        self.expenditure = expenditure
    }
}

/// `sti.tech-contract/1`: one registered technology contract.
public struct TechContract: Sendable, Hashable, Codable {
    public var contractNo: String
    public var registeredOn: CalendarDate
    public var contractType: ContractType
    public var domain: TechDomain
    /// 万元; `scaled` is integer yuan.
    public var contractValue: ExactAmount
    /// 万元; `scaled` is integer yuan.
    public var techTransactionValue: ExactAmount
    /// ISO 3166-1 alpha-2, `CN` for domestic buyers.
    public var buyerCountry: String
    public var year: Int { registeredOn.year }
    public init(
        contractNo: String, registeredOn: CalendarDate, contractType: ContractType, domain: TechDomain,
        contractValue: ExactAmount, techTransactionValue: ExactAmount, buyerCountry: String
    ) {
        self.contractNo = contractNo
        self.registeredOn = registeredOn
        self.contractType = contractType
        self.domain = domain
        self.contractValue = contractValue
        self.techTransactionValue = techTransactionValue
        self.buyerCountry = buyerCountry
    }
}

/// `sti.county-profile/1`: context figures of one county, one year. Every figure optional.
public struct CountyProfile: Sendable, Hashable, Codable {
    public var year: Int
    /// 亿元; `scaled` is units of 10,000 yuan.
    public var gdp: ExactAmount?
    /// 万人; `scaled` is persons.
    public var residentPopulation: ExactAmount?
    public var highTechEnterprises: Int64?
    public var inventionPatentsHeld: Int64?
    /// 亿元
    public var industrialOutput: ExactAmount?
    /// 亿元
    public var highTechIndustrialOutput: ExactAmount?
    public init(
        year: Int, gdp: ExactAmount? = nil, residentPopulation: ExactAmount? = nil,
        highTechEnterprises: Int64? = nil, inventionPatentsHeld: Int64? = nil,
        industrialOutput: ExactAmount? = nil, highTechIndustrialOutput: ExactAmount? = nil
    ) {
        self.year = year
        self.gdp = gdp
        self.residentPopulation = residentPopulation
        self.highTechEnterprises = highTechEnterprises
        self.inventionPatentsHeld = inventionPatentsHeld
        self.industrialOutput = industrialOutput
        self.highTechIndustrialOutput = highTechIndustrialOutput
    }
}

/// The schema-specific part of a record.
public enum RecordBody: Sendable, Hashable, Codable {
    case rd(RDExpenditure)
    case techContract(TechContract)
    case countyProfile(CountyProfile)
}

/// A validated submission (section 3).
public struct Record: Sendable, Hashable, Codable {
    public var county: String
    public var revision: Int
    public var status: RecordStatus
    /// As sent (RFC 3339); not part of duplicate comparison.
    public var submittedAt: String
    /// Why figures a plausibility check questions are right (section 3, section 5a), as sent:
    /// 1 to 2,000 Unicode scalar values, not only white space; nil when absent. Not part of
    /// duplicate comparison (section 5).
    public var explanation: String?
    public var body: RecordBody

    public init(
        county: String, revision: Int, status: RecordStatus = .active, submittedAt: String,
        explanation: String? = nil, body: RecordBody
    ) {
        self.county = county
        self.revision = revision
        self.status = status
        self.submittedAt = submittedAt
        self.explanation = explanation
        self.body = body
    }

    public var kind: RecordKind {
        switch body {
        case .rd: .rd
        case .techContract: .techContract
        case .countyProfile: .countyProfile
        }
    }

    /// The year the record belongs to (for a contract, the year of its registration date).
    public var year: Int {
        switch body {
        case .rd(let r): r.year
        case .techContract(let c): c.year
        case .countyProfile(let p): p.year
        }
    }

    /// The identity of section 3, as one string unique across kinds:
    /// `rd|530102|2024|enterprise_above_scale`, `tech-contract|530102|HT-001`, `county-profile|530102|2024`.
    public var identity: String {
        switch body {
        case .rd(let r): "rd|\(county)|\(r.year)|\(r.performer.rawValue)"
        case .techContract(let c): "tech-contract|\(county)|\(c.contractNo)"
        case .countyProfile(let p): "county-profile|\(county)|\(p.year)"
        }
    }

    public var isActive: Bool { status == .active }
}

/// Formats exact scaled integers as protocol decimal text (section 7 number format):
/// `.` as the point, no exponent, no thousands separator, trailing zeros dropped, and no
/// point when nothing follows it.
public enum DecimalText {
    /// `value / 10^fractionDigits`, exactly.
    public static func format(_ value: Int128, fractionDigits: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        append(magnitude: value.magnitude, fractionDigits: fractionDigits, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the text of a non-negative `value / 10^fractionDigits` (what `format` gives) to
    /// `out`, without an intermediate `String`: the record files of a snapshot write millions.
    public static func append(_ value: Int64, fractionDigits: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        append(magnitude: value.magnitude, fractionDigits: fractionDigits, to: &out)
    }

    static func append<T: FixedWidthInteger & UnsignedInteger>(
        magnitude: T, fractionDigits: Int, to out: inout [UInt8]
    ) {
        var divisor: T = 1
        for _ in 0..<fractionDigits { divisor *= 10 }
        appendDigits(magnitude / divisor, to: &out)
        var fraction = magnitude % divisor
        guard fraction != 0 else { return }
        var digits = fractionDigits
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        out.append(UInt8(ascii: "."))
        let start = out.count
        for _ in 0..<digits {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: fraction % 10))
            fraction /= 10
        }
        out[start...].reverse()
    }

    /// Appends the decimal digits of `value` (at least one) to `out`.
    static func appendDigits<T: FixedWidthInteger & UnsignedInteger>(_ value: T, to out: inout [UInt8]) {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        out.withUnsafeMutableBufferPointer { buffer in
            var v = value
            var i = start + count
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            } while v != 0
        }
    }
}
