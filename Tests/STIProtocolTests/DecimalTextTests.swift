import Testing

@testable import STIProtocol

@Suite struct DecimalTextTests {
    @Test(arguments: [
        (Int128(1_208_600_000), 8, "12.086"),
        (Int128(300_000_000_000), 8, "3000"),
        (Int128(15), 1, "1.5"),
        (Int128(1), 8, "0.00000001"),
        (Int128(0), 4, "0"),
        (Int128(-105), 2, "-1.05"),
    ])
    func formatsExactly(value: Int128, digits: Int, expected: String) {
        #expect(DecimalText.format(value, fractionDigits: digits) == expected)
    }

    @Test func amountDescriptionDropsTrailingZeros() {
        #expect(ExactAmount(scaled: 1_005_000).description == "100.5")
    }
}
