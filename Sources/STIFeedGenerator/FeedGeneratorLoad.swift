// `FeedGenerator.writeLoad`: large feeds of the samples' shape for load tests and benchmarks.
//
// Streams every message straight to its file (one buffered writer per file), so a feed of a
// million messages costs a few buffers of memory, not a million strings.
//
// Every valid message is accepted by a correct aggregator and none is a duplicate: each
// contract has its own number, and R&D and profile identities (few, and drawn again and
// again) get the next revision each time, so every valid one is newer than the last. Invalid
// messages are spread evenly (exactly ⌊messages × fraction⌋ of them) and each breaks exactly
// one rule, so the expected rejection count per code is known in advance (`LoadSummary`).

public import Foundation
public import STIProtocol

extension FeedGenerator {
    /// Output shape of a load feed.
    public enum LoadFormat: String, Sendable, Hashable, CaseIterable {
        /// Per topic, `<topic>.jsonl` (one message value a line, as-is for any producer) and
        /// `<topic>.keyed` (`<key>\t<value>` a line, for `kcat -P -t <topic> -K '\t' -l`).
        case jsonl
        /// Per kind, `<kind>.csv` in the samples' columns, for `sti submit`. Only mistakes a CSV
        /// cell can carry: no unknown field, no wrong JSON type.
        case csv
    }

    /// What a load feed holds: per topic, how many messages and how many are invalid, and the
    /// one validation code each invalid message should be rejected with.
    public struct LoadSummary: Sendable, Hashable {
        /// One topic's file(s).
        public struct Topic: Sendable, Hashable {
            public var kind: RecordKind
            public var topic: String
            /// The file names written for the topic (JSONL and keyed, or CSV).
            public var files: [String]
            public var messages: Int
            public var invalid: Int
        }

        public var seed: UInt64
        public var format: LoadFormat
        public var messages: Int
        public var invalid: Int
        public var topics: [Topic]
        /// Expected rejections by code: each invalid message breaks exactly one rule.
        public var invalidByCode: [ErrorCode: Int]
        /// Name of the JSON summary written beside the feed.
        public static let fileName = "load-summary.json"
    }

    /// Share of each kind in a load feed, per mille.
    static let loadMix: [(RecordKind, UInt64)] = [(.techContract, 900), (.rd, 70), (.countyProfile, 30)]

    /// A realistic mistake in a submission, and the one code it must be rejected with.
    enum Mistake: CaseIterable {
        case negativeAmount  // E_RANGE: a refund typed as a negative figure
        case zeroGDP  // E_RANGE: "0" typed for an unknown GDP
        case badContractNo  // E_RANGE: a space and Chinese characters in the number
        case impossibleDate  // E_PERIOD: 2024-02-30
        case slashedDate  // E_PERIOD: a spreadsheet's 2024/03/15
        case yearTypo  // E_PERIOD: 204 for 2024
        case unknownField  // E_FIELD_UNKNOWN: a free-text remark
        case misspeltField  // E_FIELD_UNKNOWN: `staus` for `status`
        case amountAsString  // E_TYPE: "1250.5" in quotes
        case dateAsNumber  // E_TYPE: 20240315 for "2024-03-15"
        case transactionOverValue  // E_INCONSISTENT: technology transaction > contract value
        case highTechOverIndustrial  // E_INCONSISTENT: high-tech output > industrial output
        case fiveDigits  // E_PRECISION: 12.34567
        case fractionalCount  // E_PRECISION: 12.5 high-tech enterprises
        case badEnum  // E_ENUM: a performer, type or country off the list
        case cityAsCounty  // E_COUNTY: the city's own code 530100 submits

        var code: ErrorCode {
            switch self {
            case .negativeAmount, .zeroGDP, .badContractNo: .range
            case .impossibleDate, .slashedDate, .yearTypo: .period
            case .unknownField, .misspeltField: .fieldUnknown
            case .amountAsString, .dateAsNumber: .type
            case .transactionOverValue, .highTechOverIndustrial: .inconsistent
            case .fiveDigits, .fractionalCount: .precision
            case .badEnum: .enumeration
            case .cityAsCounty: .county
            }
        }

