// An independent recomputation of indicators.csv from a snapshot's records/ files alone
// (section 8: "every figure of indicators.csv can be recomputed from these files"). It uses
// none of the product's code: the CSV parser is the tests' own, the column names are spelt as
// section 8 gives them, the registry's derived areas are listed here from section 1, and the
// arithmetic is section 7's, written again with Int128 and decimal text.
import Foundation
import STITestSupport

enum RecordsOracle {
    /// The Kunming registry's order and areas (section 1), as the oracle needs them.
    struct Geo {
        var code: String
        var isCounty: Bool
        var area: String
        var inTotal: Bool
    }

    /// Parses decimal text (`120.86`, `3000`, `-0.5`) into an integer scaled by 10^scale.
    static func scaled(_ text: String, _ scale: Int) -> Int128? {
        guard !text.isEmpty else { return nil }
        var s = Substring(text)
        var negative = false
        if s.first == "-" {
            negative = true
            s = s.dropFirst()
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int128(String(parts[0])) else { return nil }
        var frac = parts.count == 2 ? String(parts[1]) : ""
        guard frac.count <= scale else { return nil }
        frac += String(repeating: "0", count: scale - frac.count)
        var p: Int128 = 1
        for _ in 0..<scale { p *= 10 }
        let v = whole * p + (frac.isEmpty ? 0 : Int128(frac)!)
        return negative ? -v : v
    }

    /// `v / 10^digits` as section 7 writes it: trailing zeros dropped, no point when nothing follows.
    static func text(_ v: Int128, digits: Int) -> String {
        var p: Int128 = 1
        for _ in 0..<digits { p *= 10 }
        let m = v < 0 ? -v : v
        var s = (v < 0 ? "-" : "") + String(m / p)
        var f = String(m % p)
        f = String(repeating: "0", count: digits - f.count) + f
        while f.last == "0" { f.removeLast() }
        if !f.isEmpty { s += "." + f }
        return s
    }

    /// n × mult ÷ d rounded half away from zero to 4 digits, as text; nil when d is 0.
    static func ratio(_ n: Int128, _ d: Int128, _ mult: Int128) -> String? {
        guard d != 0 else { return nil }
        let num = n * mult * 10_000
        let negative = (num < 0) != (d < 0)
        let a = num < 0 ? -num : num
        let b = d < 0 ? -d : d
        let q = (a * 2 + b) / (b * 2)
        return text(negative ? -q : q, digits: 4)
    }

    /// What one county reports in one year, from its active records.
    struct Inputs {
        var rd = 0
        var rdYuan: Int128 = 0, enterpriseYuan: Int128 = 0
        var contracts = 0
        var valueYuan: Int128 = 0, transactionYuan: Int128 = 0, sseYuan: Int128 = 0
        /// Profile figures as written (亿元, 万人, counts), scaled by 10^4.
        var profile: [String: Int128] = [:]
    }

    static let sseAsia: Set<String> = [
        "BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL", "IN", "PK", "BD",
        "LK", "NP", "BT", "MV", "AF",
    ]

    static let indicators = [
        "rd_expenditure", "enterprise_rd_share", "rd_intensity", "tech_contracts", "tech_contract_value",
        "tech_transaction_value", "tech_contract_value_s_se_asia", "high_tech_enterprises",
        "invention_patents_per_10k", "high_tech_output_share",
    ]
    static let ratios: Set<String> = [
        "enterprise_rd_share", "rd_intensity", "invention_patents_per_10k", "high_tech_output_share",
    ]

    enum Part {
        case additive(Int128, money: Bool)
        case ratio(Int128, Int128, Int128)
    }

    static func part(_ indicator: String, _ t: Inputs?) -> Part? {
        guard let t else { return nil }
        let p = t.profile
        switch indicator {
        case "rd_expenditure": return t.rd > 0 ? .additive(t.rdYuan, money: true) : nil
        case "enterprise_rd_share": return t.rd > 0 ? .ratio(t.enterpriseYuan, t.rdYuan, 100) : nil
        case "rd_intensity":
            guard t.rd > 0, let gdp = p["gdp_100m_cny"] else { return nil }
            return .ratio(t.rdYuan, gdp * 10_000, 100)  // 亿元 × 10^4 scaled → yuan
        case "tech_contracts": return t.contracts > 0 ? .additive(Int128(t.contracts), money: false) : nil
        case "tech_contract_value": return t.contracts > 0 ? .additive(t.valueYuan, money: true) : nil
        case "tech_transaction_value": return t.contracts > 0 ? .additive(t.transactionYuan, money: true) : nil
        case "tech_contract_value_s_se_asia": return t.contracts > 0 ? .additive(t.sseYuan, money: true) : nil
        case "high_tech_enterprises": return p["high_tech_enterprises"].map { .additive($0 / 10_000, money: false) }
        case "invention_patents_per_10k":
            guard let n = p["invention_patents_held"], let d = p["resident_population_10k"] else { return nil }
            return .ratio(n / 10_000, d, 10_000)  // population scaled by 10^4 is persons
        case "high_tech_output_share":
            guard let n = p["high_tech_industrial_output_100m_cny"], let d = p["industrial_output_100m_cny"] else {
                return nil
            }
            return .ratio(n, d, 100)
        default: return nil
        }
    }

    /// (value, status, counties_reporting, counties_expected) per `year|geo|indicator`.
    static func recompute(runDirectory dir: String, order: [Geo]) throws -> [String: [String]] {
        let years = try FileManager.default.contentsOfDirectory(atPath: dir + "/records").compactMap(Int.init).sorted()
        var result: [String: [String]] = [:]
        for year in years {
            var inputs: [String: Inputs] = [:]
            func rows(_ file: String) throws -> [[String: String]] {
                let table = try CSVText.parse(
                    String(
                        decoding: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/records/\(year)/\(file)")),
                        as: UTF8.self))
                let header = table[0]
                return table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
            }
            for r in try rows("rd.csv") where r["status"] == "active" {
                let yuan = scaled(r["expenditure_10k_cny"]!, 4)!  // 万元 × 10^4 = yuan
                inputs[r["county"]!, default: Inputs()].rd += 1
                inputs[r["county"]!]!.rdYuan += yuan
                if r["performer"] == "enterprise_above_scale" { inputs[r["county"]!]!.enterpriseYuan += yuan }
            }
            for r in try rows("tech-contracts.csv") where r["status"] == "active" {
                let c = r["county"]!
                inputs[c, default: Inputs()].contracts += 1
                let value = scaled(r["contract_value_10k_cny"]!, 4)!
                inputs[c]!.valueYuan += value
                inputs[c]!.transactionYuan += scaled(r["tech_transaction_value_10k_cny"]!, 4)!
                if sseAsia.contains(r["buyer_country"]!) { inputs[c]!.sseYuan += value }
            }
            for r in try rows("county-profiles.csv") where r["status"] == "active" {
                var t = inputs[r["county"]!] ?? Inputs()
                for f in [
                    "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
                    "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny",
                ] {
                    if let v = scaled(r[f] ?? "", 4) { t.profile[f] = v }
                }
                inputs[r["county"]!] = t
            }
            let counties = order.filter(\.isCounty)
            var geos: [(code: String, members: [String], derived: Bool)] = order.map { ($0.code, [$0.code], false) }
            geos.append(("KM-CORE", counties.filter { $0.area == "core" }.map(\.code), true))
            geos.append(("KM-DEMO", counties.filter { $0.area == "demonstration" }.map(\.code), true))
            geos.append(("530100", counties.filter(\.inTotal).map(\.code), true))
            for g in geos {
                for indicator in indicators {
                    let parts = g.members.compactMap { part(indicator, inputs[$0]) }
                    let reporting = parts.count
                    let expected = g.members.count
                    var value = ""
                    var status = "missing"
                    if reporting > 0 {
                        if ratios.contains(indicator) {
                            if reporting < expected {
                                status = "partial"
                            } else {
                                var n: Int128 = 0
                                var d: Int128 = 0
                                var mult: Int128 = 1
                                for case .ratio(let a, let b, let m) in parts {
                                    n += a
                                    d += b
                                    mult = m
                                }
                                if let v = ratio(n, d, mult) {
                                    value = v
                                    status = "ok"
                                } else {
                                    status = "undefined"
                                }
                            }
                        } else {
                            var sum: Int128 = 0
                            var money = false
                            for case .additive(let v, let m) in parts {
                                sum += v
                                money = m
                            }
                            value = money ? text(sum, digits: 8) : String(sum)
                            status = reporting == expected ? "ok" : (g.derived ? "partial" : "missing")
                        }
                    }
                    result["\(year)|\(g.code)|\(indicator)"] = [value, status, String(reporting), String(expected)]
                }
            }
        }
        return result
    }
}
