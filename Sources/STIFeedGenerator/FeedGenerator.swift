// The feed generator: realistic, deterministic submissions for Kunming's 14 counties and
// 3 zones. `writeSamples` makes the committed Samples/ set; `writeLoad` makes large feeds of
// the same shape (with a share of realistic mistakes) for load tests and benchmarks.
//
// Every figure is drawn as an integer (yuan, 0.01 亿元, basis points, per mille) from the
// generator's own PRNG and written exactly through `ExactAmount` / `DecimalText`; no binary
// floating point touches an amount.

import Foundation
public import STIProtocol

/// Writes synthetic submission feeds that look like the real ones: the committed `Samples/`
/// files (`writeSamples`) and load-test feeds of any size (`writeLoad`). Deterministic: the
/// same seed gives the same bytes on every platform.
public struct FeedGenerator: Sendable {
    /// The seed `Samples/` was generated with.
    public static let samplesSeed: UInt64 = 20_211_231

    public let seed: UInt64

    public init(seed: UInt64 = FeedGenerator.samplesSeed) { self.seed = seed }

    /// The years the samples cover.
    public static let sampleYears = [2024, 2025]
}

/// Why the generator could not write a feed: a bad argument or a file-system failure (`code`),
/// and a sentence naming the argument or the path.
public struct FeedGeneratorError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A message count or invalid fraction out of range.
        case badArgument
        /// A directory or file could not be created, written, closed or restricted.
        case cannotWrite
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
    /// A file-system failure.
    init(_ description: String) { self.init(.cannotWrite, description) }
}

/// What `writeSamples` wrote, and the city totals (counties only, current active records after
/// the revisions and withdrawals in the files), as the aggregator should compute them.
public struct SamplesSummary: Sendable, Hashable {
    /// City-wide figures of one year.
    public struct Year: Sendable, Hashable {
        public var year: Int
        /// Σ R&D expenditure of the 14 counties, 万元.
        public var rdExpenditure: ExactAmount
        /// Σ R&D expenditure of `enterprise_above_scale`, 万元.
        public var enterpriseAboveScaleRD: ExactAmount
        public var activeContracts: Int
        /// Σ contract value of active contracts, 万元.
        public var contractValue: ExactAmount
        /// Σ technology transaction value of active contracts, 万元.
        public var techTransactionValue: ExactAmount
        /// Σ contract value with a South / Southeast Asian buyer, 万元.
        public var contractValueSouthSoutheastAsia: ExactAmount
        public var highTechEnterprises: Int64
        public var inventionPatentsHeld: Int64
        /// Σ GDP, 亿元.
        public var gdp: ExactAmount
        /// Σ resident population, 万人.
        public var residentPopulation: ExactAmount
    }

    public var years: [Year]
    /// File names written, in name order.
    public var files: [String]
    /// Identities (`Record.identity`) that the files revise to revision 2.
    public var revised: [String]
    /// Identities that the files withdraw (revision 2, `status: withdrawn`).
    public var withdrawn: [String]
    /// Identities of the records that trip a plausibility rule (section 5a) and carry an
    /// `explanation`: accepted, and listed in `warnings.csv`.
    public var explained: [String] = []
    /// Identities of the records that trip a rule with no `explanation`: held (section 5a).
    public var held: [String] = []
}

// MARK: - The model of Kunming

/// How a geography's R&D splits across performers, per mille before jitter.
enum PerformerMix {
    case university, urban, industrial, rural, highTechZone

    var shares: [(Performer, Int64)] {
        switch self {
        case .university:
            [
                (.enterpriseAboveScale, 380), (.enterpriseOther, 50), (.researchInstitute, 210),
                (.higherEducation, 290), (.medical, 50), (.other, 20),
            ]
        case .urban:
            [
                (.enterpriseAboveScale, 580), (.enterpriseOther, 70), (.researchInstitute, 150),
                (.higherEducation, 100), (.medical, 80), (.other, 20),
            ]
        case .industrial:
            [
                (.enterpriseAboveScale, 820), (.enterpriseOther, 60), (.researchInstitute, 50),
                (.higherEducation, 30), (.medical, 30), (.other, 10),
            ]
        case .rural:
            // No university: rural counties send no higher_education record at all.
            [
                (.enterpriseAboveScale, 760), (.enterpriseOther, 90), (.researchInstitute, 70),
                (.medical, 60), (.other, 20),
            ]
        case .highTechZone:
            [
                (.enterpriseAboveScale, 700), (.enterpriseOther, 120), (.researchInstitute, 100),
                (.higherEducation, 50), (.medical, 20), (.other, 10),
            ]
        }
    }

    var isRural: Bool { self == .rural }
}