        /// Whether a CSV cell can carry the mistake (CSV has no JSON types and fixed columns).
        var csvExpressible: Bool {
            switch self {
            case .unknownField, .misspeltField, .amountAsString, .dateAsNumber: false
            default: true
            }
        }

        func applies(to kind: RecordKind) -> Bool {
            switch self {
            case .negativeAmount, .yearTypo, .unknownField, .misspeltField, .amountAsString, .fiveDigits, .badEnum,
                .cityAsCounty:
                kind != .countyProfile || self != .badEnum
            case .zeroGDP, .highTechOverIndustrial, .fractionalCount: kind == .countyProfile
            case .badContractNo, .impossibleDate, .slashedDate, .dateAsNumber, .transactionOverValue:
                kind == .techContract
            }
        }

        static func candidates(kind: RecordKind, format: LoadFormat) -> [Mistake] {
            allCases.filter { $0.applies(to: kind) && (format == .jsonl || $0.csvExpressible) }
        }
    }

    /// Writes a load feed of `messages` messages into `dir` (created if needed): about 90 %
    /// technology contracts, 7 % R&D and 3 % county profiles from all 17 geographies, with
    /// exactly ⌊messages × invalidFraction⌋ invalid ones spread evenly. Also writes
    /// `load-summary.json`. `submitted_at` runs one second a message from 2026-01-05T08:00+08:00.
    @discardableResult
    public func writeLoad(
        to dir: URL, messages: Int, invalidFraction: Double = 0.01,
        format: LoadFormat = .jsonl
    ) throws(FeedGeneratorError) -> LoadSummary {
        guard messages >= 0 else {
            throw FeedGeneratorError(.badArgument, "messages must be 0 or more, not \(messages)")
        }
        guard invalidFraction.isFinite, invalidFraction >= 0, invalidFraction <= 1 else {
            throw FeedGeneratorError(.badArgument, "invalidFraction must be between 0 and 1, not \(invalidFraction)")
        }
        try FeedGenerator.createDirectory(dir)
        // The fraction is read once, as parts per million; from here on all is integer.
        let invalidPPM = Int64((invalidFraction * 1_000_000).rounded())

        var writers: [RecordKind: [FeedFileWriter]] = [:]
        var topics: [RecordKind: LoadSummary.Topic] = [:]
        for kind in RecordKind.allCases {
            let topic = kind.topic()
            let names = format == .jsonl ? ["\(topic).jsonl", "\(topic).keyed"] : ["\(kind.topicSuffix).csv"]
            var kindWriters: [FeedFileWriter] = []
            for name in names { kindWriters.append(try FeedFileWriter(url: dir.appendingPathComponent(name))) }
            if format == .csv {
                let columns = FeedRow.csvColumns(kind)
                try kindWriters[0].append { FeedRow.appendCSVHeader(columns, to: &$0) }
            }
            writers[kind] = kindWriters
            topics[kind] = LoadSummary.Topic(kind: kind, topic: topic, files: names, messages: 0, invalid: 0)
        }

        var state = LoadState(seed: seed)
        var invalidByCode: [ErrorCode: Int] = [:]
        var invalidTotal = 0
        var scratch: [UInt8] = []
        scratch.reserveCapacity(1024)
        let submittedBase = FeedCalendar.dayNumber(CalendarDate(year: 2026, month: 1, day: 5)) * 86_400 + 8 * 3600

        for i in 0..<Int64(messages) {
            let kind = state.rng.weighted(FeedGenerator.loadMix)
            let record = state.record(
                kind: kind, submittedAt: FeedCalendar.timestampUTC8(seconds: submittedBase + Int(i)))
            var row = FeedRow(record: record)
            // Bresenham spacing: message i is invalid when ⌊(i+1)·ppm/10⁶⌋ steps up.
            if (i + 1) * invalidPPM / 1_000_000 > i * invalidPPM / 1_000_000 {
                let mistake = state.rng.element(Mistake.candidates(kind: kind, format: format))
                state.apply(mistake, to: &row)
                invalidByCode[mistake.code, default: 0] += 1
                invalidTotal += 1
                topics[kind]!.invalid += 1
            }
            topics[kind]!.messages += 1

            let kindWriters = writers[kind]!
            switch format {
            case .jsonl:
                scratch.removeAll(keepingCapacity: true)
                row.appendJSON(to: &scratch)
                try kindWriters[0].append {
                    $0 += scratch
                    $0.append(0x0A)
                }
                // JSON escapes every tab inside strings, so the first tab always ends the key.
                try kindWriters[1].append {
                    $0 += row.county.utf8
                    $0.append(0x09)
                    $0 += scratch
                    $0.append(0x0A)
                }
            case .csv:
                if kind == .techContract && row[.status] == nil {
                    row[.status] = FeedValue.string(RecordStatus.active.rawValue)
                }
                let columns = FeedRow.csvColumns(kind)
                try kindWriters[0].append { row.appendCSV(columns: columns, to: &$0) }
            }
        }
        for kindWriters in writers.values { for writer in kindWriters { try writer.close() } }

        let summary = LoadSummary(
            seed: seed, format: format, messages: messages, invalid: invalidTotal,
            topics: RecordKind.allCases.map { topics[$0]! }, invalidByCode: invalidByCode)
        try FeedGenerator.writeLoadSummary(summary, to: dir.appendingPathComponent(LoadSummary.fileName))
        return summary
    }

