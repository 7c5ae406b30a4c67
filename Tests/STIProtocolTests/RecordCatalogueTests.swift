import Testing

@testable import STIProtocol

/// The record catalogue is the one home of section 3's fields: these tests pin it to the
/// hand-tuned parts that spell it again for speed, and pin its public lookup API.
@Suite struct RecordCatalogueTests {
    @Test func tableIsIndexedByField() {
        #expect(RecordCatalogue.specs.count == MessageField.allCases.count)
        for (i, spec) in RecordCatalogue.specs.enumerated() {
            #expect(spec.field.rawValue == i, "\(spec.name)")
            #expect(RecordCatalogue.spec(named: spec.name)?.field == spec.field)
        }
        #expect(Set(RecordCatalogue.specs.map(\.name)).count == RecordCatalogue.specs.count)
        #expect(Set(RecordCatalogue.specs.map(\.chineseName)).count == RecordCatalogue.specs.count)
        #expect(RecordCatalogue.specs.allSatisfy { !$0.chineseName.isEmpty })
        #expect(
            RecordCatalogue.specs.filter { $0.bounds != nil || $0.type == .enumeration }.allSatisfy { !$0.rule.isEmpty }
        )
        // The slot buffer's size is allCases.count; the bit masks need it to fit in 32 bits.
        #expect(MessageField.allCases.count <= 32)
        #expect(MessageField.allCases.map(\.rawValue) == Array(0..<MessageField.allCases.count))
    }

    @Test func kindsAreIndexedAndCoverEveryField() {
        for kind in RecordKind.allCases {
            let spec = RecordCatalogue.record(kind)
            #expect(spec.kind == kind)
            #expect(RecordKind(schema: spec.schema) == kind)
            #expect(spec.feedColumns.first == .county)
            #expect(Set(spec.fields).isSubset(of: Set(spec.feedColumns)), "\(kind)")
            #expect(spec.identity.allSatisfy(spec.fields.contains))
        }
        let used = Set(RecordKind.allCases.flatMap { RecordCatalogue.allFields(of: $0) })
        #expect(used == Set(MessageField.allCases))
    }

    /// The enumerations' Swift raw values and the validator's tables agree with the catalogue.
    @Test func enumerationsMatchTheirSwiftTypes() {
        #expect(RecordCatalogue.spec(.performer).values.map(\.code) == Performer.allCases.map(\.rawValue))
        #expect(RecordCatalogue.spec(.contractType).values.map(\.code) == ContractType.allCases.map(\.rawValue))
        #expect(RecordCatalogue.spec(.domain).values.map(\.code) == TechDomain.allCases.map(\.rawValue))
        #expect(RecordCatalogue.spec(.status).values.map(\.code) == RecordStatus.allCases.map(\.rawValue))
        #expect(RecordCatalogue.spec(.performer).rule == ByteEnumTable(Performer.self).rule)
        #expect(RecordCatalogue.spec(.domain).rule == ByteEnumTable(TechDomain.self).rule)
        #expect(RecordCatalogue.spec(.contractType).rule == "must be one of development, transfer, consulting, service")
    }

    /// The rule texts the validator states, as they were written before the catalogue.
    @Test func rangeRulesReadAsBefore() {
        #expect(RecordCatalogue.spec(.expenditure).rule == "must be between 0 and 10000000000")
        #expect(RecordCatalogue.spec(.revision).rule == "must be between 1 and 1000000")
        #expect(RecordCatalogue.spec(.gdp).rule == "must be greater than 0 and at most 100000000")
        #expect(RecordCatalogue.spec(.residentPopulation).rule == "must be greater than 0 and at most 100000")
        #expect(RecordCatalogue.spec(.highTechEnterprises).rule == "must be between 0 and 1000000")
        #expect(RecordCatalogue.spec(.inventionPatentsHeld).rule == "must be between 0 and 100000000")
        #expect(RecordCatalogue.spec(.highTechIndustrialOutput).rule == "must be between 0 and 100000000")
    }

    @Test func numberFieldsAreTheNumericOnes() {
        #expect(
            RecordCatalogue.numberFieldNames == [
                "revision", "year", "expenditure_10k_cny", "contract_value_10k_cny", "tech_transaction_value_10k_cny",
                "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
                "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny",
            ])
    }

    @Test(arguments: [
        ("R&D经费支出（万元）", MessageField.expenditure), ("R&D经费支出(万元)", .expenditure), ("  R&D经费支出（万元） ", .expenditure),
        ("Ｒ＆Ｄ经费支出（万元）", .expenditure), ("\u{3000}县区代码\u{3000}", .county), ("年份", .year), ("执行部门", .performer),
        ("合同金额(万元)", .contractValue), ("技术交易额（万元）", .techTransactionValue), ("买方国家(地区)", .buyerCountry),
        ("有效发明专利数（件）", .inventionPatentsHeld), ("performer", .performer),
        (" tech_transaction_value_10k_cny ", .techTransactionValue),
    ])
    func headersNameFields(header: String, field: MessageField) {
        #expect(RecordCatalogue.field(forHeader: header)?.field == field)
    }

    @Test func unknownHeadersNameNothing() {
        #expect(RecordCatalogue.field(forHeader: "remark") == nil)
        #expect(RecordCatalogue.field(forHeader: "") == nil)
        #expect(RecordCatalogue.field(forHeader: "R&D经费支出") == nil)
    }

    @Test func labelsGiveCodes() {
        #expect(RecordCatalogue.code(forLabel: "技术服务", field: "contract_type") == "service")
        #expect(RecordCatalogue.code(forLabel: " 规模以上企业 ", field: .performer) == "enterprise_above_scale")
        #expect(RecordCatalogue.code(forLabel: "生态环境", field: .domain) == "environment")
        #expect(RecordCatalogue.code(forLabel: "中国", field: .buyerCountry) == "CN")
        #expect(RecordCatalogue.code(forLabel: "撤回", field: .status) == "withdrawn")
        #expect(RecordCatalogue.code(forLabel: "service", field: .contractType) == "service")
        #expect(RecordCatalogue.code(forLabel: "技术服务", field: .performer) == nil)
        #expect(RecordCatalogue.code(forLabel: "x", field: "no_such_field") == nil)
        #expect(RecordCatalogue.code(forLabel: "1", field: .year) == nil)
    }
}
