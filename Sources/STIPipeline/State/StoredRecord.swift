// The compact binary form in which the aggregator's state store keeps current records.
//
// Every accepted message stores its record, and the state file's size is what a run writes
// (into the WAL, then again at checkpoint), so the stored form is made small: about 80 bytes
// for a technology contract where its canonical JSON (`RecordJSON`) takes about 330. A run
// over a million messages so writes a few hundred megabytes less.
//
// Layout (integers are LEB128 varints; signed ones zigzag-encoded first; a string is its
// UTF-8 byte count as a varint, then the bytes):
//
//     0x01 or 0x02              format tag (canonical JSON starts with `{`, 0x7B)
//     kind                      1 byte: 0 rd, 1 tech-contract, 2 county-profile
//     status                    1 byte: 0 active, 1 withdrawn
//     revision                  varint
//     county, submitted_at      strings
//     explanation               string, only after tag 0x02
//     rd:             year varint, performer 1 byte, expenditure (scaled) zigzag
//     tech-contract:  contract_no string, year varint, month 1 byte, day 1 byte,
//                     contract_type 1 byte, domain 1 byte, contract value and technology
//                     transaction value (scaled) zigzag, buyer_country string
//     county-profile: year varint, presence 1 byte (bit i = figure i of the order below),
//                     then each present figure as zigzag: gdp, resident_population,
//                     high_tech_enterprises, invention_patents_held, industrial_output,
//                     high_tech_industrial_output (amounts scaled)
//
// Tag 0x01 is a record without `explanation` (protocol version 1 had none), 0x02 one with it.
// So every body written before `explanation` existed reads as it did, a record without one is
// stored byte for byte as before, and a program that predates 0x02 refuses such a body with
// "unknown format tag 2" rather than misreading it.
//
// Enumerations are stored as their index in `storedOrder` (a fixed list, pinned by a test:
// reordering a Swift enum must not change what stored bytes mean).

public import STIProtocol

/// Encodes records into the state store's compact binary form and decodes it.
public enum StoredRecord {
    static let formatTag: UInt8 = 0x01
    /// The same layout with `explanation` after `submitted_at`.
    static let formatTagWithExplanation: UInt8 = 0x02

    static let kinds: [RecordKind] = [.rd, .techContract, .countyProfile]
    static let statuses: [RecordStatus] = [.active, .withdrawn]
    static let performers: [Performer] = [
        .enterpriseAboveScale, .enterpriseOther, .researchInstitute,
        .higherEducation, .medical, .other,
    ]
    static let contractTypes: [ContractType] = [.development, .transfer, .consulting, .service]
    static let domains: [TechDomain] = [
        .electronicInformation, .biomedicine, .newMaterials, .advancedManufacturing,
        .newEnergy, .agriculture, .environment, .other,
    ]

    /// Appends the stored form of `record` to `out`.
    public static func append(_ record: Record, to out: inout [UInt8]) {
        out.append(record.explanation == nil ? formatTag : formatTagWithExplanation)
        out.append(index(of: record.kind, in: kinds))
        out.append(index(of: record.status, in: statuses))
        appendVarint(UInt64(truncatingIfNeeded: record.revision), to: &out)
        appendString(record.county, to: &out)
        appendString(record.submittedAt, to: &out)
        if let explanation = record.explanation { appendString(explanation, to: &out) }
        switch record.body {
        case .rd(let r):
            appendSigned(Int64(r.year), to: &out)
            out.append(index(of: r.performer, in: performers))
            appendSigned(r.expenditure.scaled, to: &out)
        case .techContract(let c):
            appendString(c.contractNo, to: &out)
            appendSigned(Int64(c.registeredOn.year), to: &out)
            out.append(UInt8(truncatingIfNeeded: c.registeredOn.month))
            out.append(UInt8(truncatingIfNeeded: c.registeredOn.day))
            out.append(index(of: c.contractType, in: contractTypes))
            out.append(index(of: c.domain, in: domains))
            appendSigned(c.contractValue.scaled, to: &out)
            appendSigned(c.techTransactionValue.scaled, to: &out)
            appendString(c.buyerCountry, to: &out)
        case .countyProfile(let p):
            appendSigned(Int64(p.year), to: &out)
            let figures: [Int64?] = [
                p.gdp?.scaled, p.residentPopulation?.scaled, p.highTechEnterprises,
                p.inventionPatentsHeld, p.industrialOutput?.scaled, p.highTechIndustrialOutput?.scaled,
            ]
            var presence: UInt8 = 0
            for (bit, figure) in figures.enumerated() where figure != nil { presence |= 1 << UInt8(bit) }
            out.append(presence)
            for figure in figures { if let figure { appendSigned(figure, to: &out) } }
        }
    }