    /// `load-summary.json`: the summary, for benchmarks written in any language.
    static func writeLoadSummary(_ s: LoadSummary, to url: URL) throws(FeedGeneratorError) {
        var text = "{\n  \"seed\": \(s.seed),\n  \"format\": \"\(s.format.rawValue)\",\n"
        text +=
            "  \"messages\": \(s.messages),\n  \"invalid\": \(s.invalid),\n  \"valid\": \(s.messages - s.invalid),\n"
        text += "  \"topics\": [\n"
        for (i, t) in s.topics.enumerated() {
            let files = t.files.map { "\"\($0)\"" }.joined(separator: ", ")
            text += "    {\"topic\": \"\(t.topic)\", \"schema\": \"\(t.kind.schema)\", \"files\": [\(files)], "
            text += "\"messages\": \(t.messages), \"invalid\": \(t.invalid)}\(i + 1 < s.topics.count ? "," : "")\n"
        }
        text += "  ],\n  \"invalid_by_code\": {"
        let codes = ErrorCode.allCases.filter { s.invalidByCode[$0] != nil }
        text += codes.map { "\"\($0.rawValue)\": \(s.invalidByCode[$0]!)" }.joined(separator: ", ")
        text += "}\n}\n"
        let writer = try FeedFileWriter(url: url)
        try writer.append { $0 += text.utf8 }
        try writer.close()
    }
}

/// The running state of one load feed: the PRNG, each county's next contract number, and each
/// R&D / profile identity's last revision.
struct LoadState {
    var rng: FeedRandom
    private var nextContract: [String: Int] = [:]
    private var revisions: [String: Int] = [:]
    private let geoWeights: [(GeoModel, UInt64)]
    private let firstDay = FeedCalendar.dayNumber(CalendarDate(year: 2016, month: 1, day: 1))
    private let lastDay = FeedCalendar.dayNumber(CalendarDate(year: 2025, month: 12, day: 31))

    init(seed: UInt64) {
        rng = FeedRandom(seed: seed, stream: "load")
        // Busy geographies send more: weight by their contract counts.
        geoWeights = GeoModel.kunming.map { ($0, UInt64($0.contracts)) }
    }

    private mutating func nextRevision(_ identity: String) -> Int {
        let r = (revisions[identity] ?? 0) + 1
        revisions[identity] = r
        return r
    }

