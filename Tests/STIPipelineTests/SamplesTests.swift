// The committed Samples/: every row valid under the protocol, the revision and withdrawal
// story sound in every file on its own, city totals of the plan's order, the demo keys file
// of the protocol's shape, the README up to date, and the files exactly what the generator
// makes from its fixed seed.

import Foundation
import STIProtocol
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

@Suite struct SamplesTests {
    /// A sample CSV file, read back.
    struct SampleFile {
        var name: String
        var kind: RecordKind
        var year: Int
        var header: [String]
        var rows: [[String: WireValue]]
    }

    static func samplesDir() throws -> URL { try FeedTestRepo.root().appendingPathComponent("Samples") }

    static func sampleFiles() throws -> [SampleFile] {
        let dir = try samplesDir()
        var files: [SampleFile] = []
        for year in FeedGenerator.sampleYears {
            for (kind, stem) in [
                (RecordKind.countyProfile, "county-profiles"), (.rd, "rd"), (.techContract, "tech-contracts"),
            ] {
                let name = "\(stem)-\(year).csv"
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                let (header, rows) = try SimpleCSV.parse(text)
                files.append(
                    SampleFile(
                        name: name, kind: kind, year: year, header: header,
                        rows: SimpleCSV.wireRows(kind: kind, header: header, rows: rows)))
            }
        }
        return files
    }

    /// The generator's summary of the samples (written to a scratch directory, then removed).
    static func freshSummary() throws -> SamplesSummary {
        let dir = try FeedTestRepo.temporaryDirectory("samples-summary")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try FeedGenerator().writeSamples(to: dir)
    }

    /// The current active records of one kind and year after applying the file in order.
    static func current(_ file: SampleFile) -> [[String: WireValue]] {
        var byIdentity: [String: (revision: Int, row: [String: WireValue])] = [:]
        for row in file.rows {
            let id = ProtocolRules.identity(kind: file.kind, row)
            let revision = Int(row["revision"].map(ProtocolRules.text) ?? "1")!
            if revision > byIdentity[id]?.revision ?? 0 { byIdentity[id] = (revision, row) }
        }
        return byIdentity.values.map(\.row).filter { $0["status"] != .string("withdrawn") }
    }

    static func inTotal(_ row: [String: WireValue]) -> Bool {
        Registry.kunming[ProtocolRules.text(row["county"]!)]?.inTotal == true
    }

