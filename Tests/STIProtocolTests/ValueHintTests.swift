import Testing

@testable import STIProtocol

/// Issue 15 point 3: a validation error quotes the value it saw (bounded, escaped, never a
/// secret) and names the fix where one is known. Each case goes through the validator, so the
/// message is the one `sti validate`, `sti submit` and the rejection notice carry.
@Suite struct ValueHintTests {
    typealias M = SampleMessage

    private func error(_ message: SampleMessage, _ field: String, topic: RecordKind = .rd) -> FieldError? {
        ValidatorCheck.run(message.bytes, topic: topic).rejection?.errors.first { $0.field == field }
    }

    @Test func thousandsSeparatorsNameTheNumber() throws {
        let e = try #require(error(M.rd.with("expenditure_10k_cny", #""1,234.5""#), "expenditure_10k_cny"))
        #expect(e.code == .type)
        #expect(e.message == #"must be a number, not a string "1,234.5": write 1234.5 without thousands separators"#)
    }

    @Test func aQuotedNumberIsWrittenBare() throws {
        let e = try #require(error(M.rd.with("expenditure_10k_cny", #""1234.5""#), "expenditure_10k_cny"))
        #expect(e.code == .type)
        #expect(e.message.hasSuffix(": write 1234.5 as a number, without quotes"))
        // A comma that is not a thousands separator (`1,5`) gets no guess.
        let decimalComma = try #require(error(M.rd.with("expenditure_10k_cny", #""1,5""#), "expenditure_10k_cny"))
        #expect(decimalComma.message == #"must be a number, not a string "1,5""#)
    }