    mutating func record(kind: RecordKind, submittedAt: String) -> Record {
        let model = rng.weighted(geoWeights)
        switch kind {
        case .techContract:
            let n = (nextContract[model.code] ?? 0) + 1
            nextContract[model.code] = n
            let type = rng.weighted(FeedDraw.contractTypes)
            // Contract sizes from 0.5 万元 to 1 亿元, most of them small.
            let yuan = FeedDraw.roundContractYuan(FeedDraw.contractWeight(&rng) * 100, &rng)
            let date = FeedCalendar.date(dayNumber: rng.int(in: firstDay...lastDay))
            let contract = TechContract(
                contractNo: "LT\(date.year)-\(model.code)-\(zeroPadded(n, 7))", registeredOn: date, contractType: type,
                domain: rng.weighted(FeedDraw.domains(rural: model.mix.isRural)),
                contractValue: ExactAmount(scaled: yuan),
                techTransactionValue: ExactAmount(scaled: FeedDraw.transaction(contractYuan: yuan, type: type, &rng)),
                buyerCountry: FeedDraw.buyerCountry(&rng))
            return Record(county: model.code, revision: 1, submittedAt: submittedAt, body: .techContract(contract))
        case .rd:
            let year = rng.int(in: 2016...2025)
            let shares = model.mix.shares
            let (performer, share) = shares[Int(rng.below(UInt64(shares.count)))]
            let totalYuan = model.gdp * 100 * model.intensityBP
            var yuan = FeedDraw.scale(totalYuan * share / 1000, perMille: rng.int(in: 700...1100))
            if rng.chance(perMille: 800) { yuan = FeedDraw.round(yuan, to: 1000) }
            let identity = "rd|\(model.code)|\(year)|\(performer.rawValue)"
            return Record(
                county: model.code, revision: nextRevision(identity), submittedAt: submittedAt,
                body: .rd(RDExpenditure(year: year, performer: performer, expenditure: ExactAmount(scaled: yuan))))
        case .countyProfile:
            let year = rng.int(in: 2016...2025)
            // Roughly 5 % a year of growth around the 2024 baseline.
            let trend = Int64(1000 + (year - 2024) * 50)
            func grown(_ v: Int64) -> Int64 { max(1, FeedDraw.scale(v, perMille: trend + rng.int(in: -20...20))) }
            let industrial = grown(model.industrialOutput * 100)
            let profile = CountyProfile(
                year: year,
                gdp: ExactAmount(scaled: grown(model.gdp) * 100),
                residentPopulation: ExactAmount(
                    scaled: FeedDraw.scale(model.population, perMille: rng.int(in: 960...1010)) * 100),
                highTechEnterprises: grown(model.highTechEnterprises),
                inventionPatentsHeld: grown(model.patents),
                industrialOutput: ExactAmount(scaled: industrial * 100),
                highTechIndustrialOutput: ExactAmount(scaled: industrial * model.highTechSharePct / 100 * 100))
            let identity = "county-profile|\(model.code)|\(year)"
            return Record(
                county: model.code, revision: nextRevision(identity), submittedAt: submittedAt,
                body: .countyProfile(profile))
        }
    }

