// Fast ways to recognise the field names of protocol section 3 and their values in scanned
// bytes without making Swift strings. The names are the catalogue's (`RecordCatalogue`); the
// hand-tuned match below spells them again for speed and is checked against it by a test.

/// Every field any schema knows, in the order of the spec's tables (common fields, then
/// `sti.rd/1`, `sti.tech-contract/1`, `sti.county-profile/1`; `year` is shared). Names, types
/// and rules are in `RecordCatalogue`.
public enum MessageField: Int, CaseIterable, Sendable {
    case schema, county, revision, status, submittedAt, explanation
    case year, performer, expenditure
    case contractNo, registeredOn, contractType, domain, contractValue, techTransactionValue, buyerCountry
    case gdp, residentPopulation, highTechEnterprises, inventionPatentsHeld, industrialOutput, highTechIndustrialOutput

    /// The protocol's name (from the catalogue).
    public var name: String { RecordCatalogue.spec(self).name }

    /// The fields of a schema as a bit set over `rawValue`.
    static func mask(of kind: RecordKind) -> UInt32 { masks[kind.index] }

    private static let masks: [UInt32] = RecordKind.allCases.map { kind in
        RecordCatalogue.allFields(of: kind).reduce(0) { $0 | 1 << UInt32($1.rawValue) }
    }

    /// The field a scanned key names, if any (escapes decoded). Unescaped keys, the normal
    /// case, are matched by length and first byte, then compared once, without making strings.
    static func lookup(_ key: JSONSpan, in text: JSONScanner) -> MessageField? {
        if key.escaped { return RecordCatalogue.spec(named: text.string(key))?.field }
        let p = text.p + key.start
        let length = key.length
        @inline(__always) func `is`(_ name: StaticString, _ field: MessageField) -> MessageField? {
            let q = name.utf8Start
            for k in 0..<length where p[k] != q[k] { return nil }
            return field
        }
        guard length >= 4 else { return nil }
        switch (length, p[0]) {
        case (4, UInt8(ascii: "y")): return `is`("year", .year)
        case (6, UInt8(ascii: "s")):
            return p[1] == UInt8(ascii: "c") ? `is`("schema", .schema) : `is`("status", .status)
        case (6, UInt8(ascii: "c")): return `is`("county", .county)
        case (6, UInt8(ascii: "d")): return `is`("domain", .domain)
        case (8, UInt8(ascii: "r")): return `is`("revision", .revision)
        case (9, UInt8(ascii: "p")): return `is`("performer", .performer)
        case (11, UInt8(ascii: "c")): return `is`("contract_no", .contractNo)
        case (11, UInt8(ascii: "e")): return `is`("explanation", .explanation)
        case (12, UInt8(ascii: "s")): return `is`("submitted_at", .submittedAt)
        case (12, UInt8(ascii: "g")): return `is`("gdp_100m_cny", .gdp)
        case (13, UInt8(ascii: "r")): return `is`("registered_on", .registeredOn)
        case (13, UInt8(ascii: "c")): return `is`("contract_type", .contractType)
        case (13, UInt8(ascii: "b")): return `is`("buyer_country", .buyerCountry)
        case (19, UInt8(ascii: "e")): return `is`("expenditure_10k_cny", .expenditure)
        case (21, UInt8(ascii: "h")): return `is`("high_tech_enterprises", .highTechEnterprises)
        case (22, UInt8(ascii: "c")): return `is`("contract_value_10k_cny", .contractValue)
        case (22, UInt8(ascii: "i")): return `is`("invention_patents_held", .inventionPatentsHeld)
        case (23, UInt8(ascii: "r")): return `is`("resident_population_10k", .residentPopulation)
        case (26, UInt8(ascii: "i")): return `is`("industrial_output_100m_cny", .industrialOutput)
        case (30, UInt8(ascii: "t")): return `is`("tech_transaction_value_10k_cny", .techTransactionValue)
        case (36, UInt8(ascii: "h")): return `is`("high_tech_industrial_output_100m_cny", .highTechIndustrialOutput)
        default: return nil
        }
    }
}