/// One geography's 2024 baseline: real-world-like orders of magnitude (core districts far
/// bigger than rural counties), not official statistics.
struct GeoModel {
    let code: String
    /// GDP, 0.01 亿元.
    let gdp: Int64
    /// Resident population, 0.01 万人.
    let population: Int64
    /// R&D expenditure ÷ GDP, basis points (1/100 of a percent).
    let intensityBP: Int64
    let mix: PerformerMix
    /// Technology contracts registered per year.
    let contracts: Int
    /// Share of the city's contract value, in the same units as the counties' (they sum to 974).
    let contractWeight: Int64
    let highTechEnterprises: Int64
    let patents: Int64
    /// Industrial output, whole 亿元.
    let industrialOutput: Int64
    /// High-tech share of industrial output, percent. The counties' shares give a city share of
    /// about 42 %, the order of the plan's 2020 figure of 40 % (section 9 of `docs/protocol.md`).
    let highTechSharePct: Int64

    static let kunming: [GeoModel] = [
        GeoModel(
            code: "530102", gdp: 128_500, population: 10_820, intensityBP: 240, mix: .university, contracts: 520,
            contractWeight: 200, highTechEnterprises: 260, patents: 5600, industrialOutput: 160, highTechSharePct: 74),
        GeoModel(
            code: "530103", gdp: 82_000, population: 9_960, intensityBP: 180, mix: .urban, contracts: 380,
            contractWeight: 110, highTechEnterprises: 130, patents: 2600, industrialOutput: 260, highTechSharePct: 61),
        GeoModel(
            code: "530111", gdp: 153_000, population: 15_050, intensityBP: 140, mix: .urban, contracts: 450,
            contractWeight: 190, highTechEnterprises: 230, patents: 3900, industrialOutput: 720, highTechSharePct: 52),
        GeoModel(
            code: "530112", gdp: 90_500, population: 9_780, intensityBP: 120, mix: .urban, contracts: 300,
            contractWeight: 90, highTechEnterprises: 110, patents: 1900, industrialOutput: 310, highTechSharePct: 49),
        GeoModel(
            code: "530114", gdp: 45_500, population: 6_790, intensityBP: 360, mix: .university, contracts: 420,
            contractWeight: 150, highTechEnterprises: 120, patents: 4200, industrialOutput: 210, highTechSharePct: 79),
        GeoModel(
            code: "530115", gdp: 31_000, population: 3_480, intensityBP: 100, mix: .industrial, contracts: 150,
            contractWeight: 30, highTechEnterprises: 45, patents: 380, industrialOutput: 330, highTechSharePct: 38),
        GeoModel(
            code: "530113", gdp: 17_000, population: 2_710, intensityBP: 80, mix: .rural, contracts: 100,
            contractWeight: 12, highTechEnterprises: 14, patents: 120, industrialOutput: 160, highTechSharePct: 21),
        GeoModel(
            code: "530181", gdp: 76_000, population: 5_030, intensityBP: 160, mix: .industrial, contracts: 240,
            contractWeight: 80, highTechEnterprises: 95, patents: 950, industrialOutput: 1480, highTechSharePct: 32),
        GeoModel(
            code: "530124", gdp: 12_200, population: 1_520, intensityBP: 60, mix: .rural, contracts: 100,
            contractWeight: 8, highTechEnterprises: 12, patents: 70, industrialOutput: 110, highTechSharePct: 26),
        GeoModel(
            code: "530125", gdp: 28_500, population: 4_340, intensityBP: 70, mix: .rural, contracts: 120,
            contractWeight: 15, highTechEnterprises: 22, patents: 180, industrialOutput: 210, highTechSharePct: 25),
        GeoModel(
            code: "530126", gdp: 17_200, population: 2_510, intensityBP: 60, mix: .rural, contracts: 100,
            contractWeight: 10, highTechEnterprises: 15, patents: 110, industrialOutput: 105, highTechSharePct: 28),
        GeoModel(
            code: "530127", gdp: 33_500, population: 4_190, intensityBP: 150, mix: .industrial, contracts: 200,
            contractWeight: 60, highTechEnterprises: 90, patents: 650, industrialOutput: 320, highTechSharePct: 52),
        GeoModel(
            code: "530128", gdp: 18_800, population: 4_020, intensityBP: 55, mix: .rural, contracts: 100,
            contractWeight: 9, highTechEnterprises: 12, patents: 75, industrialOutput: 95, highTechSharePct: 18),
        GeoModel(
            code: "530129", gdp: 20_300, population: 4_680, intensityBP: 60, mix: .rural, contracts: 100,
            contractWeight: 10, highTechEnterprises: 15, patents: 90, industrialOutput: 170, highTechSharePct: 19),
        // Zones lie inside the counties above; their own figures, never added into totals.
        GeoModel(
            code: "KM-HTZ", gdp: 72_000, population: 3_250, intensityBP: 380, mix: .highTechZone, contracts: 400,
            contractWeight: 300, highTechEnterprises: 420, patents: 4800, industrialOutput: 850, highTechSharePct: 55),
        GeoModel(
            code: "KM-ETDZ", gdp: 61_000, population: 2_640, intensityBP: 220, mix: .industrial, contracts: 250,
            contractWeight: 160, highTechEnterprises: 180, patents: 1500, industrialOutput: 1100, highTechSharePct: 32),
        GeoModel(
            code: "KM-DZNA", gdp: 98_000, population: 8_800, intensityBP: 170, mix: .industrial, contracts: 200,
            contractWeight: 120, highTechEnterprises: 160, patents: 1300, industrialOutput: 2100, highTechSharePct: 20),
    ]

