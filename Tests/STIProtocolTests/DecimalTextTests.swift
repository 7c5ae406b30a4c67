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

    /// The byte form equals a reference computed from the integer's own digits, for values
    /// around every power of ten and the extremes.
    @Test func appendedDigitsMatchAReference() {
        func reference(_ v: Int64, _ digits: Int) -> String {
            var s = String(v.magnitude)
            if s.count <= digits { s = String(repeating: "0", count: digits - s.count + 1) + s }
            var whole = String(s.dropLast(digits))
            var fraction = String(s.suffix(digits))
            while fraction.hasSuffix("0") { fraction.removeLast() }
            if v < 0 { whole = "-" + whole }
            return fraction.isEmpty ? whole : whole + "." + fraction
        }
        var values: [Int64] = [0, 1, -1, Int64.max, Int64.min + 1, Int64.min]
        var p: Int64 = 1
        for _ in 0..<18 {
            p *= 10
            values += [p - 1, p, p + 1, -p, p / 2 + 7]
        }
        for v in values {
            for digits in [0, 1, 4, 8] {
                var bytes: [UInt8] = []
                DecimalText.append(v, fractionDigits: digits, to: &bytes)
                #expect(String(decoding: bytes, as: UTF8.self) == reference(v, digits), "\(v) / 10^\(digits)")
                #expect(DecimalText.format(Int128(v), fractionDigits: digits) == reference(v, digits))
            }
        }
    }
}