    /// The stored form of `record` as a new array.
    public static func encode(_ record: Record) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        append(record, to: &out)
        return out
    }

    /// Why a stored body could not be read.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads a stored body. (JSON bodies, from state files older than the binary form, are no
    /// longer read: no such state file was ever shipped, the layout version being still 1.)
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Record, DecodingError> {
        lineFields(bytes).map(Record.init(lineFields:))
    }

    /// Reads a stored body into the fields of its `records/` line (section 8), the text borrowed
    /// from `bytes` (and checked to be UTF-8): the snapshot formats a million records this way
    /// without building them. The source fields are left empty.
    public static func lineFields(_ bytes: UnsafeRawBufferPointer) -> Result<RecordLineFields, DecodingError> {
        guard let first = bytes.first else { return .failure(DecodingError("empty body")) }
        guard first == formatTag || first == formatTagWithExplanation else {
            return .failure(DecodingError("unknown format tag \(first)"))
        }
        var reader = Reader(bytes: bytes, at: 1, withExplanation: first == formatTagWithExplanation)
        guard let fields = reader.fields() else {
            return .failure(DecodingError("malformed binary record (at byte \(reader.position) of \(bytes.count))"))
        }
        guard reader.position == bytes.count else {
            return .failure(DecodingError("\(bytes.count - reader.position) byte(s) after the record"))
        }
        return .success(fields)
    }

    /// `decode` over an array.
    public static func decode(_ bytes: [UInt8]) -> Result<Record, DecodingError> {
        bytes.withUnsafeBytes { decode($0) }
    }

    // MARK: Writing

    private static func index<T: Equatable>(of value: T, in table: [T]) -> UInt8 {
        // Every case is in its table (pinned by a test), so the index always exists.
        UInt8(table.firstIndex(of: value)!)
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendSigned(_ value: Int64, to out: inout [UInt8]) {
        appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &out)
    }

    static func appendString(_ text: String, to out: inout [UInt8]) {
        let utf8 = text.utf8
        appendVarint(UInt64(utf8.count), to: &out)
        out.append(contentsOf: utf8)
    }

    // MARK: Reading

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        let withExplanation: Bool

        init(bytes: UnsafeRawBufferPointer, at position: Int, withExplanation: Bool) {
            self.bytes = bytes
            self.position = position
            self.withExplanation = withExplanation
        }

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while let b = byte() {
                // The tenth byte may only carry the top bit of a 64-bit value.
                if shift == 63 && b > 1 { return nil }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
            return nil
        }

        mutating func signed() -> Int64? {
            guard let v = varint() else { return nil }
            return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
        }

        mutating func int() -> Int? { signed().flatMap { Int(exactly: $0) } }

        /// A string's bytes, borrowed, if they are UTF-8.
        mutating func text() -> RecordLineFields.Text? {
            guard let count = varint(), count <= UInt64(bytes.count - position) else { return nil }
            let start = position
            position += Int(count)
            let text = RecordLineFields.Text(rebasing: bytes[start..<position])
            return UTF8Validation.isValid(text) ? text : nil
        }

        mutating func choice<T>(_ table: [T]) -> T? {
            guard let b = byte(), Int(b) < table.count else { return nil }
            return table[Int(b)]
        }

        mutating func fields() -> RecordLineFields? {
            guard let kind = choice(StoredRecord.kinds), let status = choice(StoredRecord.statuses),
                let revision = varint().flatMap({ Int(exactly: $0) }),
                let county = text(), let submittedAt = text()
            else { return nil }
            var f = RecordLineFields(kind: kind)
            f.status = status
            f.revision = revision
            f.county = county
            f.submittedAt = submittedAt
            if withExplanation {
                guard let explanation = text() else { return nil }
                f.explanation = explanation
                f.hasExplanation = true
            }
            switch kind {
            case .rd:
                guard let year = int(), let performer = choice(StoredRecord.performers), let expenditure = signed()
                else { return nil }
                f.year = year
                f.performer = performer
                f.expenditure = expenditure
            case .techContract:
                guard let contractNo = text(), let year = int(), let month = byte(), let day = byte(),
                    (1...12).contains(month), (1...31).contains(day),
                    let type = choice(StoredRecord.contractTypes), let domain = choice(StoredRecord.domains),
                    let value = signed(), let transaction = signed(), let buyer = text()
                else { return nil }
                f.contractNo = contractNo
                f.year = year
                f.registeredOn = CalendarDate(year: year, month: Int(month), day: Int(day))
                f.contractType = type
                f.domain = domain
                f.contractValue = value
                f.techTransactionValue = transaction
                f.buyerCountry = buyer
            case .countyProfile:
                guard let year = int(), let presence = byte(), presence < 1 << 6 else { return nil }
                f.year = year
                var figures: (Int64?, Int64?, Int64?, Int64?, Int64?, Int64?) = (nil, nil, nil, nil, nil, nil)
                for bit in 0..<6 where presence & (1 << UInt8(bit)) != 0 {
                    guard let v = signed() else { return nil }
                    switch bit {
                    case 0: figures.0 = v
                    case 1: figures.1 = v
                    case 2: figures.2 = v
                    case 3: figures.3 = v
                    case 4: figures.4 = v
                    default: figures.5 = v
                    }
                }
                (f.gdp, f.residentPopulation, f.highTechEnterprises) = (figures.0, figures.1, figures.2)
                (f.inventionPatentsHeld, f.industrialOutput, f.highTechIndustrialOutput) =
                    (figures.3, figures.4, figures.5)
            }
            return f
        }
    }
}

