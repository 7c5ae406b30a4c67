// The number format of section 7, on exact integers only: money in 亿元 from integer yuan,
// ratios rounded half away from zero to 4 fractional digits, counts as integers.

/// Formats indicator values (section 7 number format). Every input is an exact integer; no
/// binary floating point is involved anywhere.
public enum NumberFormat {
    /// Yuan per 亿元.
    public static let yuanPer100M: Int128 = 100_000_000
    /// Fractional digits of a ratio.
    public static let ratioDigits = 4

    /// Money in 亿元, exactly: `yuan ÷ 10^8` with up to 8 fractional digits (`120.86`, `0.00000001`).
    public static func money(yuan: Int128) -> String { DecimalText.format(yuan, fractionDigits: 8) }

    /// A count as an integer (`3000`).
    public static func count(_ n: Int128) -> String { String(n) }

    /// `numerator ÷ denominator × multiplier`, rounded half away from zero to 4 fractional
    /// digits; nil when the denominator is zero (the indicator is `undefined`).
    public static func ratio(numerator: Int128, denominator: Int128, multiplier: Int128) -> String? {
        guard let scaled = scaledQuotient(numerator * multiplier, denominator, fractionDigits: ratioDigits) else {
            return nil
        }
        return DecimalText.format(scaled, fractionDigits: ratioDigits)
    }

    /// `round(n ÷ d × 10^fractionDigits)`, half away from zero, exactly; nil when `d` is zero.
    public static func scaledQuotient(_ n: Int128, _ d: Int128, fractionDigits: Int) -> Int128? {
        guard d != 0 else { return nil }
        var scale: Int128 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        return roundedQuotient(n * scale, d)
    }

    /// `n ÷ d` rounded to the nearest integer, halves away from zero. `d` must not be zero.
    public static func roundedQuotient(_ n: Int128, _ d: Int128) -> Int128 {
        precondition(d != 0, "roundedQuotient: division by zero")
        let magnitudeN = n.magnitude
        let magnitudeD = d.magnitude
        var q = magnitudeN / magnitudeD
        let r = magnitudeN % magnitudeD
        // r ≥ d − r  ⇔  2r ≥ d, written without doubling so it cannot overflow.
        if r >= magnitudeD - r { q += 1 }
        let negative = (n < 0) != (d < 0)
        return negative ? -Int128(q) : Int128(q)
    }

    /// Parses protocol decimal text (`120.86`, `3000`, optionally `-`) into an integer scaled
    /// by `10^fractionDigits`; nil for anything else or more fractional digits than that.
    /// Used to compare formatted indicator values with plan figures exactly.
    public static func parseScaled(_ text: String, fractionDigits: Int) -> Int128? {
        var s = Substring(text)
        let negative = s.first == "-"
        if negative { s = s.dropFirst() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 30,
            whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        if parts.count == 2 && fraction.isEmpty { return nil }
        guard fraction.count <= fractionDigits, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        fraction += String(repeating: "0", count: fractionDigits - fraction.count)
        guard let v = Int128(String(whole) + fraction) else { return nil }
        return negative ? -v : v
    }
}
