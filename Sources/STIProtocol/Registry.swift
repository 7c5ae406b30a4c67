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
        self.code = code; self.nameZh = nameZh; self.nameEn = nameEn
        self.kind = kind; self.area = area; self.inTotal = inTotal
    }

    enum CodingKeys: String, CodingKey {
        case code, nameZh = "name_zh", nameEn = "name_en", kind, area, inTotal = "in_total"
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
            guard index[g.code] == nil else { throw RegistryError("geography code \(g.code) is listed twice") }
            if g.kind == .zone && g.inTotal {
                throw RegistryError("zone \(g.code) has in_total true: zones are never added into totals")
            }
            index[g.code] = i
        }
        for reserved in ["KM-CORE", "KM-DEMO", "530100"] where index[reserved] != nil {
            throw RegistryError("code \(reserved) is reserved for a derived geography")
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
            DerivedGeography(code: "KM-CORE", nameZh: "科技创新核心区", nameEn: "Core area",
                             constituents: counties.filter { $0.area == .core }.map(\.code)),
            DerivedGeography(code: "KM-DEMO", nameZh: "科技创新示范区", nameEn: "Demonstration area",
                             constituents: counties.filter { $0.area == .demonstration }.map(\.code)),
            DerivedGeography(code: "530100", nameZh: "昆明市", nameEn: "Kunming",
                             constituents: counties.filter { $0.inTotal }.map(\.code)),
        ]
    }

    /// Loads a registry file: `{"geographies": [{"code": …, "name_zh": …, …}]}`.
    public static func load(contentsOf url: URL) throws(RegistryError) -> Registry {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RegistryError("cannot read registry file \(url.path): \(error.localizedDescription)")
        }
        struct File: Decodable { var geographies: [Geography] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw RegistryError("registry file \(url.path) is not of the shape {\"geographies\": [{\"code\", \"name_zh\", \"name_en\", \"kind\", \"area\", \"in_total\"}]}: \(error)")
        }
        return try Registry(geographies: file.geographies)
    }

    /// The registry of protocol section 1.
    public static let kunming: Registry = {
        func g(_ code: String, _ zh: String, _ en: String, _ kind: Geography.Kind, _ area: Geography.Area, _ inTotal: Bool) -> Geography {
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

/// A registry that cannot be used, with the reason.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
