public import Foundation

/// One county-level division or zone of the registry (protocol section 1).
public struct Geography: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case county, zone }
    public enum Area: String, Sendable, Hashable, Codable { case core, demonstration }

    public var code: String
    public var nameZh: String
    public var nameEn: String
    public var kind: Kind
    public var area: Area
    /// Whether the geography is added into `530100` (zones never are).
    public var inTotal: Bool

    public init(code: String, nameZh: String, nameEn: String, kind: Kind, area: Area, inTotal: Bool) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.kind = kind
        self.area = area
        self.inTotal = inTotal
    }

    enum CodingKeys: String, CodingKey {
        case code
        case nameZh = "name_zh"
        case nameEn = "name_en"
        case kind, area
        case inTotal = "in_total"
    }
}

/// A geography computed from counties only: `KM-CORE`, `KM-DEMO`, `530100`.
public struct DerivedGeography: Sendable, Hashable {
    public var code: String
    public var nameZh: String
    public var nameEn: String
    /// Constituent county codes, in registry order.
    public var constituents: [String]
}

/// The geography registry: which codes may submit, their names, and the order of rows in
/// every output (registry order, then the derived geographies).
public struct Registry: Sendable, Hashable {
    /// Submitting geographies, in registry order.
    public let geographies: [Geography]
    private let index: [String: Int]

    public init(geographies: [Geography]) throws(RegistryError) {
        guard !geographies.isEmpty else { throw RegistryError("the registry lists no geographies") }
        var index: [String: Int] = [:]
        for (i, g) in geographies.enumerated() {
            guard !g.code.isEmpty else { throw RegistryError("geography \(i + 1): code is empty") }
            guard index[g.code] == nil else {
                throw RegistryError(
                    .duplicate,
                    "entry \(i + 1) (code \(ErrorText.quoted(g.code))): code is listed twice, also in entry \(index[g.code]! + 1)"
                )
            }
            if g.kind == .zone && g.inTotal {
                throw RegistryError(.rule, "zone \(g.code) has in_total true: zones are never added into totals")
            }
            index[g.code] = i
        }
        for reserved in ["KM-CORE", "KM-DEMO", "530100"] where index[reserved] != nil {
            throw RegistryError(.rule, "code \(reserved) is reserved for a derived geography")
        }
        self.geographies = geographies
        self.index = index
    }

    public func contains(_ code: String) -> Bool { index[code] != nil }
    public subscript(code: String) -> Geography? { index[code].map { geographies[$0] } }

    /// `KM-CORE`, `KM-DEMO`, `530100`, in that order (section 1).
    public var derived: [DerivedGeography] {
        let counties = geographies.filter { $0.kind == .county }
        return [
            DerivedGeography(
                code: "KM-CORE", nameZh: "科技创新核心区", nameEn: "Core area",
                constituents: counties.filter { $0.area == .core }.map(\.code)),
            DerivedGeography(
                code: "KM-DEMO", nameZh: "科技创新示范区", nameEn: "Demonstration area",
                constituents: counties.filter { $0.area == .demonstration }.map(\.code)),
            DerivedGeography(
                code: "530100", nameZh: "昆明市", nameEn: "Kunming",
                constituents: counties.filter { $0.inTotal }.map(\.code)),
        ]
    }

    static let entryFields = ["code", "name_zh", "name_en", "kind", "area", "in_total"]