extension Record {
    /// The record whose line fields these are (the stored form read back).
    init(lineFields f: RecordLineFields) {
        func text(_ t: RecordLineFields.Text) -> String { String(decoding: t, as: UTF8.self) }
        let body: RecordBody
        switch f.kind {
        case .rd:
            body = .rd(
                RDExpenditure(
                    year: f.year, performer: f.performer, expenditure: ExactAmount(scaled: f.expenditure ?? 0)))
        case .techContract:
            body = .techContract(
                TechContract(
                    contractNo: text(f.contractNo), registeredOn: f.registeredOn, contractType: f.contractType,
                    domain: f.domain, contractValue: ExactAmount(scaled: f.contractValue ?? 0),
                    techTransactionValue: ExactAmount(scaled: f.techTransactionValue ?? 0),
                    buyerCountry: text(f.buyerCountry)))
        case .countyProfile:
            body = .countyProfile(
                CountyProfile(
                    year: f.year, gdp: f.gdp.map(ExactAmount.init(scaled:)),
                    residentPopulation: f.residentPopulation.map(ExactAmount.init(scaled:)),
                    highTechEnterprises: f.highTechEnterprises, inventionPatentsHeld: f.inventionPatentsHeld,
                    industrialOutput: f.industrialOutput.map(ExactAmount.init(scaled:)),
                    highTechIndustrialOutput: f.highTechIndustrialOutput.map(ExactAmount.init(scaled:))))
        }
        self.init(
            county: text(f.county), revision: f.revision, status: f.status, submittedAt: text(f.submittedAt),
            explanation: f.hasExplanation ? text(f.explanation) : nil, body: body)
    }
}
