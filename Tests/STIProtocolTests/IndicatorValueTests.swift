import Testing

@testable import STIProtocol

/// Indicator values stay exact until written (issue 12 point 3): the row holds the scaled
/// integer, the text is made by the writer, and the plan comparison reads the integer instead
/// of parsing the text back.
@Suite struct IndicatorValueTests {
    @Test func valuesAreExactAndFormattedOnlyAsText() {
        let money = IndicatorValue(scaled: 12_086_000_000, fractionDigits: 8)
        #expect(money.text == "120.86")
        #expect(money == IndicatorValue(text: "120.86"))
        #expect(money.scaled(toFractionDigits: 8) == 12_086_000_000)
        #expect(money.scaled(toFractionDigits: 1) == nil)
        #expect(IndicatorValue(scaled: 1, fractionDigits: 8).text == "0.00000001")
        #expect(IndicatorValue(text: "3000")?.scaled(toFractionDigits: 0) == 3000)
        #expect(IndicatorValue(text: "1e3") == nil && IndicatorValue(text: "") == nil)
    }

    @Test func computedRowsCarryTheExactValue() {
        var book = AggregateBook()
        _ = book.add(
            Record(
                county: "530102", revision: 1, submittedAt: "2026-01-15T09:30:00+08:00",
                body: .rd(RDExpenditure(year: 2025, performer: .other, expenditure: ExactAmount(scaled: 123_456_789)))))
        let rows = computeIndicators(book: book, registry: .kunming)
        let rd = rows.first { $0.geoCode == "530102" && $0.indicator == .rdExpenditure }
        // 12,345.6789 万元 = 123,456,789 yuan = 1.23456789 亿元, exactly.
        #expect(rd?.exact == IndicatorValue(scaled: 123_456_789, fractionDigits: 8))
        #expect(rd?.value == "1.23456789")
    }
}
