// `FeedGenerator.writeSamples`: the committed Samples/ set.
//
// Files, one per kind and year, each in the order a bureau would send it: the rows of
// revision 1 in registry order, then (at the end of the same file) the few revision-2 rows
// that correct or withdraw earlier ones. Keeping a revision in the same file as the record it
// revises means every file can be submitted alone, in any order, without a stale revision.

public import Foundation
import STIProtocol

extension FeedGenerator {
    /// One geography's figures for one sample year.
    struct YearFigures {
        var gdp: Int64  // 0.01 亿元
        var population: Int64  // 0.01 万人
        var intensityBP: Int64
        var highTechEnterprises: Int64
        var patents: Int64
        var industrialOutput: Int64  // 0.01 亿元
        var highTechOutput: Int64  // 0.01 亿元
        var contracts: Int
        var contractYuan: Int64  // target Σ contract value, yuan
    }

    /// The city's technology-contract turnover in the first sample year, yuan (≈ 36 亿元, the
    /// plan's 2020 order).
    static let cityContractYuan2024: Int64 = 3_600_000_000

    /// R&D identities that the samples revise (corrected returns, up or down by up to 6 %), as
    /// (county, year, performer).
    static let rdRevisions: [(county: String, year: Int, performer: Performer)] = [
        ("530114", 2024, .higherEducation),
        ("530181", 2024, .enterpriseAboveScale),
        ("KM-HTZ", 2024, .researchInstitute),
        ("530103", 2025, .medical),
    ]

    /// The profile the samples revise: 官渡区 2024, GDP after the final verification.
    static let profileRevision = (county: "530111", year: 2024)

    /// How many contracts the samples withdraw, per year, and from which geographies.
    static let withdrawals: [(year: Int, county: String)] = [
        (2024, "530102"), (2024, "530111"), (2024, "KM-HTZ"), (2025, "530114"), (2025, "530127"),
    ]

    /// Figures the samples make jump past their section 5a bound, each with the explanation a
    /// bureau would give: one R&D performer (×2.2) and one county profile's high-tech industrial
    /// output (×1.7, still ≤ industrial output), both in the second sample year.
    static let rdJump = (county: "530115", year: 2025, performer: Performer.enterpriseAboveScale, perMille: Int64(2200))
    static let profileJump = (county: "530115", year: 2025, perMille: Int64(1700))

    /// The one contract of the samples given a technology transaction value under 10 % of its
    /// contract value (`W_LOW_TRANSACTION_SHARE`, explained): the first active `service` contract
    /// of this geography and year worth 100 万元 to 1 亿元, its transaction value set to 6 %.
    static let lowShareContract = (county: "530181", year: 2025, percent: Int64(6))

    /// The one record of the samples that trips a rule and is left unexplained, so that the demo
    /// shows a held message (section 5a): a ≥ 1 亿元 contract of the high-tech zone.
    static let heldContractNo = "KM-HTZ-2025-00147"

