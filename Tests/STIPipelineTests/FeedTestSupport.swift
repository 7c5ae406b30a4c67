// Test-side helpers for the feed generator, the samples and the deployment files: the
// repository root, a flat JSON reader that keeps number tokens as text, a CSV reader, and an
// independent checker of the protocol's record rules (section 3). The checker is written
// from the protocol, not from the generator, so that the two can disagree and a test fail.

import Foundation
import STIProtocol
import STITestSupport

/// Locates the repository: the folder holding Package.swift above this file. Symlinks are
/// resolved first, so a development package that links this file finds the real repository.
enum FeedTestRepo {
    static func root(filePath: String = #filePath) throws -> URL {
        var dir = URL(fileURLWithPath: filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<32 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw FeedTestError("no Package.swift above \(filePath)")
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sti-\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

struct FeedTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A value as it appeared on the wire: a JSON string, a number token (text kept verbatim), or
/// anything else (true, false, null, object, array) as its raw text.
enum WireValue: Equatable {
    case string(String)
    case number(String)
    case other(String)
}

/// Reads flat JSON objects (string, number and literal values) keeping number tokens as text,
/// which JSONSerialization would turn into binary floating point.
enum FlatJSON {
    static func parse(_ line: String) throws -> [(String, WireValue)] {
        let b = Array(line.utf8)
        var i = 0
        func skip() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 } }
        func expect(_ c: UInt8) throws {
            skip()
            guard i < b.count, b[i] == c else {
                throw FeedTestError("expected \(Character(UnicodeScalar(c))) at \(i) in \(line)")
            }
            i += 1
        }
        func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") {
                    i += 1
                    guard i < b.count else { break }
                    switch b[i] {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "u"):
                        let hex = String(decoding: b[(i + 1)..<min(b.count, i + 5)], as: UTF8.self)
                        guard let v = UInt32(hex, radix: 16), let scalar = UnicodeScalar(v) else {
                            throw FeedTestError("bad escape in \(line)")
                        }
                        out += Array(String(Character(scalar)).utf8)
                        i += 4
                    default: out.append(b[i])
                    }
                } else {
                    out.append(b[i])
                }
                i += 1
            }
            try expect(UInt8(ascii: "\""))
            return String(decoding: out, as: UTF8.self)
        }
        var fields: [(String, WireValue)] = []
        try expect(UInt8(ascii: "{"))
        skip()
        if i < b.count, b[i] == UInt8(ascii: "}") { return [] }
        while true {
            let name = try string()
            try expect(UInt8(ascii: ":"))
            skip()
            guard i < b.count else { throw FeedTestError("truncated \(line)") }
            if b[i] == UInt8(ascii: "\"") {
                fields.append((name, .string(try string())))
            } else {
                let start = i
                while i < b.count, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "}") { i += 1 }
                let token = String(decoding: b[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                let isNumber = token.first.map { $0 == "-" || $0.isNumber } ?? false
                fields.append((name, isNumber ? .number(token) : .other(token)))
            }
            skip()
            guard i < b.count else { throw FeedTestError("truncated \(line)") }
            if b[i] == UInt8(ascii: "}") {
                i += 1
                break
            }
            try expect(UInt8(ascii: ","))
        }
        skip()
        guard i == b.count else { throw FeedTestError("trailing bytes in \(line)") }
        return fields
    }
}

/// Reads the generator's CSV: RFC 4180 with CRLF line ends; quoted cells allowed.
enum SimpleCSV {
    static func parse(_ text: String) throws -> (header: [String], rows: [[String]]) {
        let records = try CSVText.parse(text)
        guard let header = records.first else { throw FeedTestError("empty CSV") }
        for (n, r) in records.enumerated() where r.count != header.count {
            throw FeedTestError("CSV line \(n + 1) has \(r.count) cells, header has \(header.count)")
        }
        return (header, Array(records.dropFirst()))
    }

    /// The rows as wire values: numeric columns as number tokens, the rest as strings; an
    /// empty cell is an absent field.
    static func wireRows(kind: RecordKind, header: [String], rows: [[String]]) -> [[String: WireValue]] {
        rows.map { cells in
            var out: [String: WireValue] = [:]
            for (name, cell) in zip(header, cells) where !cell.isEmpty {
                out[name] = ProtocolRules.numericFields.contains(name) ? .number(cell) : .string(cell)
            }
            out["schema"] = .string(kind.schema)
            return out
        }
    }
}

