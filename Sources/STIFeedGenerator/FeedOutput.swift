// Building blocks of the feed generator: its own PRNG, calendar arithmetic, a row of
// protocol fields, and the buffered writer that turns rows into JSON lines or CSV rows.
//
// The generator keeps its own small JSON emitter on purpose: load feeds must also carry
// deliberately broken messages (a number sent as a string, an unknown field, five fractional
// digits), which no canonical encoder of valid records can produce.

import Foundation
import STIProtocol

/// SplitMix64 (Steele, Lea & Flood, 2014), fully specified here so that a seed gives the same
/// feed on every platform and toolchain; the standard library's random APIs promise neither.
struct FeedRandom {
    private var state: UInt64

    /// One independent stream per purpose, so that a change in how profiles are drawn does not
    /// reshuffle the contracts.
    init(seed: UInt64, stream: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the stream name
        for byte in stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        state = seed ^ hash
        _ = next()
    }

    /// The bare generator at a given state (to check it against published sequences).
    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<n`, by Lemire's multiply-shift with rejection (no modulo bias).
    mutating func below(_ n: UInt64) -> UInt64 {
        precondition(n > 0, "below(0)")
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return product.high
    }

    mutating func int(in range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(below(UInt64(range.upperBound - range.lowerBound) + 1))
    }

    mutating func int(in range: ClosedRange<Int>) -> Int {
        Int(int(in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    /// True with probability `perMille` / 1000.
    mutating func chance(perMille: UInt64) -> Bool { below(1000) < perMille }

    mutating func element<T>(_ items: [T]) -> T { items[Int(below(UInt64(items.count)))] }

    /// Picks by integer weight.
    mutating func weighted<T>(_ table: [(T, UInt64)]) -> T {
        let total = table.reduce(0) { $0 + $1.1 }
        var r = below(total)
        for (item, weight) in table {
            if r < weight { return item }
            r -= weight
        }
        return table[table.count - 1].0
    }
}

/// Day numbers (days since 1970-01-01) for the generator, on STIProtocol's calendar
/// arithmetic: no Foundation calendar, no time zone.
enum FeedCalendar {
    static func daysInYear(_ year: Int) -> Int {
        CalendarDate(year: year + 1, month: 1, day: 1).daysSinceEpoch
            - CalendarDate(year: year, month: 1, day: 1).daysSinceEpoch == 366 ? 366 : 365
    }

    static func dayNumber(_ date: CalendarDate) -> Int { Int(date.daysSinceEpoch) }

    static func date(dayNumber: Int) -> CalendarDate { CalendarDate(daysSinceEpoch: Int64(dayNumber)) }

    /// `YYYY-MM-DDTHH:MM:SS+08:00` for a count of seconds since 1970-01-01T00:00:00+08:00.
    static func timestampUTC8(seconds: Int) -> String {
        RFC3339Timestamp.format(epochSeconds: Int64(seconds) - 8 * 3600, offsetMinutes: 480)
    }
}

/// One field value as it will be written: a JSON string, or the literal text of a JSON number
/// (kept as text so that exact decimals, and deliberately malformed ones, are written verbatim).
enum FeedValue: Hashable {
    case string(String)
    case number(String)

    var text: String {
        switch self {
        case .string(let s), .number(let s): s
        }
    }
}

/// The fields of one message in emission order, as the protocol names them.
struct FeedRow {
    var fields: [(name: String, value: FeedValue)] = []

    subscript(name: String) -> FeedValue? {
        get { fields.first(where: { $0.name == name })?.value }
        set {
            if let i = fields.firstIndex(where: { $0.name == name }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((name, newValue))
            }
        }
    }

    mutating func append(_ name: String, _ value: FeedValue) { fields.append((name, value)) }

    /// A field by the catalogue's name.
    subscript(field: MessageField) -> FeedValue? {
        get { self[field.name] }
        set { self[field.name] = newValue }
    }

    mutating func append(_ field: MessageField, _ value: FeedValue) { append(field.name, value) }

    /// Renames a field in place (a misspelling), keeping its value and position.
    mutating func rename(_ name: String, to newName: String) {
        if let i = fields.firstIndex(where: { $0.name == name }) { fields[i].name = newName }
    }

    var county: String { self[.county]?.text ?? "" }

    /// The record's fields: `schema`, `county`, `revision`, `status` (only when withdrawn, the
    /// default being `active`), `submitted_at` (when set), `explanation` (when given), then the
    /// schema's own fields in the protocol's table order; absent profile figures are left out.
    init(record: Record) {
        append(.schema, .string(record.kind.schema))
        append(.county, .string(record.county))
        append(.revision, .number(String(record.revision)))
        if record.status == .withdrawn { append(.status, .string(RecordStatus.withdrawn.rawValue)) }
        if !record.submittedAt.isEmpty { append(.submittedAt, .string(record.submittedAt)) }
        if let explanation = record.explanation { append(.explanation, .string(explanation)) }
        switch record.body {
        case .rd(let r):
            append(.year, .number(String(r.year)))
            append(.performer, .string(r.performer.rawValue))
            append(.expenditure, .number(r.expenditure.description))
        case .techContract(let c):
            append(.contractNo, .string(c.contractNo))
            append(.registeredOn, .string(c.registeredOn.description))
            append(.contractType, .string(c.contractType.rawValue))
            append(.domain, .string(c.domain.rawValue))
            append(.contractValue, .number(c.contractValue.description))
            append(.techTransactionValue, .number(c.techTransactionValue.description))
            append(.buyerCountry, .string(c.buyerCountry))
        case .countyProfile(let p):
            append(.year, .number(String(p.year)))
            if let v = p.gdp { append(.gdp, .number(v.description)) }
            if let v = p.residentPopulation { append(.residentPopulation, .number(v.description)) }
            if let v = p.highTechEnterprises { append(.highTechEnterprises, .number(String(v))) }
            if let v = p.inventionPatentsHeld { append(.inventionPatentsHeld, .number(String(v))) }
            if let v = p.industrialOutput { append(.industrialOutput, .number(v.description)) }
            if let v = p.highTechIndustrialOutput { append(.highTechIndustrialOutput, .number(v.description)) }
        }
    }

    init() {}
}

extension FeedRow {
    /// CSV columns per kind: the catalogue's feed column order (`RecordSpec.feedColumns`).
    static func csvColumns(_ kind: RecordKind) -> [String] {
        RecordCatalogue.record(kind).feedColumns.map(\.name)
    }

    /// One JSON object, compact, keys in field order. Strings are escaped per RFC 8259; non-ASCII
    /// text is written as raw UTF-8.
    func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            FeedRow.appendJSONString(field.name, to: &out)
            out.append(UInt8(ascii: ":"))
            switch field.value {
            case .string(let s): FeedRow.appendJSONString(s, to: &out)
            case .number(let n): out.append(contentsOf: n.utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    var json: String {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Almost every string needs no escape: scan its bytes in place and copy it whole.
        let plain =
            s.utf8.withContiguousStorageIfAvailable { bytes in
                !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
            } ?? false
        if plain {
            out.append(contentsOf: s.utf8)
        } else {
            for byte in s.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case 0x0A:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "n"))
                case 0x0D:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "r"))
                case 0x09:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// One CSV record (RFC 4180, CRLF) with the given columns; a column the row lacks is empty.
    func appendCSV(columns: [String], to out: inout [UInt8]) {
        for (i, column) in columns.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            FeedRow.appendCSVCell(self[column]?.text ?? "", to: &out)
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }

    static func appendCSVHeader(_ columns: [String], to out: inout [UInt8]) {
        for (i, column) in columns.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendCSVCell(column, to: &out)
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }

    static func appendCSVCell(_ text: String, to out: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { (byte: UInt8) -> Bool in
            switch byte {
            case 0x2C, 0x22, 0x0A, 0x0D: true  // , " LF CR
            default: false
            }
        }
        guard needsQuotes else {
            out.append(contentsOf: text.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// A file written through a 1 MiB buffer, so that a million-message feed streams to disk
/// without ever holding more than one buffer of it.
final class FeedFileWriter {
    let url: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    init(url: URL) throws(FeedGeneratorError) {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FeedGeneratorError("cannot create \(url.path)")
        }
        do { handle = try FileHandle(forWritingTo: url) } catch {
            throw FeedGeneratorError("cannot open \(url.path) for writing: \(error.localizedDescription)")
        }
        buffer.reserveCapacity(FeedFileWriter.flushThreshold + 4096)
    }

    /// Appends through `body`, then flushes when the buffer is full.
    func append(_ body: (inout [UInt8]) -> Void) throws(FeedGeneratorError) {
        body(&buffer)
        if buffer.count >= FeedFileWriter.flushThreshold { try flush() }
    }

    func flush() throws(FeedGeneratorError) {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw FeedGeneratorError("cannot write \(url.path): \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws(FeedGeneratorError) {
        try flush()
        do { try handle.close() } catch {
            throw FeedGeneratorError("cannot close \(url.path): \(error.localizedDescription)")
        }
    }
}