    @Test func slashedDateNamesTheISODate() throws {
        let e = try #require(
            error(M.contract.with("registered_on", #""2025/1/2""#), "registered_on", topic: .techContract))
        #expect(e.code == .period)
        #expect(e.message == #"must be a real date YYYY-MM-DD, not "2025/1/2": write 2025-01-02"#)
        let chinese = try #require(
            error(M.contract.with("registered_on", #""2025年3月9日""#), "registered_on", topic: .techContract))
        #expect(chinese.message.hasSuffix(": write 2025-03-09"))
        // Not a real date: quoted, no guess.
        let impossible = try #require(
            error(M.contract.with("registered_on", #""2025/2/30""#), "registered_on", topic: .techContract))
        #expect(impossible.message == #"must be a real date YYYY-MM-DD, not "2025/2/30""#)
    }

    @Test func chineseLabelNamesTheCode() throws {
        let e = try #require(error(M.contract.with("contract_type", #""技术服务""#), "contract_type", topic: .techContract))
        #expect(e.code == .enumeration)
        #expect(e.message == #"must be one of development, transfer, consulting, service, not "技术服务": write service"#)
        let performer = try #require(error(M.rd.with("performer", #""高等学校""#), "performer"))
        #expect(performer.message.hasSuffix(#"not "高等学校": write higher_education"#))
        let cased = try #require(error(M.rd.with("performer", #""Enterprise_Above_Scale""#), "performer"))
        #expect(cased.message.hasSuffix(": write enterprise_above_scale"))
        let country = try #require(
            error(M.contract.with("buyer_country", #""中国""#), "buyer_country", topic: .techContract))
        #expect(country.code == .enumeration && country.message.hasSuffix(#"not "中国": write CN"#))
        let lower = try #require(
            error(M.contract.with("buyer_country", #""cn""#), "buyer_country", topic: .techContract))
        #expect(lower.message.hasSuffix(": write CN"))
        let unknown = try #require(error(M.rd.with("performer", #""university""#), "performer"))
        #expect(unknown.message.hasSuffix(#", not "university""#))
    }

    @Test func tooManyDecimalsNameTheRounding() throws {
        let e = try #require(error(M.rd.with("expenditure_10k_cny", "12.345600000000001"), "expenditure_10k_cny"))
        #expect(e.code == .precision)
        #expect(
            e.message
                == "must have at most 4 fractional digits, not 12.345600000000001: round to 4 decimal places in the sheet (12.3456)"
        )
        let up = try #require(error(M.rd.with("expenditure_10k_cny", "0.99995"), "expenditure_10k_cny"))
        #expect(up.message.hasSuffix("(1)"))
    }

    @Test func integersAndExponents() throws {
        let year = try #require(error(M.rd.with("year", "2025.0"), "year"))
        #expect(
            year.code == .precision
                && year.message == "must be an integer without a decimal point, not 2025.0: write 2025")
        let half = try #require(
            error(M.profile.with("high_tech_enterprises", "420.5"), "high_tech_enterprises", topic: .countyProfile))
        #expect(half.message.hasSuffix(", not 420.5: write a whole number"))
        let exp = try #require(error(M.rd.with("expenditure_10k_cny", "1.5e3"), "expenditure_10k_cny"))
        #expect(exp.code == .precision && exp.message == "must not be in exponent form, not 1.5e3: write 1500")
        let small = try #require(error(M.rd.with("expenditure_10k_cny", "25E-2"), "expenditure_10k_cny"))
        #expect(small.message.hasSuffix(": write 0.25"))
    }

    @Test func rangeQuotesTheNumber() throws {
        let e = try #require(error(M.rd.with("expenditure_10k_cny", "-5"), "expenditure_10k_cny"))
        #expect(e.code == .range && e.message == "must be between 0 and 10000000000, not -5")
        let long = String(repeating: "9", count: 60)
        let huge = try #require(error(M.rd.with("expenditure_10k_cny", long), "expenditure_10k_cny"))
        #expect(huge.message == "must be between 0 and 10000000000, not " + String(repeating: "9", count: 40) + "…")
    }

    @Test func aCodeSentAsANumberIsQuoted() throws {
        let e = try #require(error(M.contract.with("contract_no", "20250001"), "contract_no", topic: .techContract))
        #expect(
            e.code == .type
                && e.message == #"must be a string, not a number 20250001: write "20250001" in quotes, as a string"#)
    }

    /// Bounded to 40 characters, escaped, and a secret-looking value never shown.
    @Test func valuesAreBoundedEscapedAndNeverSecret() throws {
        let long = String(repeating: "甲", count: 100)
        let e = try #require(error(M.contract.with("contract_no", "\"\(long)\""), "contract_no", topic: .techContract))
        #expect(
            e.message == "must be 1 to 64 characters of A-Z a-z 0-9 - _ . /, not \"" + String(repeating: "甲", count: 40)
                + "…\"")
        let control = try #require(
            error(M.contract.with("contract_no", #""HT\n1""#), "contract_no", topic: .techContract))
        #expect(control.message.hasSuffix(#"not "HT\u{a}1""#))
        let secret = String(repeating: "0123456789abcdef", count: 4)
        let hidden = try #require(
            error(M.contract.with("contract_no", "\"key \(secret)\""), "contract_no", topic: .techContract))
        #expect(!hidden.message.contains(secret.prefix(16)))
        #expect(hidden.message.hasSuffix("(68 bytes, not shown: they look like a secret key)"))
    }

    @Test func helpersAlone() {
        #expect(ValueHint.plainNumber("１２，３４５")?.0 == "12345" && ValueHint.plainNumber("１２，３４５")?.1 == true)
        #expect(ValueHint.plainNumber("12 345.5")?.0 == "12345.5")
        #expect(ValueHint.plainNumber("abc") == nil)
        #expect(ValueHint.plainNumber("1,23") == nil)
        #expect(ValueHint.looseDate("20250102") == CalendarDate(year: 2025, month: 1, day: 2))
        #expect(ValueHint.looseDate("2025-1-2 00:00:00") == CalendarDate(year: 2025, month: 1, day: 2))
        #expect(ValueHint.looseDate("2025.13.1") == nil)
        #expect(Array("-1e-3".utf8).withUnsafeBytes { ValueHint.plainFromExponent($0) } == "-0.001")
        #expect(Array("2e+2".utf8).withUnsafeBytes { ValueHint.plainFromExponent($0) } == "200")
    }
}