/// A parsed protocol number (× 10^4), or the code it breaks.
enum AmountResult {
    case value(Int128)
    case invalid(ErrorCode)
}

/// The record rules of protocol sections 3 and 6, from the protocol text, for tests.
/// `check` returns every code that applies (empty for a valid record).
enum ProtocolRules {
    static let numericFields: Set<String> = [
        "revision", "year", "expenditure_10k_cny", "contract_value_10k_cny", "tech_transaction_value_10k_cny",
        "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
        "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny",
    ]
    static let common = ["schema", "county", "revision", "status", "submitted_at", "explanation"]
    static let fields: [RecordKind: (required: [String], optional: [String])] = [
        .rd: (["year", "performer", "expenditure_10k_cny"], []),
        .techContract: (
            [
                "contract_no", "registered_on", "contract_type", "domain", "contract_value_10k_cny",
                "tech_transaction_value_10k_cny", "buyer_country",
            ], []
        ),
        .countyProfile: (
            ["year"],
            [
                "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises",
                "invention_patents_held", "industrial_output_100m_cny",
                "high_tech_industrial_output_100m_cny",
            ]
        ),
    ]
    /// The last day a record may carry: the samples and load feeds stop at the end of 2025.
    static let lastDate = CalendarDate(year: 2025, month: 12, day: 31)