    /// The explanation a bureau writes for a record that trips a rule (section 5a), one reason per
    /// warning code, joined by "；"; nil for the one contract left unexplained.
    static func sampleExplanation(for record: Record, warnings: [PlausibilityWarning]) -> String? {
        if case .techContract(let c) = record.body, c.contractNo == heldContractNo { return nil }
        var reasons: [String] = []
        for code in Set(warnings.map(\.code)).sorted() {
            switch (code, record.body) {
            case (.yoyChange, .rd):
                reasons.append("新建研发中心投产，研发投入大幅增加")
            case (.yoyChange, _):
                reasons.append("新材料产业园项目投产，高新技术产业产值大幅增长")
            case (.largeContract, .techContract(let c)) where c.contractType == .transfer:
                reasons.append("引进重大技术转让项目，合同金额经技术合同登记机构核实")
            case (.largeContract, .techContract(let c)) where c.contractType == .development:
                reasons.append("重大技术开发项目，合同金额经技术合同登记机构核实")
            case (.largeContract, _):
                reasons.append("重大技术合同登记，合同金额经技术合同登记机构核实")
            case (.lowTransactionShare, _):
                reasons.append("合同以成套设备采购为主，技术交易额只计技术部分")
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "；")
    }

    /// Figures for every geography (model order = registry order) and sample year.
    func sampleFigures() -> [Int: [YearFigures]] {
        var rng = FeedRandom(seed: seed, stream: "samples.figures")
        var byYear: [Int: [YearFigures]] = [:]
        var first: [YearFigures] = []
        var second: [YearFigures] = []
        for model in GeoModel.kunming {
            let industrial = FeedDraw.scale(model.industrialOutput * 100, perMille: rng.int(in: 970...1030))
            let sharePct = max(1, model.highTechSharePct + rng.int(in: -3...3))
            let y1 = YearFigures(
                gdp: FeedDraw.scale(model.gdp, perMille: rng.int(in: 990...1010)),
                population: model.population,
                intensityBP: model.intensityBP + rng.int(in: -10...10),
                highTechEnterprises: FeedDraw.scale(model.highTechEnterprises, perMille: rng.int(in: 970...1030)),
                patents: FeedDraw.scale(model.patents, perMille: rng.int(in: 970...1030)),
                industrialOutput: industrial,
                highTechOutput: industrial * sharePct / 100,
                contracts: Int(FeedDraw.scale(Int64(model.contracts), perMille: rng.int(in: 900...1100))),
                contractYuan: FeedDraw.scale(
                    FeedGenerator.cityContractYuan2024 * model.contractWeight / GeoModel.countyWeightTotal,
                    perMille: rng.int(in: 900...1100)))
            let industrial2 = FeedDraw.scale(y1.industrialOutput, perMille: rng.int(in: 1030...1090))
            var y2 = YearFigures(
                gdp: FeedDraw.scale(y1.gdp, perMille: rng.int(in: 1040...1062)),
                population: FeedDraw.scale(y1.population, perMille: rng.int(in: 997...1012)),
                intensityBP: y1.intensityBP + rng.int(in: 0...12),
                highTechEnterprises: FeedDraw.scale(y1.highTechEnterprises, perMille: rng.int(in: 1060...1140)),
                patents: FeedDraw.scale(y1.patents, perMille: rng.int(in: 1080...1150)),
                industrialOutput: industrial2,
                highTechOutput: industrial2 * min(95, sharePct + rng.int(in: 0...2)) / 100,
                contracts: Int(FeedDraw.scale(Int64(y1.contracts), perMille: rng.int(in: 1000...1150))),
                contractYuan: FeedDraw.scale(y1.contractYuan, perMille: rng.int(in: 1050...1150)))
            if model.code == FeedGenerator.profileJump.county
                && FeedGenerator.sampleYears[1] == FeedGenerator.profileJump.year
            {
                y2.highTechOutput = min(
                    y2.industrialOutput, FeedDraw.scale(y2.highTechOutput, perMille: FeedGenerator.profileJump.perMille)
                )
            }
            first.append(y1)
            second.append(y2)
        }
        byYear[FeedGenerator.sampleYears[0]] = first
        byYear[FeedGenerator.sampleYears[1]] = second
        return byYear
    }

    func sampleProfiles(year: Int, figures: [YearFigures]) -> [Record] {
        zip(GeoModel.kunming, figures).map { model, f in
            Record(
                county: model.code, revision: 1, submittedAt: "",
                body: .countyProfile(
                    CountyProfile(
                        year: year,
                        gdp: ExactAmount(scaled: f.gdp * 100),
                        residentPopulation: ExactAmount(scaled: f.population * 100),
                        highTechEnterprises: f.highTechEnterprises,
                        inventionPatentsHeld: f.patents,
                        industrialOutput: ExactAmount(scaled: f.industrialOutput * 100),
                        highTechIndustrialOutput: ExactAmount(scaled: f.highTechOutput * 100))))
        }
    }

    func sampleRD(year: Int, figures: [YearFigures]) -> [Record] {
        var rng = FeedRandom(seed: seed, stream: "samples.rd.\(year)")
        var records: [Record] = []
        for (model, f) in zip(GeoModel.kunming, figures) {
            // GDP in 0.01 亿元 is 10^6 yuan a unit; × bp / 10^4 gives yuan.
            let totalYuan = f.gdp * 100 * f.intensityBP
            let shares = model.mix.shares.map { ($0.0, $0.1 * rng.int(in: 850...1150)) }
            let shareTotal = shares.reduce(0) { $0 + $1.1 }
            for (performer, share) in shares {
                // Statistics are reported to 0.1 万元 (1,000 yuan).
                let yuan = FeedDraw.round(totalYuan * share / shareTotal, to: 1000)
                records.append(
                    Record(
                        county: model.code, revision: 1, submittedAt: "",
                        body: .rd(
                            RDExpenditure(
                                year: year, performer: performer,
                                expenditure: ExactAmount(scaled: yuan)))))
            }
        }
        return records
    }

    func sampleContracts(year: Int, figures: [YearFigures]) -> [Record] {
        var rng = FeedRandom(seed: seed, stream: "samples.contracts.\(year)")
        var records: [Record] = []
        let firstDay = FeedCalendar.dayNumber(CalendarDate(year: year, month: 1, day: 1))
        for (model, f) in zip(GeoModel.kunming, figures) {
            let weights = (0..<f.contracts).map { _ in FeedDraw.contractWeight(&rng) }
            let weightTotal = weights.reduce(0, +)
            let days = (0..<f.contracts).map { _ in firstDay + rng.int(in: 0...(FeedCalendar.daysInYear(year) - 1)) }
                .sorted()
            for (i, (weight, day)) in zip(weights, days).enumerated() {
                let yuan = FeedDraw.roundContractYuan(max(5000, f.contractYuan * weight / weightTotal), &rng)
                let type = rng.weighted(FeedDraw.contractTypes)
                let contract = TechContract(
                    contractNo: "\(model.code)-\(year)-\(zeroPadded(i + 1, 5))",
                    registeredOn: FeedCalendar.date(dayNumber: day),
                    contractType: type,
                    domain: rng.weighted(FeedDraw.domains(rural: model.mix.isRural)),
                    contractValue: ExactAmount(scaled: yuan),
                    techTransactionValue: ExactAmount(
                        scaled: FeedDraw.transaction(contractYuan: yuan, type: type, &rng)),
                    buyerCountry: FeedDraw.buyerCountry(&rng))
                records.append(Record(county: model.code, revision: 1, submittedAt: "", body: .techContract(contract)))
            }
        }
        return records
    }

    /// Writes `Samples/`: per sample year `county-profiles-Y.csv`, `rd-Y.csv`,
    /// `tech-contracts-Y.csv`, and `keys.demo.json` (mode 0600). Creates `dir` if needed.
    @discardableResult
    public func writeSamples(to dir: URL) throws(FeedGeneratorError) -> SamplesSummary {
        try FeedGenerator.createDirectory(dir)
        let figures = sampleFigures()
        var revRng = FeedRandom(seed: seed, stream: "samples.revisions")
        var files: [String] = []
        var current: [String: Record] = [:]
        var revised: [String] = []
        var withdrawn: [String] = []
        var explained: [String] = []
        var held: [String] = []

        for year in FeedGenerator.sampleYears {
            let yearFigures = figures[year]!

            var profiles = sampleProfiles(year: year, figures: yearFigures)
            if year == FeedGenerator.profileRevision.year,
                let original = profiles.first(where: { $0.county == FeedGenerator.profileRevision.county }),
                case .countyProfile(var p) = original.body, let gdp = p.gdp
            {
                // Final verification raised GDP by 2–4 %; every other figure is re-sent unchanged,
                // because a revision replaces the whole profile.
                p.gdp = ExactAmount(
                    scaled: FeedDraw.round(FeedDraw.scale(gdp.scaled, perMille: revRng.int(in: 1020...1040)), to: 100))
                var revision = original
                revision.revision = 2
                revision.body = .countyProfile(p)
                profiles.append(revision)
                revised.append(revision.identity)
            }

            var rd = sampleRD(year: year, figures: yearFigures)
            if year == FeedGenerator.rdJump.year,
                let i = rd.firstIndex(where: {
                    if case .rd(let r) = $0.body {
                        return $0.county == FeedGenerator.rdJump.county && r.performer == FeedGenerator.rdJump.performer
                    }
                    return false
                }), case .rd(var r) = rd[i].body
            {
                r.expenditure = ExactAmount(
                    scaled: FeedDraw.round(
                        FeedDraw.scale(r.expenditure.scaled, perMille: FeedGenerator.rdJump.perMille), to: 1000))
                rd[i].body = .rd(r)
            }
            for target in FeedGenerator.rdRevisions where target.year == year {
                guard
                    let original = rd.first(where: {
                        if case .rd(let r) = $0.body {
                            return $0.county == target.county && r.performer == target.performer
                        }
                        return false
                    }), case .rd(var r) = original.body
                else { continue }
                var perMille: Int64 = revRng.int(in: 940...1060)
                if perMille == 1000 { perMille = 1030 }
                r.expenditure = ExactAmount(
                    scaled: FeedDraw.round(FeedDraw.scale(r.expenditure.scaled, perMille: perMille), to: 1000))
                var revision = original
                revision.revision = 2
                revision.body = .rd(r)
                rd.append(revision)
                revised.append(revision.identity)
            }

            var contracts = sampleContracts(year: year, figures: yearFigures)
            if year == FeedGenerator.lowShareContract.year,
                let i = contracts.firstIndex(where: {
                    guard $0.county == FeedGenerator.lowShareContract.county, case .techContract(let c) = $0.body else {
                        return false
                    }
                    return c.contractType == .service && c.contractValue.scaled >= 1_000_000
                        && c.contractValue.scaled < 100_000_000
                }), case .techContract(var c) = contracts[i].body
            {
                c.techTransactionValue = ExactAmount(
                    scaled: c.contractValue.scaled * FeedGenerator.lowShareContract.percent / 100)
                contracts[i].body = .techContract(c)
            }
            for target in FeedGenerator.withdrawals where target.year == year {
                let candidates = contracts.filter { $0.county == target.county && $0.revision == 1 }
                guard !candidates.isEmpty else { continue }
                var revision = revRng.element(candidates)
                revision.revision = 2
                revision.status = .withdrawn
                contracts.append(revision)
                withdrawn.append(revision.identity)
            }

            for (kind, unexplained, name) in [
                (RecordKind.countyProfile, profiles, "county-profiles-\(year).csv"),
                (.rd, rd, "rd-\(year).csv"),
                (.techContract, contracts, "tech-contracts-\(year).csv"),
            ] {
                // Section 5a, as the aggregator will judge them: files of one kind are applied in
                // year order, so the previous year's record is the one `current` holds.
                var records = unexplained
                for i in records.indices where records[i].isActive {
                    let warnings = Plausibility.warnings(for: records[i], current: { current[$0] })
                    guard !warnings.isEmpty else { continue }
                    records[i].explanation = FeedGenerator.sampleExplanation(for: records[i], warnings: warnings)
                    if records[i].explanation == nil {
                        held.append(records[i].identity)
                    } else {
                        explained.append(records[i].identity)
                    }
                }
                try FeedGenerator.writeCSV(records, kind: kind, to: dir.appendingPathComponent(name))
                files.append(name)
                for record in records { current[record.identity] = record }
            }
        }

        files.append(try writeChineseSample(to: dir, figures: figures))  // Feed/ChineseSample.swift
        try writeDemoKeys(to: dir.appendingPathComponent("keys.demo.json"))
        files.append("keys.demo.json")

        var summary = SamplesSummary(
            years: FeedGenerator.sampleYears.map { FeedGenerator.cityTotals(year: $0, current: current) },
            files: files.sorted(), revised: revised, withdrawn: withdrawn)
        summary.explained = explained
        summary.held = held
        return summary
    }

    /// Sample-file CSV: header of protocol field names, one row per record, CRLF line ends. A
    /// last `explanation` column only in a file with an explained record; its other cells are
    /// empty, which `sti submit` reads as no explanation (an empty cell is an absent field).
    static func writeCSV(_ records: [Record], kind: RecordKind, to url: URL) throws(FeedGeneratorError) {
        let writer = try FeedFileWriter(url: url)
        var columns = FeedRow.csvColumns(kind)
        if records.contains(where: { $0.explanation != nil }) { columns.append(MessageField.explanation.name) }
        try writer.append { FeedRow.appendCSVHeader(columns, to: &$0) }
        for record in records {
            var row = FeedRow(record: record)
            if kind == .techContract && row[.status] == nil { row[.status] = .string(RecordStatus.active.rawValue) }
            try writer.append { row.appendCSV(columns: columns, to: &$0) }
        }
        try writer.close()
    }

    /// A keys file of the protocol's section 4 shape, one key per geography, ids `<code>-demo`.
    /// Secrets come from the seed: anyone with the repository can sign with them, which is
    /// exactly why they are for demonstrations only.
    func writeDemoKeys(to url: URL) throws(FeedGeneratorError) {
        var rng = FeedRandom(seed: seed, stream: "samples.keys")
        var out: [UInt8] = Array("{\n  \"keys\": [\n".utf8)
        let registry = Registry.kunming
        for (i, geo) in registry.geographies.enumerated() {
            var secret = ""
            for _ in 0..<4 {
                let word = String(rng.next(), radix: 16)
                secret += String(repeating: "0", count: 16 - word.count) + word
            }
            var row = FeedRow()
            row.append("id", .string("\(geo.code)-demo"))
            row.append("county", .string(geo.code))
            row.append("secret_hex", .string(secret))
            out += Array("    ".utf8)
            row.appendJSON(to: &out)
            out += Array((i + 1 < registry.geographies.count ? ",\n" : "\n").utf8)
        }
        out += Array("  ]\n}\n".utf8)
        let writer = try FeedFileWriter(url: url)
        try writer.append { $0 += out }
        try writer.close()
        do { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path) } catch {
            throw FeedGeneratorError("cannot restrict \(url.path) to mode 0600: \(error.localizedDescription)")
        }
    }