    /// Σ contractWeight over the 14 counties: the city's contract value splits in these parts.
    static let countyWeightTotal: Int64 = 974
}

/// Value draws shared by the samples and the load feeds.
enum FeedDraw {
    /// The plan's South and Southeast Asia list (protocol section 7).
    static let southSoutheastAsia: Set<String> = [
        "BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL", "IN", "PK", "BD", "LK", "NP", "BT", "MV",
        "AF",
    ]

    static let contractTypes: [(ContractType, UInt64)] = [
        (.development, 35), (.transfer, 8), (.consulting, 7), (.service, 50),
    ]

    static func domains(rural: Bool) -> [(TechDomain, UInt64)] { rural ? ruralDomains : urbanDomains }

    private static let ruralDomains: [(TechDomain, UInt64)] = [
        (.electronicInformation, 8), (.biomedicine, 12), (.newMaterials, 8), (.advancedManufacturing, 10),
        (.newEnergy, 10), (.agriculture, 35), (.environment, 12), (.other, 5),
    ]
    private static let urbanDomains: [(TechDomain, UInt64)] = [
        (.electronicInformation, 26), (.biomedicine, 16), (.newMaterials, 12), (.advancedManufacturing, 15),
        (.newEnergy, 8), (.agriculture, 8), (.environment, 8), (.other, 7),
    ]
    private static let southSoutheastAsiaBuyers: [(String, UInt64)] = [
        ("LA", 12), ("MM", 10), ("TH", 10), ("VN", 10), ("KH", 4), ("MY", 4), ("SG", 3), ("BD", 2), ("LK", 2),
        ("NP", 2), ("IN", 1),
    ]
    private static let otherBuyers = ["US", "DE", "JP", "KR", "GB", "FR", "RU", "AU", "HK"]

    /// Mostly domestic buyers; Kunming's gateway role shows in ~6 % South / Southeast Asian ones.
    static func buyerCountry(_ rng: inout FeedRandom) -> String {
        switch rng.below(1000) {
        case 0..<920: "CN"
        case 920..<980: rng.weighted(southSoutheastAsiaBuyers)
        default: rng.element(otherBuyers)
        }
    }

    /// Technology transaction value as a share of contract value, percent, by contract type.
    static func transactionPercent(_ type: ContractType, _ rng: inout FeedRandom) -> Int64 {
        switch type {
        case .development: rng.int(in: 70...100)
        case .transfer: rng.int(in: 85...100)
        case .consulting: rng.int(in: 50...100)
        case .service: rng.int(in: 40...100)
        }
    }

    /// A heavy-tailed weight: most contracts are small, a few are very large.
    static func contractWeight(_ rng: inout FeedRandom) -> Int64 {
        switch rng.below(100) {
        case 0..<60: rng.int(in: 100...2_000)
        case 60..<90: rng.int(in: 2_000...20_000)
        case 90..<99: rng.int(in: 20_000...200_000)
        default: rng.int(in: 200_000...1_000_000)
        }
    }

    /// Rounds yuan to 100 yuan most of the time (how contract sums are usually agreed), but keeps
    /// some to the yuan, so that 4-fractional-digit 万元 values appear.
    static func roundContractYuan(_ yuan: Int64, _ rng: inout FeedRandom) -> Int64 {
        if rng.chance(perMille: 700) { return max(100, (yuan + 50) / 100 * 100) }
        return max(1, yuan)
    }

    /// `round(value × perMille / 1000)`, half up, for non-negative values.
    static func scale(_ value: Int64, perMille: Int64) -> Int64 { (value * perMille + 500) / 1000 }

    /// Rounds to a multiple of `unit`, half up, for non-negative values.
    static func round(_ value: Int64, to unit: Int64) -> Int64 { (value + unit / 2) / unit * unit }

    static func transaction(contractYuan: Int64, type: ContractType, _ rng: inout FeedRandom) -> Int64 {
        let pct = transactionPercent(type, &rng)
        return contractYuan * pct / 100  // floor: never above the contract value
    }
}