    /// Checks registry bytes with the rules of the message parser (protocol section 6: strict
    /// UTF-8 JSON, one object, no byte-order mark, no duplicate key) and the shape
    /// `{"geographies": [{"code", "name_zh", "name_en", "kind", "area", "in_total"}]}`: no
    /// unknown field, no missing one, each of its type, no code twice. Errors name the field
    /// and the entry (its number and, when known, its code). `source` prefixes every error.
    public static func parse(_ data: Data, source: String = "registry file") throws(RegistryError) -> Registry {
        let root: JSONValue
        do {
            root = try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue in
                try JSONValue.parseObject(raw)
            }
        } catch let error as JSONSyntaxError {
            let entry =
                data.withUnsafeBytes { Self.entryNumber(at: error.offset, in: $0) }.map { ", in entry \($0)" } ?? ""
            throw RegistryError(.syntax, "\(source) is not strict JSON: \(error)\(entry)")
        } catch {
            throw RegistryError(.syntax, "\(source) is not strict JSON: \(error)")
        }
        guard case .object(let top) = root else { throw RegistryError("\(source): expected an object") }
        for member in top where member.key != "geographies" {
            throw RegistryError(
                "\(source): unknown field \(ErrorText.quoted(member.key)); the file holds only \"geographies\"")
        }
        guard let list = root["geographies"] else { throw RegistryError("\(source): field \"geographies\" is missing") }
        guard case .array(let items) = list else {
            throw RegistryError("\(source): \"geographies\" must be an array, not \(list.typeName)")
        }
        var geographies: [Geography] = []
        var firstEntry: [String: Int] = [:]
        for (n, item) in items.enumerated() {
            let g = try entry(item, number: n + 1, source: source)
            if let earlier = firstEntry[g.code] {
                throw RegistryError(
                    .duplicate,
                    "\(source): entry \(n + 1) (code \(ErrorText.quoted(g.code))): code is listed twice, also in entry \(earlier)"
                )
            }
            firstEntry[g.code] = n + 1
            geographies.append(g)
        }
        do { return try Registry(geographies: geographies) } catch {
            throw RegistryError(error.code, "\(source): \(error.description)")
        }
    }

    private static func entry(_ item: JSONValue, number: Int, source: String) throws(RegistryError) -> Geography {
        guard case .object(let members) = item else {
            throw RegistryError("\(source): entry \(number) must be an object, not \(item.typeName)")
        }
        var name = "\(source): entry \(number)"
        if case .string(let code)? = item["code"], !code.isEmpty { name += " (code \(ErrorText.quoted(code)))" }
        for m in members where !entryFields.contains(m.key) {
            throw RegistryError(
                "\(name): unknown field \(ErrorText.quoted(m.key)) (allowed: \(entryFields.joined(separator: ", ")))")
        }
        func text(_ field: String) throws(RegistryError) -> String {
            switch item[field] {
            case nil: throw RegistryError("\(name): \(field) is missing")
            case .string(let s)?:
                guard !s.isEmpty else { throw RegistryError("\(name): \(field) must not be empty") }
                return s
            case let other?: throw RegistryError("\(name): \(field) must be a string, not \(other.typeName)")
            }
        }
        let code = try text("code")
        let nameZh = try text("name_zh")
        let nameEn = try text("name_en")
        let kindText = try text("kind")
        let areaText = try text("area")
        guard let kind = Geography.Kind(rawValue: kindText) else {
            throw RegistryError("\(name): kind must be \"county\" or \"zone\", not \(ErrorText.quoted(kindText))")
        }
        guard let area = Geography.Area(rawValue: areaText) else {
            throw RegistryError(
                "\(name): area must be \"core\" or \"demonstration\", not \(ErrorText.quoted(areaText))")
        }
        let inTotal: Bool
        switch item["in_total"] {
        case nil: throw RegistryError("\(name): in_total is missing")
        case .bool(let b)?: inTotal = b
        case let other?: throw RegistryError("\(name): in_total must be true or false, not \(other.typeName)")
        }
        return Geography(code: code, nameZh: nameZh, nameEn: nameEn, kind: kind, area: area, inTotal: inTotal)
    }

    /// The 1-based number of the `geographies` entry holding byte `offset`, for a syntax
    /// error's message: counts the objects opened directly inside the top-level array, with
    /// strings skipped. Nil outside any entry.
    static func entryNumber(at offset: Int, in bytes: UnsafeRawBufferPointer) -> Int? {
        var depth = 0
        var entries = 0
        var inside = false
        var i = 0
        var arrayAtDepth2 = false
        while i < min(offset, bytes.count) {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 2 { arrayAtDepth2 = bytes[i] == UInt8(ascii: "[") }
                if depth == 3, arrayAtDepth2, bytes[i] == UInt8(ascii: "{") {
                    entries += 1
                    inside = true
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 3 { inside = false }
                depth -= 1
            default: break
            }
            i += 1
        }
        return inside ? entries : nil
    }

    /// The registry of protocol section 1.
    public static let kunming: Registry = {
        func g(
            _ code: String, _ zh: String, _ en: String, _ kind: Geography.Kind, _ area: Geography.Area, _ inTotal: Bool
        ) -> Geography {
            Geography(code: code, nameZh: zh, nameEn: en, kind: kind, area: area, inTotal: inTotal)
        }
        // try! is safe: the literal below is checked by RegistryTests.
        return try! Registry(geographies: [
            g("530102", "五华区", "Wuhua District", .county, .core, true),
            g("530103", "盘龙区", "Panlong District", .county, .core, true),
            g("530111", "官渡区", "Guandu District", .county, .core, true),
            g("530112", "西山区", "Xishan District", .county, .core, true),
            g("530114", "呈贡区", "Chenggong District", .county, .core, true),
            g("530115", "晋宁区", "Jinning District", .county, .core, true),
            g("530113", "东川区", "Dongchuan District", .county, .demonstration, true),
            g("530181", "安宁市", "Anning City", .county, .demonstration, true),
            g("530124", "富民县", "Fumin County", .county, .demonstration, true),
            g("530125", "宜良县", "Yiliang County", .county, .demonstration, true),
            g("530126", "石林彝族自治县", "Shilin Yi Autonomous County", .county, .demonstration, true),
            g("530127", "嵩明县", "Songming County", .county, .demonstration, true),
            g("530128", "禄劝彝族苗族自治县", "Luquan Yi and Miao Autonomous County", .county, .demonstration, true),
            g("530129", "寻甸回族彝族自治县", "Xundian Hui and Yi Autonomous County", .county, .demonstration, true),
            g("KM-HTZ", "昆明高新技术产业开发区", "Kunming High-tech Industrial Development Zone", .zone, .core, false),
            g("KM-ETDZ", "昆明经济技术开发区", "Kunming Economic and Technological Development Zone", .zone, .core, false),
            g("KM-DZNA", "滇中新区", "Dianzhong New Area", .zone, .core, false),
        ])
    }()
}

/// A registry that cannot be used: what went wrong (`code`, for callers to branch on) and a
/// sentence naming the file, the entry and the field.
public struct RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The file cannot be read (missing, a directory, no permission).
        case unreadable
        /// Not strict JSON (section 6's rules).
        case syntax
        /// A missing, unknown, empty or mistyped field, or no geographies.
        case invalid
        /// A code listed twice.
        case duplicate
        /// A rule of section 1 broken: a zone in the totals, a derived geography's code used.
        case rule
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
    init(_ description: String) { self.init(.invalid, description) }
}