    /// City totals (the 14 counties, zones excluded) of the current active records of a year.
    static func cityTotals(year: Int, current: [String: Record]) -> SamplesSummary.Year {
        let registry = Registry.kunming
        var t = SamplesSummary.Year(
            year: year, rdExpenditure: .init(scaled: 0), enterpriseAboveScaleRD: .init(scaled: 0),
            activeContracts: 0, contractValue: .init(scaled: 0), techTransactionValue: .init(scaled: 0),
            contractValueSouthSoutheastAsia: .init(scaled: 0), highTechEnterprises: 0,
            inventionPatentsHeld: 0, gdp: .init(scaled: 0), residentPopulation: .init(scaled: 0))
        for record in current.values
        where record.isActive && record.year == year && registry[record.county]?.inTotal == true {
            switch record.body {
            case .rd(let r):
                t.rdExpenditure.scaled += r.expenditure.scaled
                if r.performer == .enterpriseAboveScale { t.enterpriseAboveScaleRD.scaled += r.expenditure.scaled }
            case .techContract(let c):
                t.activeContracts += 1
                t.contractValue.scaled += c.contractValue.scaled
                t.techTransactionValue.scaled += c.techTransactionValue.scaled
                if FeedDraw.southSoutheastAsia.contains(c.buyerCountry) {
                    t.contractValueSouthSoutheastAsia.scaled += c.contractValue.scaled
                }
            case .countyProfile(let p):
                t.highTechEnterprises += p.highTechEnterprises ?? 0
                t.inventionPatentsHeld += p.inventionPatentsHeld ?? 0
                t.gdp.scaled += p.gdp?.scaled ?? 0
                t.residentPopulation.scaled += p.residentPopulation?.scaled ?? 0
            }
        }
        return t
    }

    static func createDirectory(_ dir: URL) throws(FeedGeneratorError) {
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw FeedGeneratorError("cannot create directory \(dir.path): \(error.localizedDescription)")
        }
    }
}

/// Zero-padded decimal.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
