import Testing

@testable import STIProtocol

@Suite struct NumberFormatTests {
    @Test(arguments: [
        (Int128(12_086_000_000), "120.86"),
        (Int128(300_000_000_000), "3000"),
        (Int128(150_000_000), "1.5"),
        (Int128(1), "0.00000001"),
        (Int128(12_345_678), "0.12345678"),
        (Int128(0), "0"),
        (Int128(100_000_000), "1"),
        // Σ of 100,000 contracts of 10^10 万元 each: beyond Int64, still exact.
        (Int128(10_000_000_000_000_000_000), "100000000000"),
        (Int128(10_000_000_000_000_000_001), "100000000000.00000001"),
    ])
    func moneyIsYuanOver10To8(yuan: Int128, expected: String) {
        #expect(NumberFormat.money(yuan: yuan) == expected)
    }

    @Test(arguments: [
        // (numerator, denominator, multiplier, expected)
        (Int128(1), Int128(20_000), Int128(1), "0.0001"),  // 0.00005: a half rounds up
        (Int128(3), Int128(20_000), Int128(1), "0.0002"),  // 0.00015
        (Int128(5), Int128(20_000), Int128(1), "0.0003"),  // 0.00025: away from zero, not to even
        (Int128(-5), Int128(20_000), Int128(1), "-0.0003"),  // away from zero below zero too
        (Int128(5), Int128(-20_000), Int128(1), "-0.0003"),
        (Int128(49_999), Int128(1_000_000_000), Int128(1), "0"),  // 0.000049999 rounds down
        (Int128(1), Int128(3), Int128(100), "33.3333"),
        (Int128(2), Int128(3), Int128(100), "66.6667"),
        (Int128(1), Int128(8), Int128(100), "12.5"),
        (Int128(600_000_000), Int128(750_005_000), Int128(100), "79.9995"),
        (Int128(0), Int128(7), Int128(100), "0"),
        (Int128(7), Int128(7), Int128(100), "100"),
        (Int128(191), Int128(755_000), Int128(10_000), "2.5298"),
        (Int128(99_995), Int128(1_000_000_000), Int128(1), "0.0001"),  // 0.000099995 → 0.0001
        (Int128(999_995), Int128(100_000), Int128(1), "10"),  // 9.99995 carries into the units
    ])
    func ratioRoundsHalfAwayFromZeroAt4Digits(n: Int128, d: Int128, multiplier: Int128, expected: String) {
        #expect(NumberFormat.ratio(numerator: n, denominator: d, multiplier: multiplier) == expected)
    }

    @Test func ratioWithZeroDenominatorIsNil() {
        #expect(NumberFormat.ratio(numerator: 0, denominator: 0, multiplier: 100) == nil)
        #expect(NumberFormat.ratio(numerator: 5, denominator: 0, multiplier: 100) == nil)
        #expect(NumberFormat.scaledQuotient(1, 0, fractionDigits: 2) == nil)
    }

    @Test(arguments: [
        (Int128(0), "0"), (Int128(3000), "3000"), (Int128(1166), "1166"),
        (Int128(Int64.max) * 4, "36893488147419103228"),
    ])
    func countsAreIntegers(n: Int128, expected: String) {
        #expect(NumberFormat.count(n) == expected)
    }

    @Test(arguments: [
        ("120.86", 8, Int128(12_086_000_000)),
        ("3000", 0, Int128(3000)),
        ("1.5", 4, Int128(15_000)),
        ("-10.25", 2, Int128(-1025)),
        ("0.00000001", 8, Int128(1)),
    ])
    func parsesProtocolDecimals(text: String, digits: Int, expected: Int128) {
        #expect(NumberFormat.parseScaled(text, fractionDigits: digits) == expected)
    }

    @Test(arguments: ["", "-", ".5", "5.", "1.2.3", "1e5", "+1", " 1", "1,000", "１２", "1.23456", "0x10"])
    func rejectsAnythingElse(text: String) {
        #expect(NumberFormat.parseScaled(text, fractionDigits: 4) == nil)
    }
}
