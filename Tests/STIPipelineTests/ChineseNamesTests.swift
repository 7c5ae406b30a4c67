// Chinese headers and labels in feeds (issue 15): mapped to the protocol's names and codes
// before validation and signing, so what crosses the wire is the English file's bytes.

import Foundation
import STIProtocol
import Testing

@testable import STIFeedGenerator
@testable import STIPipeline

@Suite struct ChineseNamesTests {
    static let at = "2026-01-15T09:30:00+08:00"

    func write(_ text: String, ext: String = "csv") throws -> String {
        let path = NSTemporaryDirectory() + "sti-zh-\(UUID().uuidString).\(ext)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func headersInChineseWithEitherBracketsAndSpaces() {
        #expect(ChineseNames.protocolFieldName(forHeader: "县区代码") == "county")
        #expect(ChineseNames.protocolFieldName(forHeader: " R&D经费支出（万元） ") == "expenditure_10k_cny")
        #expect(ChineseNames.protocolFieldName(forHeader: "R&D经费支出(万元)") == "expenditure_10k_cny")
        #expect(ChineseNames.protocolFieldName(forHeader: "合同金额 （万元）") == "contract_value_10k_cny")
        #expect(ChineseNames.protocolFieldName(forHeader: "　买方国家(地区)　") == "buyer_country", "ideographic spaces too")
        #expect(
            ChineseNames.protocolFieldName(forHeader: "执行部门\nperformer") == "performer",
            "the template's two-line header")
        #expect(ChineseNames.protocolFieldName(forHeader: "执行部门\nyear") == nil, "two names of different fields")
        #expect(ChineseNames.protocolFieldName(forHeader: "per former") == nil, "English names are exact")
        #expect(ChineseNames.protocolFieldName(forHeader: "县区") == nil)
        // Every field of every schema has a Chinese name, and no two fields share one.
        let fields = [
            "county", "revision", "status", "submitted_at", "explanation", "year", "performer", "expenditure_10k_cny",
            "contract_no", "registered_on", "contract_type", "domain", "contract_value_10k_cny",
            "tech_transaction_value_10k_cny", "buyer_country", "gdp_100m_cny", "resident_population_10k",
            "high_tech_enterprises", "invention_patents_held", "industrial_output_100m_cny",
            "high_tech_industrial_output_100m_cny",
        ]
        let names = fields.map { ChineseNames.chineseName(fieldName: $0) }
        #expect(!names.contains(nil))
        #expect(Set(names.compactMap { $0 }).count == names.count)
    }

    @Test func labelsDependOnTheField() {
        #expect(ChineseNames.protocolCode(forLabel: "其他", fieldName: "performer") == "other")
        #expect(ChineseNames.protocolCode(forLabel: "其他", fieldName: "domain") == "other")
        #expect(ChineseNames.protocolCode(forLabel: " 技术服务 ", fieldName: "contract_type") == "service")
        #expect(ChineseNames.protocolCode(forLabel: "技术服务", fieldName: "domain") == nil)
        #expect(ChineseNames.protocolCode(forLabel: "中国", fieldName: "buyer_country") == "CN")
        #expect(ChineseNames.protocolCode(forLabel: "撤回", fieldName: "status") == "withdrawn")
        // Every code a label gives is one the validator takes.
        for (field, codes) in [
            ("performer", Performer.allCases.map(\.rawValue)), ("contract_type", ContractType.allCases.map(\.rawValue)),
            ("domain", TechDomain.allCases.map(\.rawValue)), ("status", ["active", "withdrawn"]),
        ] {
            #expect(Set(ChineseNames.labels(fieldName: field).map(\.code)) == Set(codes), "\(field)")
        }
    }

    /// The signed bytes of a Chinese file's messages are those of the English file's.
    @Test func aChineseFileSignsTheSameBytesAsTheEnglishOne() throws {
        let english = try write(
            """
            county,contract_no,registered_on,contract_type,domain,contract_value_10k_cny,tech_transaction_value_10k_cny,buyer_country,revision,status\r
            530102,530102-2024-00001,2024-03-05,service,other,12.5,10,CN,1,active\r
            530102,530102-2024-00002,2024-03-06,development,new_materials,8,8,LA,2,withdrawn\r
            """)
        let chinese = try write(
            """
            县区代码 ,合同编号,登记日期,合同类型,技术领域,合同金额(万元),技术交易额（万元）,买方国家（地区）,修订号,状态\r
            530102,530102-2024-00001,2024-03-05,技术服务,其他,12.5,10,中国,1,有效\r
            530102,530102-2024-00002,2024-03-06,技术开发,新材料,8,8,老挝,2,撤回\r
            """)
        let submitter = Submitter(options: .init(kind: .techContract))
        let now = Date(timeIntervalSince1970: 1_768_440_600)
        let a = submitter.check(paths: [english], submittedAt: Self.at, now: now)
        let b = submitter.check(paths: [chinese], submittedAt: Self.at, now: now)
        #expect(a.problems.isEmpty && b.problems.isEmpty, "\(a.problems) \(b.problems)")
        let ra = a.files.flatMap(\.rows)
        let rb = b.files.flatMap(\.rows)
        #expect(ra.count == 2 && rb.count == 2)
        #expect(ra.map(\.value) == rb.map(\.value))
        #expect(ra.map(\.key) == rb.map(\.key))
        let ring = try KeyRing.load(
            contentsOf: try FeedTestRepo.root().appendingPathComponent("Samples/keys.demo.json"))
        for (x, y) in zip(ra, rb) {
            #expect(
                try ring.sign(value: x.value, keyId: "530102-demo") == ring.sign(value: y.value, keyId: "530102-demo"))
        }
    }

    @Test func anUnknownLabelIsLeftForTheValidatorToName() throws {
        let path = try write("县区代码,年份,执行部门,R&D经费支出（万元）\n530102,2024,研究所,1\n")
        let result = Submitter(options: .init(kind: .rd)).check(paths: [path], submittedAt: Self.at)
        let problem = try #require(result.problems.first)
        #expect(problem.errors.map(\.code) == [.enumeration])
        #expect(problem.errors.first?.field == "performer")
    }

    /// The feed reader uses the catalogue's one header matcher: the spellings it did not take
    /// before (full-width letters) and those it did (unit-less names) both read.
    @Test func theFeedReaderTakesEverySpellingTheCatalogueDoes() throws {
        #expect(ChineseNames.protocolFieldName(forHeader: "Ｒ＆Ｄ经费支出（万元）") == "expenditure_10k_cny")
        #expect(ChineseNames.protocolFieldName(forHeader: "ｃｏｕｎｔｙ") == "county")
        #expect(ChineseNames.protocolFieldName(forHeader: "R&D经费支出") == "expenditure_10k_cny")
        let path = try write("ｃｏｕｎｔｙ,年份,执行部门,Ｒ＆Ｄ经费支出,修订号\n530102,2024,科研院所,1,1\n")
        let result = Submitter(options: .init(kind: .rd)).check(paths: [path], submittedAt: Self.at)
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.files.flatMap(\.valid).count == 1)
    }

    /// A header cell whose two lines name different fields is refused, naming the header and
    /// its place; an unknown header is left for the validator, which names it.
    @Test func anAmbiguousHeaderIsRefusedNamingIt() throws {
        let path = try write("\"执行部门\nyear\",county\nenterprise_other,530102\n")
        #expect { try FeedReader(kind: .rd, submittedAt: Self.at).read(path: path) } throws: {
            "\($0)".contains("column header \"执行部门 / year\" is ambiguous: it could name performer or year")
        }
        let unknown = try write("县区代码,年份,执行部门,R&D经费支出（万元）,修订号,备注\n530102,2024,科研院所,1,1,x\n")
        let result = Submitter(options: .init(kind: .rd)).check(paths: [unknown], submittedAt: Self.at)
        let problem = try #require(result.problems.first)
        #expect(problem.errors.map(\.code) == [.fieldUnknown])
        #expect(problem.errors.first?.field == "备注")
    }

    @Test func aFieldGivenTwiceInTwoLanguagesIsRefused() throws {
        let path = try write("county,县区代码\n530102,530102\n")
        #expect { try FeedReader(kind: .rd, submittedAt: Self.at).read(path: path) } throws: {
            "\($0)".contains("column county (as county and 县区代码) appears twice in the header")
        }
    }

    /// The Samples' Chinese file holds the records an English file of the same figures gives.
    @Test func theChineseSampleReadsAsProtocolRecords() throws {
        let path = try FeedTestRepo.root().appendingPathComponent("Samples/" + FeedGenerator.chineseSampleName).path
        let result = Submitter(options: .init()).check(paths: [path], submittedAt: Self.at)
        #expect(result.problems.isEmpty, "\(result.problems.prefix(3))")
        let records = result.files.flatMap(\.valid).map(\.record)
        #expect(records.count > 90)
        #expect(records.allSatisfy { if case .rd(let r) = $0.body { r.year == 2023 } else { false } })
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("县区代码,年份,执行部门,R&D经费支出（万元）,修订号\r\n"))
        #expect(text.contains("规模以上企业") && !text.contains("enterprise_above_scale"))
    }
}
