import Testing

@testable import STIProtocol

@Suite struct CSVWriterTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("", ""),
        ("五华区", "五华区"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("\"", "\"\"\"\""),
        ("line\nbreak", "\"line\nbreak\""),
        ("cr\rinside", "\"cr\rinside\""),
        ("crlf\r\ninside", "\"crlf\r\ninside\""),
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "\"'\rx\""),
        ("\r\nx", "\"'\r\nx\""),
        ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        ("a=b", "a=b"),
        ("Kunming High-tech", "Kunming High-tech"),
        (" =x", " =x"),
        ("'already", "'already"),
    ])
    func textCells(input: String, expected: String) {
        #expect(CSVWriter.field(.text(input)) == expected)
    }

    @Test(arguments: [
        ("120.86", "120.86"),
        ("3000", "3000"),
        ("0", "0"),
        ("", ""),
        ("-5", "'-5"),  // never produced by the protocol; guarded if it ever is
        ("=1+2", "'=1+2"),  // a "number" that is not a numeral is treated as text
        ("+1", "'+1"),
        ("1,5", "\"1,5\""),
        ("1.", "1."),
        ("@1", "'@1"),
    ])
    func numberCellsSkipTheGuardOnlyWhenTheyAreNumerals(input: String, expected: String) {
        #expect(CSVWriter.field(.number(input)) == expected)
    }

    @Test func everyGuardCharacterIsGuarded() {
        #expect(CSVWriter.guardedLeadingCharacters == ["=", "+", "-", "@", "\t", "\r"])
        for c in ["=", "+", "-", "@", "\t", "\r"] {
            #expect(CSVWriter.field(.text(c + "x")).hasPrefix("'") || CSVWriter.field(.text(c + "x")).hasPrefix("\"'"))
        }
    }

    @Test func linesEndInCRLFAndDocumentsHaveNoBOM() {
        let doc = CSVWriter.document(header: ["a", "b"], rows: [[.text("x,y"), .int(3)], [.text(""), .number("")]])
        #expect(doc == "a,b\r\n\"x,y\",3\r\n,\r\n")
        #expect(Array(doc.utf8.prefix(3)) != [0xEF, 0xBB, 0xBF])
        #expect(CSVWriter.line([.int(-2)]) == "'-2\r\n")
    }

    @Test func rejectionRowsGuardCountyAndMessage() {
        let rows = [
            RejectionRow(
                topic: "sti.rd", partition: 0, offset: 42, county: "530102", codes: [.range],
                firstMessage: "must be between 0 and 10000000000"),
            RejectionRow(
                topic: "sti.tech-contracts", partition: 2, offset: 7, county: "=cmd|' /C calc'!A0",
                codes: [.county, .keyMismatch, .auth], firstMessage: "-not in the registry, \"=cmd\""),
            RejectionRow(
                topic: "sti.county-profiles", partition: 1, offset: 0, county: nil, codes: [.json],
                firstMessage: "@value is not one JSON object\nline 2"),
        ]
        #expect(
            CSVWriter.rejections(rows)
                == IndicatorFixtures.csv([
                    "topic,partition,offset,county,codes,first_message",
                    "sti.rd,0,42,530102,E_RANGE,must be between 0 and 10000000000",
                    "sti.tech-contracts,2,7,'=cmd|' /C calc'!A0,E_COUNTY;E_KEY_MISMATCH;E_AUTH,\"'-not in the registry, \"\"=cmd\"\"\"",
                    "sti.county-profiles,1,0,,E_JSON,\"'@value is not one JSON object\nline 2\"",
                ]))
    }

    @Test func headersAreExactlyTheSpecs() {
        #expect(
            CSVWriter.indicators([])
                == "year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected\r\n"
        )
        #expect(CSVWriter.completeness([]) == "year,geo_code,geo_name_zh,kind,records,status\r\n")
        #expect(CSVWriter.rejections([]) == "topic,partition,offset,county,codes,first_message\r\n")
    }

    @Test func indicatorTextColumnsAreGuardedEvenFromACustomRegistry() {
        let row = IndicatorRow(
            year: 2024, geoCode: "-X", geoNameZh: "=区", geoNameEn: "@Town, East", indicator: .rdExpenditure,
            value: "1.5", status: .ok, countiesReporting: 1, countiesExpected: 1)
        #expect(CSVWriter.line(row.csvCells) == "2024,'-X,'=区,\"'@Town, East\",rd_expenditure,1.5,100m_cny,ok,1,1\r\n")
        let c = CompletenessRow(year: 2024, geoCode: "+Y", geoNameZh: "县", kind: .countyProfile, records: 0)
        #expect(CSVWriter.line(c.csvCells) == "2024,'+Y,县,county-profile,0,missing\r\n")
    }

    /// Section 8's warnings.csv: exact figures in the field's own unit written as section 7
    /// writes numbers, an empty `compared_with` for W_LARGE_CONTRACT, and the submitted
    /// explanation guarded and quoted like any text.
    @Test func warningRowsWriteExactFiguresAndGuardTheExplanation() {
        let yoy = PlausibilityWarning(
            code: .yoyChange, field: "high_tech_enterprises", value: .count(3000),
            comparedWith: .count(1166), finding: "f")
        let row = WarningRow(
            year: 2025, geoCode: "530102", kind: .countyProfile, identity: "", warning: yoy,
            disposition: .explained, explanation: "=新建研发中心投产, 一期", topic: "sti.county-profiles",
            partition: 1, offset: 42)
        #expect(
            CSVWriter.line(row.csvCells)
                == "2025,530102,county-profile,,W_YOY_CHANGE,high_tech_enterprises,3000,1166,explained,\"'=新建研发中心投产, 一期\",sti.county-profiles,1,42\r\n"
        )
        let large = PlausibilityWarning(
            code: .largeContract, field: "contract_value_10k_cny",
            value: .amount(ExactAmount(scaled: 120_655_220)), comparedWith: nil, finding: "f")
        let held = WarningRow(
            year: 2025, geoCode: "530102", kind: .techContract, identity: "-HT-1", warning: large,
            disposition: .held, explanation: "", topic: "sti.tech-contracts", partition: 0, offset: 7)
        #expect(
            CSVWriter.line(held.csvCells)
                == "2025,530102,tech-contract,'-HT-1,W_LARGE_CONTRACT,contract_value_10k_cny,12065.522,,held,,sti.tech-contracts,0,7\r\n"
        )
        #expect(CSVWriter.warnings([]) == warningsCSVHeader.joined(separator: ",") + "\r\n")
        #expect(
            warningsCSVHeader.joined(separator: ",")
                == "year,geo_code,kind,identity,code,field,value,compared_with,disposition,explanation,topic,partition,offset"
        )
    }

    @Test func heldRejectionRowsListTheirWarningCodes() {
        let row = RejectionRow(
            topic: "sti.tech-contracts", partition: 0, offset: 3, county: "530102", codes: [],
            warningCodes: [.largeContract, .lowTransactionShare], firstMessage: "m")
        #expect(
            CSVWriter.line(row.csvCells)
                == "sti.tech-contracts,0,3,530102,W_LARGE_CONTRACT;W_LOW_TRANSACTION_SHARE,m\r\n")
    }

    /// The byte-level line (`CSVLine`, what `records/` is written with) keeps every rule: a
    /// negative number is not a plain numeral and is guarded as text; text from bytes is guarded
    /// and quoted as a `String` is; an empty cell is empty.
    @Test func byteLinesKeepTheGuardAndQuoting() {
        var line = CSVLine()
        line.int(-5)
        line.int(Int64.max)
        line.decimal(scaled: -12_345, fractionDigits: 4)
        line.decimal(scaled: 1_000_500, fractionDigits: 4)
        line.empty()
        line.text(bytes: Array("=a,\"b\"".utf8))
        line.number("1e5")
        line.text("@x")
        line.end()
        #expect(
            String(decoding: line.bytes, as: UTF8.self)
                == "'-5,9223372036854775807,'-1.2345,100.05,,\"'=a,\"\"b\"\"\",1e5,'@x\r\n")
        line.removeAll()
        line.text("\r\nx")
        line.end()
        #expect(String(decoding: line.bytes, as: UTF8.self) == "\"'\r\nx\"\r\n")
    }
}