    /// Breaks exactly one rule of `row`.
    mutating func apply(_ mistake: FeedGenerator.Mistake, to row: inout FeedRow) {
        let schema = row[.schema]?.text ?? ""
        let amountField: MessageField =
            switch schema {
            case RecordKind.rd.schema: .expenditure
            case RecordKind.techContract.schema: .techTransactionValue
            default: .residentPopulation
            }
        switch mistake {
        case .negativeAmount:
            // Negative R&D, negative transaction value, or a negative industrial output: each
            // breaks only its own range (a negative transaction value is still ≤ the contract's).
            let field: MessageField =
                schema == RecordKind.countyProfile.schema ? .highTechIndustrialOutput : amountField
            row[field] = .number("-" + (row[field]?.text ?? "1"))
        case .zeroGDP:
            row[.gdp] = .number("0")
        case .badContractNo:
            row[.contractNo] = .string("合同 " + (row[.contractNo]?.text ?? ""))
        case .impossibleDate:
            let year = String((row[.registeredOn]?.text ?? "2024").prefix(4))
            row[.registeredOn] = .string("\(year)-02-30")
        case .slashedDate:
            row[.registeredOn] = .string((row[.registeredOn]?.text ?? "").replacingOccurrences(of: "-", with: "/"))
        case .yearTypo:
            if schema == RecordKind.techContract.schema {
                let rest = (row[.registeredOn]?.text ?? "2024-01-01").dropFirst(4)
                row[.registeredOn] = .string("1999" + rest)
            } else {
                row[.year] = .number("204")
            }
        case .unknownField:
            row.append("remark", .string("补报 (late report)"))
        case .misspeltField:
            row.append("staus", .string("active"))
        case .amountAsString:
            row[amountField] = .string(row[amountField]?.text ?? "0")
        case .dateAsNumber:
            row[.registeredOn] = .number((row[.registeredOn]?.text ?? "").replacingOccurrences(of: "-", with: ""))
        case .transactionOverValue:
            let value = row[.contractValue]?.text ?? "0"
            row[.techTransactionValue] = .number(FeedDecimal.add(value, oneUnitIn4: 1))
        case .highTechOverIndustrial:
            let value = row[.industrialOutput]?.text ?? "0"
            row[.highTechIndustrialOutput] = .number(FeedDecimal.add(value, oneUnitIn4: 100))
        case .fiveDigits:
            if schema == RecordKind.techContract.schema {
                // Below the transaction value, so it stays ≤ the contract value: only precision breaks.
                row[amountField] = .number(FeedDecimal.fiveDigitsBelow(row[amountField]?.text ?? "1"))
            } else {
                row[amountField] = .number(FeedDecimal.fiveDigitsAbove(row[amountField]?.text ?? "1"))
            }
        case .fractionalCount:
            row[.highTechEnterprises] = .number((row[.highTechEnterprises]?.text ?? "1") + ".5")
        case .badEnum:
            if schema == RecordKind.rd.schema {
                row[.performer] = .string(rng.element(["enterprise", "university", "Enterprise_Above_Scale"]))
            } else if rng.chance(perMille: 500) {
                row[.buyerCountry] = .string(rng.element(["Laos", "cn", "VNM", "泰王国"]))  // 泰国 is a label (ChineseNames)
            } else {
                row[.contractType] = .string(rng.element(["技术开发合同", "license", "Development"]))  // 技术开发 is a label
            }
        case .cityAsCounty:
            row[.county] = .string("530100")
        }
    }
}

/// Exact edits on the decimal text of valid amounts (at most 4 fractional digits, ≥ 0), to
/// make the load feed's broken numbers without floating point.
enum FeedDecimal {
    /// Parses canonical decimal text into 1/10,000 units.
    static func scaled(_ text: String) -> Int64 {
        let parts = text.split(separator: ".", maxSplits: 1)
        let whole = Int64(parts[0]) ?? 0
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = String(parts[1].prefix(4))
            fraction = (Int64(digits) ?? 0) * [1, 1000, 100, 10, 1][digits.count]
        }
        return whole * 10_000 + fraction
    }

    static func add(_ text: String, oneUnitIn4 units: Int64) -> String {
        DecimalText.format(Int128(scaled(text) + units), fractionDigits: 4)
    }

    /// A value with exactly five fractional digits, just above `text`.
    static func fiveDigitsAbove(_ text: String) -> String {
        DecimalText.format(Int128(scaled(text)) * 10 + 7, fractionDigits: 5)
    }

    /// A value with exactly five fractional digits, just below `text` (`text` > 0).
    static func fiveDigitsBelow(_ text: String) -> String {
        DecimalText.format(Int128(scaled(text)) * 10 - 3, fractionDigits: 5)
    }
}