/// Matches scanned strings against an enumeration's raw values without making strings.
struct ByteEnumTable<E: Sendable>: Sendable {
    private let entries: [([UInt8], E)]
    /// "must be one of a, b, c", for `E_ENUM`.
    let rule: String

    init(_ values: [(String, E)]) {
        entries = values.map { (Array($0.0.utf8), $0.1) }
        rule = "must be one of " + values.map(\.0).joined(separator: ", ")
    }

    func match(_ s: JSONSpan, in text: JSONScanner) -> E? {
        for (bytes, value) in entries where text.stringEquals(s, bytes) { return value }
        return nil
    }
}

extension ByteEnumTable where E: RawRepresentable & CaseIterable, E.RawValue == String {
    init(_ type: E.Type) { self.init(E.allCases.map { ($0.rawValue, $0) }) }
}

extension JSONScanner {
    /// Whether an unescaped span's bytes are exactly `bytes`.
    func rawEquals(_ s: JSONSpan, _ bytes: [UInt8]) -> Bool {
        guard s.length == bytes.count else { return false }
        for k in 0..<bytes.count where p[s.start + k] != bytes[k] { return false }
        return true
    }

    /// Whether a scanned string's decoded text is exactly `bytes`.
    func stringEquals(_ s: JSONSpan, _ bytes: [UInt8]) -> Bool {
        if !s.escaped { return rawEquals(s, bytes) }
        return bytes.withUnsafeBytes { stringEquals(s, $0) }
    }
}

/// The outcome of reading a number literal as an exact scaled integer.
enum ExactNumber: Equatable {
    /// The value × 10^scale.
    case value(Int64)
    /// `1e3`, `1.5E-2`: the protocol never allows exponent form.
    case exponent
    /// More fractional digits than the scale allows (for an integer field: any decimal point,
    /// even `2026.0`).
    case tooPrecise
    /// Too large in magnitude to hold; certainly outside every protocol range.
    case outOfRange

    /// Reads an RFC 8259 number literal (already checked by the scanner) exactly, in time
    /// linear in its length and without ever overflowing: at most `scale` fractional digits,
    /// the value scaled by 10^scale. `-0` reads as 0.
    static func read(_ b: UnsafeRawBufferPointer, scale: Int) -> ExactNumber {
        let n = b.count
        var k = 0
        let negative = n > 0 && b[0] == UInt8(ascii: "-")
        if negative { k = 1 }
        let intStart = k
        while k < n, b[k] &- UInt8(ascii: "0") < 10 { k += 1 }
        let intEnd = k
        var fracStart = k
        var fracEnd = k
        var hasPoint = false
        if k < n, b[k] == UInt8(ascii: ".") {
            hasPoint = true
            k += 1
            fracStart = k
            while k < n, b[k] &- UInt8(ascii: "0") < 10 { k += 1 }
            fracEnd = k
        }
        if k < n { return .exponent }  // only e/E can follow in a scanned literal
        if scale == 0 && hasPoint { return .tooPrecise }
        if fracEnd - fracStart > scale { return .tooPrecise }
        // No leading zeros in JSON, so more than 14 digits means ≥ 10^14: beyond every range
        // (the largest is 10^10), and 14 digits × 10^4 + a fraction stays below 10^18 < Int64.max.
        if intEnd - intStart > 14 { return .outOfRange }
        var magnitude: Int64 = 0
        for j in intStart..<intEnd { magnitude = magnitude * 10 + Int64(b[j] - UInt8(ascii: "0")) }
        for j in 0..<scale {
            let at = fracStart + j
            magnitude = magnitude * 10 + (at < fracEnd ? Int64(b[at] - UInt8(ascii: "0")) : 0)
        }
        return .value(negative ? -magnitude : magnitude)
    }
}
