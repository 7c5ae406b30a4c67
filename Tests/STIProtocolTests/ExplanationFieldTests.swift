import Foundation
import Testing

@testable import STIProtocol

private let rd = SampleMessage.rd
private let contract = SampleMessage.contract
private let profile = SampleMessage.profile

/// A JSON string literal of `n` copies of `unit` (raw JSON text inside the quotes).
private func repeated(_ unit: String, _ n: Int) -> String { "\"" + String(repeating: unit, count: n) + "\"" }

/// Section 3's `explanation`: optional on all three schemas, 1 to 2,000 Unicode scalar values,
/// not only white space (Unicode `White_Space`).
let explanationRows: [ValidatorRuleRow] = [
    ValidatorRuleRow("rd with an explanation", rd.with("explanation", "\"新建研发中心投产\""), []),
    ValidatorRuleRow("contract with an explanation", contract.with("explanation", "\"引进重大技术转让项目\""), []),
    ValidatorRuleRow("profile with an explanation", profile.with("explanation", "\"Census revision\""), []),
    ValidatorRuleRow("explanation null is absent", rd.with("explanation", "null"), []),
    ValidatorRuleRow("one character", rd.with("explanation", "\"x\""), []),
    ValidatorRuleRow("white space around text", rd.with("explanation", "\"  新厂投产 \\n\""), []),
    ValidatorRuleRow("2000 ASCII characters", rd.with("explanation", repeated("a", 2000)), []),
    ValidatorRuleRow(
        "2001 ASCII characters", rd.with("explanation", repeated("a", 2001)), [ExpectedError(.range, "explanation")]),
    // Counted in scalars, not bytes (研: 3 bytes) nor UTF-16 units (😀: 2), escapes decoded.
    ValidatorRuleRow("2000 Chinese characters", rd.with("explanation", repeated("研", 2000)), []),
    ValidatorRuleRow(
        "2001 Chinese characters", rd.with("explanation", repeated("研", 2001)), [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow("2000 astral characters", rd.with("explanation", repeated("😀", 2000)), []),
    ValidatorRuleRow("2000 escaped surrogate pairs", rd.with("explanation", repeated(#"\ud83d\ude00"#, 2000)), []),
    ValidatorRuleRow(
        "2001 escaped surrogate pairs", rd.with("explanation", repeated(#"\ud83d\ude00"#, 2001)),
        [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow("2000 escaped characters", rd.with("explanation", repeated(#"\u00e9"#, 2000)), []),
    // A combining sequence is two scalars, though one character to Swift.
    ValidatorRuleRow(
        "1000 e + combining acute is 2000 scalars", rd.with("explanation", repeated("e\u{301}", 1000)), []),
    ValidatorRuleRow(
        "1001 e + combining acute is 2002 scalars", rd.with("explanation", repeated("e\u{301}", 1001)),
        [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow("empty", rd.with("explanation", "\"\""), [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow("one space", rd.with("explanation", "\" \""), [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow(
        "escaped tab, line feed, return", rd.with("explanation", #""\t\n\r""#), [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow(
        "ideographic space U+3000", rd.with("explanation", "\"\u{3000}\u{3000}\""),
        [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow(
        "no-break space, line separator, NEL", rd.with("explanation", "\"\u{A0}\u{2028}\u{85}\""),
        [ExpectedError(.range, "explanation")]),
    // U+200B ZERO WIDTH SPACE is not White_Space in Unicode: it is text as far as the rule goes.
    ValidatorRuleRow("zero-width space is not White_Space", rd.with("explanation", "\"\u{200B}\""), []),
    ValidatorRuleRow("a number", rd.with("explanation", "42"), [ExpectedError(.type, "explanation")]),
    ValidatorRuleRow("an array", contract.with("explanation", #"["新厂"]"#), [ExpectedError(.type, "explanation")]),
    ValidatorRuleRow("a boolean", profile.with("explanation", "true"), [ExpectedError(.type, "explanation")]),
    ValidatorRuleRow("escaped key", rd.with(#"expl\u0061nation"#, "\" \""), [ExpectedError(.range, "explanation")]),
    ValidatorRuleRow(
        "with other errors, reported with them", rd.with("explanation", "\"\"").with("year", "1999"),
        [ExpectedError(.period, "year"), ExpectedError(.range, "explanation")]),
]

@Suite struct ExplanationFieldTests {
    @Test(arguments: explanationRows)
    func rule(_ row: ValidatorRuleRow) {
        let result = ValidatorCheck.run(row.value, topic: row.topic, key: row.key)
        #expect(ValidatorCheck.codes(result) == row.expected, "\(row.name): \(result)")
    }

    @Test func errorsNameTheRule() throws {
        let long = try #require(ValidatorCheck.run(rd.with("explanation", repeated("研", 2001))).rejection)
        #expect(
            long.errors == [
                FieldError(
                    .range, field: "explanation", "must be 1 to 2000 characters (Unicode scalar values), not 2001")
            ])
        let empty = try #require(ValidatorCheck.run(rd.with("explanation", "\"\"")).rejection)
        #expect(
            empty.errors == [
                FieldError(.range, field: "explanation", "must be 1 to 2000 characters (Unicode scalar values), not 0")
            ])
        let blank = try #require(ValidatorCheck.run(rd.with("explanation", "\"\u{3000}\"")).rejection)
        #expect(
            blank.errors == [
                FieldError(.range, field: "explanation", "must not be only white space: say why the figures are right")
            ])
        let number = try #require(ValidatorCheck.run(rd.with("explanation", "1")).rejection)
        #expect(number.errors == [FieldError(.type, field: "explanation", "must be a string, not a number")])
    }

    @Test func theRecordKeepsTheExplanationDecoded() throws {
        let record = try ValidatorCheck.run(rd.with("explanation", #""新建研发中心投产 \u2014 \"A\"\n""#)).get()
        #expect(record.explanation == "新建研发中心投产 \u{2014} \"A\"\n")
        #expect(try ValidatorCheck.run(rd).get().explanation == nil)
        #expect(try ValidatorCheck.run(rd.with("explanation", "null")).get().explanation == nil)
    }

    @Test func theFieldTableCountIsRight() {
        // The validator's slot buffer holds `allCases.count` slots, indexed by `rawValue`.
        #expect(MessageField.allCases.map(\.rawValue) == Array(0..<MessageField.allCases.count))
        for kind in RecordKind.allCases {
            #expect(MessageField.mask(of: kind) & (1 << UInt32(MessageField.explanation.rawValue)) != 0, "\(kind)")
        }
    }

    // MARK: Canonical JSON and the state store

    static let explained = Record(
        county: "530102", revision: 2, submittedAt: "2026-01-15T09:30:00+08:00",
        explanation: "新建研发中心投产, \"quoted\"\t", body: RecordJSONTests.rd.body)

    @Test func canonicalJSONCarriesTheExplanationAfterSubmittedAt() throws {
        let json = Self.explained.canonicalJSON
        #expect(
            json.hasPrefix(
                #"{"schema":"sti.rd/1","county":"530102","revision":2,"status":"active","submitted_at":"2026-01-15T09:30:00+08:00","explanation":"新建研发中心投产, \"quoted\"\t","year":"#
            ))
        #expect(try ValidatorCheck.run(Array(json.utf8)).get() == Self.explained)
        #expect(!RecordJSONTests.rd.canonicalJSON.contains("explanation"))
    }

    @Test func canonicalValuesLeaveTheExplanationOut() {
        var plain = Self.explained
        plain.explanation = nil
        #expect(Self.explained.canonicalValuesKey == plain.canonicalValuesKey)
        #expect(!Self.explained.canonicalValuesKey.contains("explanation"))
        #expect(Self.explained.hasSameValues(as: plain))
    }
}
