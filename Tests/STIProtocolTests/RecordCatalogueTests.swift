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
        // The one matcher accepts the union of what the catalogue's and the feed reader's two
        // matchers took: unit-less Chinese names, white space inside, full-width letters, and
        // the two-line cells of `sti template`.
        ("R&D经费支出", .expenditure), ("合同金额", .contractValue), ("常住人口", .residentPopulation),
        ("Ｒ＆Ｄ经费支出", .expenditure), ("合同金额 （万元）", .contractValue), ("县 区 代 码", .county),
        ("买方国家\u{A0}(地区)", .buyerCountry), ("ｐｅｒｆｏｒｍｅｒ", .performer), ("　performer　", .performer),
        ("执行部门\nperformer", .performer), ("R&D经费支出（万元）\r\nexpenditure_10k_cny", .expenditure),
        ("合同金额\ncontract_value_10k_cny", .contractValue),
    ])
    func headersNameFields(header: String, field: MessageField) {
        #expect(RecordCatalogue.field(forHeader: header)?.field == field)
    }

    @Test func unknownHeadersNameNothing() {
        #expect(RecordCatalogue.field(forHeader: "remark") == nil)
        #expect(RecordCatalogue.field(forHeader: "") == nil)
        // (A unit-less Chinese name was refused here before the two matchers became one; the
        // feed reader always took it, and the union does: see headersNameFields.)
        for header in ["remark", "", "per former", "Performer", "县区", "R&D经费", "经费支出(万元)", "performer_x"] {
            #expect(RecordCatalogue.match(header: header) == .unknown, "\(header)")
            let refusal = RecordCatalogue.headerRefusal(header) ?? ""
            #expect(refusal.contains("column header \"\(header)\" names no field"), "\(refusal)")
        }
    }

    /// A cell whose lines name different fields could mean either: refused, naming the header
    /// and the fields.
    @Test func ambiguousHeadersAreRefusedNamingTheHeader() {
        #expect(RecordCatalogue.match(header: "执行部门\nyear") == .ambiguous([.performer, .year]))
        #expect(RecordCatalogue.field(forHeader: "执行部门\nyear") == nil)
        let refusal = RecordCatalogue.headerRefusal("执行部门\nyear") ?? ""
        #expect(
            refusal.contains("column header \"执行部门 / year\" is ambiguous: it could name performer or year"),
            "\(refusal)")
        // A line the catalogue does not know makes the whole cell unknown.
        #expect(RecordCatalogue.match(header: "执行部门\nremark") == .unknown)
        #expect(RecordCatalogue.headerRefusal("performer") == nil)
    }

    /// Every field's Chinese name, and that name without its unit, names that field alone: no
    /// two fields share a unit-less name, so none is ambiguous today.
    @Test func everyChineseNameAndItsStemNameTheirField() {
        for field in MessageField.allCases {
            let name = RecordCatalogue.spec(field).chineseName
            guard !name.isEmpty else { continue }
            #expect(RecordCatalogue.match(header: name) == .field(field), "\(name)")
            #expect(RecordCatalogue.match(header: field.name) == .field(field), "\(field.name)")
            if let open = name.firstIndex(where: { $0 == "(" || $0 == "（" }) {
                let stem = String(name[..<open])
                #expect(RecordCatalogue.match(header: stem) == .field(field), "\(stem)")
            }
        }
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