    /// A protocol number: its value × 10^4, or the code it breaks.
    static func amount(_ v: WireValue?, integer: Bool = false) -> AmountResult {
        guard case .number(let t)? = v else { return .invalid(.type) }
        if t.contains("e") || t.contains("E") { return .invalid(.precision) }
        guard t.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"#, options: .regularExpression) != nil else {
            return .invalid(.type)
        }
        let negative = t.hasPrefix("-")
        let parts = t.drop(while: { $0 == "-" }).split(separator: ".", maxSplits: 1)
        if parts.count == 2 && (integer || parts[1].count > 4) { return .invalid(.precision) }
        guard let whole = Int128(String(parts[0])) else { return .invalid(.range) }
        var scaled = whole * 10_000
        if parts.count == 2 {
            let digits = String(parts[1]) + String(repeating: "0", count: 4 - parts[1].count)
            scaled += Int128(digits)!
        }
        return .value(negative ? -scaled : scaled)
    }

    static func date(_ text: String) -> CalendarDate? {
        guard text.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, options: .regularExpression) != nil else { return nil }
        let p = text.split(separator: "-").map { Int($0)! }
        guard (1...12).contains(p[1]), p[2] >= 1 else { return nil }
        let leap = p[0] % 4 == 0 && (p[0] % 100 != 0 || p[0] % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][p[1] - 1]
        guard p[2] <= days else { return nil }
        return CalendarDate(year: p[0], month: p[1], day: p[2])
    }

    /// `fromCSV`: a CSV row, whose `submitted_at` (and `schema`) `sti submit` fills in.
    static func check(
        kind: RecordKind, _ f: [String: WireValue], fromCSV: Bool = false,
        registry: Registry = .kunming
    ) -> Set<ErrorCode> {
        var codes: Set<ErrorCode> = []
        guard case .string(let schema)? = f["schema"], schema == kind.schema else { return [.schema] }
        let spec = fields[kind]!
        let known = Set(common + spec.required + spec.optional)
        if f.keys.contains(where: { !known.contains($0) }) { codes.insert(.fieldUnknown) }
        if ((fromCSV ? ["county"] : ["county", "revision", "submitted_at"]) + spec.required).contains(where: {
            f[$0] == nil
        }) {
            codes.insert(.fieldMissing)
        }
        switch f["county"] {
        case .string(let c)?: if !registry.contains(c) { codes.insert(.county) }
        case nil: break
        default: codes.insert(.type)
        }
        func integer(_ name: String, _ range: ClosedRange<Int128>, outOfRange: ErrorCode = .range) {
            guard f[name] != nil else { return }
            switch amount(f[name], integer: true) {
            case .invalid(let code): codes.insert(code)
            case .value(let v): if !range.contains(v / 10_000) { codes.insert(outOfRange) }
            }
        }
        @discardableResult
        func decimal(_ name: String, min: Int128, max: Int128, minExclusive: Bool = false) -> Int128? {
            guard f[name] != nil else { return nil }
            switch amount(f[name]) {
            case .invalid(let code):
                codes.insert(code)
                return nil
            case .value(let v):
                if v < min * 10_000 || v > max * 10_000 || (minExclusive && v == min * 10_000) { codes.insert(.range) }
                return v
            }
        }
        func string(_ name: String) -> String? {
            switch f[name] {
            case .string(let s)?: return s
            case nil: return nil
            default:
                codes.insert(.type)
                return nil
            }
        }
        integer("revision", 1...1_000_000)
        // Section 3: 1 to 2,000 Unicode scalar values, not only white space.
        if let e = string("explanation"),
            !(1...2000).contains(e.unicodeScalars.count) || e.unicodeScalars.allSatisfy(\.properties.isWhitespace)
        {
            codes.insert(.range)
        }
        if let status = string("status"), status != "active", status != "withdrawn" { codes.insert(.enumeration) }
        if let at = string("submitted_at"),
            at.range(
                of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"#,
                options: .regularExpression) == nil || date(String(at.prefix(10))) == nil
        {
            codes.insert(.period)
        }
        switch kind {
        case .rd:
            integer("year", 2000...Int128(lastDate.year), outOfRange: .period)
            if let p = string("performer"), Performer(rawValue: p) == nil { codes.insert(.enumeration) }
            decimal("expenditure_10k_cny", min: 0, max: 10_000_000_000)
        case .techContract:
            if let no = string("contract_no"),
                no.range(of: #"^[A-Za-z0-9._/-]{1,64}$"#, options: .regularExpression) == nil
            {
                codes.insert(.range)
            }
            if let d = string("registered_on") {
                if let date = date(d) {
                    if date.year < 2000 || date > lastDate { codes.insert(.period) }
                } else {
                    codes.insert(.period)
                }
            }
            if let t = string("contract_type"), ContractType(rawValue: t) == nil { codes.insert(.enumeration) }
            if let t = string("domain"), TechDomain(rawValue: t) == nil { codes.insert(.enumeration) }
            let value = decimal("contract_value_10k_cny", min: 0, max: 10_000_000_000)
            let transaction = decimal("tech_transaction_value_10k_cny", min: 0, max: 10_000_000_000)
            if let value, let transaction, transaction > value { codes.insert(.inconsistent) }
            if let c = string("buyer_country"), c.range(of: "^[A-Z]{2}$", options: .regularExpression) == nil {
                codes.insert(.enumeration)
            }
        case .countyProfile:
            integer("year", 2000...Int128(lastDate.year), outOfRange: .period)
            decimal("gdp_100m_cny", min: 0, max: 100_000_000, minExclusive: true)
            decimal("resident_population_10k", min: 0, max: 100_000, minExclusive: true)
            integer("high_tech_enterprises", 0...1_000_000)
            integer("invention_patents_held", 0...100_000_000)
            let industrial = decimal("industrial_output_100m_cny", min: 0, max: 100_000_000)
            let highTech = decimal("high_tech_industrial_output_100m_cny", min: 0, max: 100_000_000)
            if let industrial, let highTech, highTech > industrial { codes.insert(.inconsistent) }
        }
        return codes
    }

    /// The identity of section 3, as `Record.identity` spells it.
    static func identity(kind: RecordKind, _ f: [String: WireValue]) -> String {
        let county = f["county"].map(text) ?? ""
        switch kind {
        case .rd: return "rd|\(county)|\(f["year"].map(text) ?? "")|\(f["performer"].map(text) ?? "")"
        case .techContract: return "tech-contract|\(county)|\(f["contract_no"].map(text) ?? "")"
        case .countyProfile: return "county-profile|\(county)|\(f["year"].map(text) ?? "")"
        }
    }

    static func text(_ v: WireValue) -> String {
        switch v {
        case .string(let s), .number(let s), .other(let s): s
        }
    }

    /// A valid number field's value × 10^4 (0 when absent).
    static func scaled(_ f: [String: WireValue], _ name: String) -> Int128 {
        guard f[name] != nil, case .value(let v) = amount(f[name]) else { return 0 }
        return v
    }
}