    @Test func everyRowIsValidUnderTheProtocol() throws {
        let files = try Self.sampleFiles()
        #expect(files.count == 6)
        for file in files {
            // An `explanation` column, last, only in a file that explains a figure (section 5a).
            let explains = file.rows.contains { $0["explanation"] != nil }
            #expect(
                file.header == FeedRow.csvColumns(file.kind) + (explains ? ["explanation"] : []), "\(file.name) header")
            #expect(!file.rows.isEmpty, "\(file.name) has rows")
            for (n, row) in file.rows.enumerated() {
                let codes = ProtocolRules.check(kind: file.kind, row, fromCSV: true)
                #expect(codes.isEmpty, "\(file.name) row \(n + 2): \(codes.map(\.rawValue).sorted())")
                #expect(
                    row["year"].map(ProtocolRules.text) ?? String(ProtocolRules.text(row["registered_on"]!).prefix(4))
                        == String(file.year), "\(file.name) row \(n + 2) belongs to another year")
            }
        }
    }

    @Test func everyGeographySubmitsEveryKindEveryYear() throws {
        for file in try Self.sampleFiles() {
            let counties = Set(file.rows.compactMap { $0["county"].map(ProtocolRules.text) })
            #expect(counties == Set(Registry.kunming.geographies.map(\.code)), "\(file.name)")
        }
    }

    /// Each file can be sent alone and in any order: a revision-2 row follows the revision-1 row
    /// of its identity in the same file, no identity repeats a revision, and a withdrawal re-sends
    /// the contract's figures unchanged.
    @Test func revisionsAndWithdrawalsFollowTheirOriginalsInTheSameFile() throws {
        var revisions = 0
        var withdrawals = 0
        var revisedProfiles = 0
        for file in try Self.sampleFiles() {
            var seen: [String: [String: WireValue]] = [:]
            var pairs: Set<String> = []
            for row in file.rows {
                let id = ProtocolRules.identity(kind: file.kind, row)
                let revision = ProtocolRules.text(row["revision"]!)
                #expect(pairs.insert("\(id)#\(revision)").inserted, "\(file.name): \(id) revision \(revision) twice")
                if revision == "1" {
                    #expect(row["status"] == nil || row["status"] == .string("active"))
                    seen[id] = row
                    continue
                }
                #expect(revision == "2", "\(file.name): \(id) revision \(revision)")
                guard let original = seen[id] else {
                    Issue.record("\(file.name): \(id) revision 2 without an earlier revision 1 in the file")
                    continue
                }
                revisions += 1
                if row["status"] == .string("withdrawn") {
                    withdrawals += 1
                    var same = row
                    same["status"] = original["status"]
                    same["revision"] = original["revision"]
                    #expect(same == original, "\(file.name): withdrawal of \(id) changes figures")
                } else {
                    #expect(
                        row != original, "\(file.name): revision 2 of \(id) changes nothing (a conflict-free no-op)")
                    if file.kind == .countyProfile { revisedProfiles += 1 }
                }
            }
        }
        #expect(revisions == 10)
        #expect(withdrawals == 5)
        #expect(revisedProfiles == 1)
    }

    @Test func cityTotalsAreOfThePlansOrder() throws {
        let files = try Self.sampleFiles()
        let summary = try Self.freshSummary()
        for year in FeedGenerator.sampleYears {
            func rows(_ kind: RecordKind) -> [[String: WireValue]] {
                Self.current(files.first { $0.kind == kind && $0.year == year }!).filter(Self.inTotal)
            }
            let rd = rows(.rd).reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "expenditure_10k_cny") }
            let contracts = rows(.techContract)
            let contractValue = contracts.reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "contract_value_10k_cny") }
            let asia = contracts.filter {
                FeedDraw.southSoutheastAsia.contains(ProtocolRules.text($0["buyer_country"]!))
            }
            let profiles = rows(.countyProfile)
            let enterprises =
                profiles.reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "high_tech_enterprises") } / 10_000
            let gdp = profiles.reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "gdp_100m_cny") }
            let population = profiles.reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "resident_population_10k") }

            // 万元 × 10^4: R&D ≈ 120 亿元, contracts ≈ 36 亿元 (the plan's 2020 order).
            #expect((1_000_000 * 10_000...1_500_000 * 10_000).contains(rd), "\(year) R&D \(rd)")
            #expect((300_000 * 10_000...450_000 * 10_000).contains(contractValue), "\(year) contracts \(contractValue)")
            #expect((2_500...6_000).contains(contracts.count), "\(year) contract count \(contracts.count)")
            #expect(asia.count >= 50, "\(year) South / Southeast Asian buyers: \(asia.count)")
            #expect((1_000...1_500).contains(enterprises), "\(year) high-tech enterprises \(enterprises)")
            #expect((7_000 * 10_000...8_500 * 10_000).contains(gdp), "\(year) GDP \(gdp)")
            #expect((800 * 10_000...900 * 10_000).contains(population), "\(year) population \(population)")

            // R&D intensity of every county and zone between 0.5 % and 4 %: R&D (万元) ÷ GDP (亿元 × 10^4).
            let allRD = Self.current(files.first { $0.kind == .rd && $0.year == year }!)
            let allProfiles = Self.current(files.first { $0.kind == .countyProfile && $0.year == year }!)
            for geo in Registry.kunming.geographies {
                let geoRD = allRD.filter { $0["county"] == .string(geo.code) }
                    .reduce(Int128(0)) { $0 + ProtocolRules.scaled($1, "expenditure_10k_cny") }
                let geoGDP = try #require(allProfiles.first { $0["county"] == .string(geo.code) })
                let basisPoints = geoRD * 10_000 / (ProtocolRules.scaled(geoGDP, "gdp_100m_cny") * 10_000)
                #expect((50...400).contains(basisPoints), "\(year) \(geo.code) R&D intensity \(basisPoints) bp")
            }

            // The generator's own summary agrees with what the files say.
            let s = try #require(summary.years.first { $0.year == year })
            #expect(Int128(s.rdExpenditure.scaled) == rd)
            #expect(Int128(s.contractValue.scaled) == contractValue)
            #expect(s.activeContracts == contracts.count)
            #expect(Int128(s.highTechEnterprises) == enterprises)
            #expect(Int128(s.gdp.scaled) == gdp)
        }
    }

    /// Section 5a, recomputed from the files with this test's own arithmetic: every record that
    /// trips a rule carries an explanation but one (the held contract the demo shows), and each
    /// rule is tripped by at least one explained record.
    @Test func everyFigureThatTripsAPlausibilityRuleIsExplainedButOne() throws {
        let files = try Self.sampleFiles()
        let summary = try Self.freshSummary()
        var unexplained: [String] = []
        var explainedCodes: [RecordKind: Set<String>] = [:]
        var explainedRows = 0
        func amount(_ row: [String: WireValue], _ name: String) -> Int128? {
            row[name] == nil ? nil : ProtocolRules.scaled(row, name)
        }
        for file in files {
            let previous = files.first { $0.kind == file.kind && $0.year == file.year - 1 }.map(Self.current) ?? []
            func previousRow(_ row: [String: WireValue]) -> [String: WireValue]? {
                previous.first { $0["county"] == row["county"] && $0["performer"] == row["performer"] }
            }
            for row in file.rows where row["status"] != .string("withdrawn") {
                var codes: Set<String> = []
                func yoy(_ new: Int128, _ old: Int128, percent: Int128) -> Bool {
                    (new == 0) != (old == 0) || (new - old).magnitude * 100 > UInt128(percent * old)
                }
                switch file.kind {
                case .techContract:
                    let value = amount(row, "contract_value_10k_cny")!
                    let transaction = amount(row, "tech_transaction_value_10k_cny")!
                    if value >= 10_000 * 10_000 { codes.insert("W_LARGE_CONTRACT") }
                    if value >= 100 * 10_000 && transaction * 10 < value { codes.insert("W_LOW_TRANSACTION_SHARE") }
                case .rd:
                    if let old = previousRow(row).flatMap({ amount($0, "expenditure_10k_cny") }) {
                        let new = amount(row, "expenditure_10k_cny")!
                        if new > 2 * old || 2 * new < old || (new == 0) != (old == 0) { codes.insert("W_YOY_CHANGE") }
                    }
                case .countyProfile:
                    if let old = previousRow(row) {
                        for (field, percent) in [
                            ("gdp_100m_cny", 30), ("resident_population_10k", 10), ("high_tech_enterprises", 50),
                            ("invention_patents_held", 50), ("industrial_output_100m_cny", 40),
                            ("high_tech_industrial_output_100m_cny", 50),
                        ] as [(String, Int128)] {
                            if let n = amount(row, field), let o = amount(old, field), yoy(n, o, percent: percent) {
                                codes.insert("W_YOY_CHANGE")
                            }
                        }
                    }
                }
                guard !codes.isEmpty else {
                    #expect(row["explanation"] == nil, "\(file.name): \(row) explains a figure no rule questions")
                    continue
                }
                if row["explanation"] == nil {
                    unexplained.append(ProtocolRules.text(row["contract_no"] ?? row["county"]!))
                } else {
                    explainedCodes[file.kind, default: []].formUnion(codes)
                    explainedRows += 1
                }
            }
        }
        #expect(unexplained == [FeedGenerator.heldContractNo])
        #expect(summary.held.map { $0.split(separator: "|").last.map(String.init) } == [FeedGenerator.heldContractNo])
        #expect(explainedCodes[.techContract] == ["W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"])
        #expect(explainedCodes[.rd] == ["W_YOY_CHANGE"])
        #expect(explainedCodes[.countyProfile] == ["W_YOY_CHANGE"])
        #expect(
            summary.explained.count == explainedRows,
            "the generator's summary counts the explained records the files hold")
    }

    @Test func samplesAreExactlyWhatTheGeneratorMakesFromItsSeed() throws {
        let dir = try FeedTestRepo.temporaryDirectory("samples-regen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try FeedGenerator(seed: FeedGenerator.samplesSeed).writeSamples(to: dir)
        let committed = try Self.samplesDir()
        for name in summary.files {
            let fresh = try Data(contentsOf: dir.appendingPathComponent(name))
            let kept = try Data(contentsOf: committed.appendingPathComponent(name))
            #expect(fresh == kept, "Samples/\(name) differs from `sti generate samples` output: regenerate and commit")
        }
        let listed = try FileManager.default.contentsOfDirectory(atPath: committed.path).filter {
            $0 != "README.md" && !$0.hasPrefix(".")
        }
        #expect(Set(listed) == Set(summary.files))
    }

    @Test func anotherSeedGivesOtherSamples() throws {
        let a = try FeedTestRepo.temporaryDirectory("samples-seed-a")
        let b = try FeedTestRepo.temporaryDirectory("samples-seed-b")
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        try FeedGenerator(seed: 1).writeSamples(to: a)
        try FeedGenerator(seed: 2).writeSamples(to: b)
        let name = "tech-contracts-2024.csv"
        #expect(
            try Data(contentsOf: a.appendingPathComponent(name)) != Data(contentsOf: b.appendingPathComponent(name)))
    }

    @Test func demoKeysFileHasTheProtocolShape() throws {
        let url = try Self.samplesDir().appendingPathComponent("keys.demo.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(Array(object.keys) == ["keys"])
        let keys = try #require(object["keys"] as? [[String: String]])
        #expect(keys.map { $0["county"] ?? "" } == Registry.kunming.geographies.map(\.code))
        for key in keys {
            #expect(Set(key.keys) == ["id", "county", "secret_hex"])
            #expect(key["id"] == "\(key["county"]!)-demo")
            #expect(key["secret_hex"]?.range(of: "^[0-9a-f]{64}$", options: .regularExpression) != nil)
        }
        #expect(Set(keys.compactMap { $0["secret_hex"] }).count == keys.count)
    }

    @Test func generatedKeysFileIsPrivate() throws {
        let dir = try FeedTestRepo.temporaryDirectory("samples-mode")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FeedGenerator().writeSamples(to: dir)
        let attributes = try FileManager.default.attributesOfItem(
            atPath: dir.appendingPathComponent("keys.demo.json").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    /// The README documents every file, every column, and the totals the files add up to.
    @Test func readmeDescribesEveryFileColumnAndTotal() throws {
        let readme = try String(contentsOf: Self.samplesDir().appendingPathComponent("README.md"), encoding: .utf8)
        let summary = try Self.freshSummary()
        for name in summary.files { #expect(readme.contains("`\(name)`"), "README misses \(name)") }
        for kind in RecordKind.allCases {
            for column in FeedRow.csvColumns(kind) {
                #expect(readme.contains("`\(column)`"), "README misses column \(column)")
            }
        }
        for performer in Performer.allCases { #expect(readme.contains("`\(performer.rawValue)`")) }
        for type in ContractType.allCases { #expect(readme.contains("`\(type.rawValue)`")) }
        for id in summary.revised + summary.withdrawn {
            let shown = id.split(separator: "|").dropFirst().joined(separator: " ")
            #expect(readme.contains(shown), "README misses revision/withdrawal \(shown)")
        }
        for year in summary.years {
            #expect(
                readme.contains(year.rdExpenditure.description),
                "README misses R&D total \(year.rdExpenditure) of \(year.year)")
            #expect(
                readme.contains(year.contractValue.description), "README misses contract total \(year.contractValue)")
            #expect(readme.contains("\(year.highTechEnterprises)"))
        }
        #expect(readme.contains("\(FeedGenerator.samplesSeed)"))
    }

    @Test func writeSamplesReportsADirectoryItCannotCreate() throws {
        let dir = try FeedTestRepo.temporaryDirectory("samples-blocked")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        #expect(throws: FeedGeneratorError.self) {
            try FeedGenerator().writeSamples(to: file.appendingPathComponent("Samples"))
        }
    }
}
