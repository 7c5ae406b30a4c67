// The value seen and the fix, appended to a validation error's rule (issue 15 point 3):
//
//     must be a number, not a string "1,234.5": write 1234.5 without thousands separators
//     must be a real date YYYY-MM-DD, not "2025/1/2": write 2025-01-02
//     must be one of development, transfer, consulting, service, not "技术服务": write service
//     must have at most 4 fractional digits, not 12.345600000000001: round to 4 decimal places in the sheet (12.3456)
//
// Section 6's notice carries `code`, `field` and `message` per error; the value and the fix go
// into `message`, after the rule, so the notice's format is unchanged. Values are bounded (40
// characters, then `…`) and escaped (`ErrorText.quoted`); a string holding 32 or more hex
// digits in a row (a pasted secret) is never shown. Only the payload's own field values are
// quoted: headers (key id, signature) never are.

enum ValueHint {
    static let limit = 40

    /// A string value as it may be shown: bounded, escaped, never a secret.
    static func quoted(_ text: String) -> String {
        var copy = text
        let secretLike = copy.withUTF8 { ErrorText.hasHexRun(UnsafeRawBufferPointer($0), length: 32) }
        if secretLike { return "(\(text.utf8.count) bytes, not shown: they look like a secret key)" }
        return ErrorText.quoted(text, limit: limit, byteLimit: 4 * limit)
    }

    /// A number literal (ASCII, already checked by the scanner), bounded.
    static func literal(_ bytes: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return bytes.count > limit ? text + "…" : text
    }

    /// For a number field given a string: the string, and how to write it as a number when
    /// it is one in spreadsheet form (thousands separators, full-width digits, quotes).
    static func forNumberText(_ text: String) -> String {
        let shown = " " + quoted(text)
        guard let (number, hadSeparators) = plainNumber(text) else { return shown }
        return shown
            + (hadSeparators
                ? ": write \(number) without thousands separators" : ": write \(number) as a number, without quotes")
    }

    /// For a string field given a number: the literal, and the fix (quote it).
    static func forBareNumber(_ literal: String) -> String {
        let shown = literal.count > limit ? String(literal.prefix(limit)) + "…" : literal
        guard literal.count <= limit else { return " " + shown }
        return " \(shown): write \"\(literal)\" in quotes, as a string"
    }

    /// For an enumerated field (or the buyer country): the value, and the code when the value
    /// is a Chinese label or a code in the wrong case or with spaces around it.
    static func forCode(_ text: String, field: MessageField) -> String {
        let shown = ", not " + quoted(text)
        if let code = RecordCatalogue.code(forLabel: text, field: field) { return shown + ": write \(code)" }
        let trimmed = RecordCatalogue.normalizedHeader(text)
        if field == .buyerCountry {
            let upper = trimmed.uppercased()
            if upper.utf8.count == 2, upper.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
                return shown + ": write \(upper)"
            }
            return shown
        }
        let folded = trimmed.lowercased().replacingSpacesAndHyphens()
        if let v = RecordCatalogue.spec(field).values.first(where: { $0.code == folded }) {
            return shown + ": write \(v.code)"
        }
        return shown
    }

    /// For a date that is not `YYYY-MM-DD`: the value, and the date in that form when the
    /// value is a real date written another common way (`2025/1/2`, `2025.1.2`, `2025-1-2`,
    /// `20250102`, `2025年1月2日`, any of them followed by a time of day).
    static func forDate(_ text: String) -> String {
        let shown = ", not " + quoted(text)
        guard let date = looseDate(text) else { return shown }
        return shown + ": write \(date)"
    }

    /// For an integer field given a decimal point (`2026.0`): the literal, and the integer
    /// when the fraction is zero.
    static func forFraction(_ bytes: UnsafeRawBufferPointer) -> String {
        let shown = ", not " + literal(bytes)
        guard let point = bytes.firstIndex(of: UInt8(ascii: ".")), bytes.count <= limit else { return shown }
        let fraction = bytes[(point + 1)...]
        if fraction.allSatisfy({ $0 == UInt8(ascii: "0") }) {
            return shown + ": write \(String(decoding: bytes[..<point], as: UTF8.self))"
        }
        return shown + ": write a whole number"
    }

    /// For more than 4 fractional digits: the literal, and the value rounded half up to 4
    /// (what the sheet should hold; the validator never rounds silently).
    static func forRounding(_ bytes: UnsafeRawBufferPointer) -> String {
        let shown = ", not " + literal(bytes)
        guard let rounded = roundedTo4(bytes) else { return shown + ": round to 4 decimal places in the sheet" }
        return shown + ": round to 4 decimal places in the sheet (\(rounded))"
    }

    /// For exponent form: the literal, and the plain decimal when it is short.
    static func forExponent(_ bytes: UnsafeRawBufferPointer) -> String {
        let shown = ", not " + literal(bytes)
        guard let plain = plainFromExponent(bytes) else { return shown + ": write it without an exponent" }
        return shown + ": write \(plain)"
    }

    // MARK: Parsing helpers

    /// `"1,234.5"` → ("1234.5", true); `" １２ "` → ("12", false); nil when it is no number.
    /// Commas (ASCII or full-width) count as thousands separators only in groups of three.
    static func plainNumber(_ text: String) -> (String, Bool)? {
        let t = RecordCatalogue.normalizedHeader(text)  // trims, full-width digits and commas to ASCII
        guard !t.isEmpty, t.utf8.count <= 64 else { return nil }
        var out = ""
        var separators = false
        var body = Substring(t)
        if body.hasPrefix("-") {
            out = "-"
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        if whole.contains(",") || whole.contains(" ") {
            let groups = whole.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "," || $0 == " " })
            guard let first = groups.first, (1...3).contains(first.count),
                groups.dropFirst().allSatisfy({ $0.count == 3 })
            else { return nil }
            separators = true
            out += groups.joined()
        } else {
            out += whole
        }
        if parts.count == 2 { out += "." + parts[1] }
        return isNumber(out) ? (out, separators) : nil
    }

    /// RFC 8259 number without exponent.
    static func isNumber(_ s: String) -> Bool {
        var u = Substring(s).utf8[...]
        if u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        let isDigit: (UInt8) -> Bool = { $0 &- UInt8(ascii: "0") < 10 }
        let whole = u.prefix(while: isDigit)
        guard !whole.isEmpty, whole.count == 1 || whole.first != UInt8(ascii: "0") else { return false }
        u = u.dropFirst(whole.count)
        if u.isEmpty { return true }
        guard u.first == UInt8(ascii: ".") else { return false }
        u = u.dropFirst()
        return !u.isEmpty && u.allSatisfy(isDigit)
    }

    static func looseDate(_ text: String) -> CalendarDate? {
        var t = RecordCatalogue.normalizedHeader(text)
        if let cut = t.firstIndex(where: { $0 == " " || $0 == "T" }) { t = String(t[..<cut]) }
        t = t.replacingOccurrences(of: "日", with: "")
        let numbers = t.split(omittingEmptySubsequences: false, whereSeparator: { "/.-年月".contains($0) })
        var y = 0
        var m = 0
        var d = 0
        if numbers.count == 3, numbers[0].count == 4, (1...2).contains(numbers[1].count),
            (1...2).contains(numbers[2].count),
            let a = Int(numbers[0]), let b = Int(numbers[1]), let c = Int(numbers[2])
        {
            (y, m, d) = (a, b, c)
        } else if numbers.count == 1, t.count == 8, t.allSatisfy(\.isASCII), let all = Int(t) {
            (y, m, d) = (all / 10_000, all / 100 % 100, all % 100)
        } else {
            return nil
        }
        let date = CalendarDate(year: y, month: m, day: d)
        return CalendarDate.parse(date.description) == date ? date : nil
    }

    /// The literal rounded half up to 4 fractional digits, in canonical form.
    static func roundedTo4(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count <= 64, !bytes.contains(UInt8(ascii: "e")), !bytes.contains(UInt8(ascii: "E")) else {
            return nil
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let negative = text.hasPrefix("-")
        let parts = text.drop(while: { $0 == "-" }).split(
            separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 14, let whole = Int128(parts[0]) else { return nil }
        let digits = Array(parts[1].utf8).map { Int128($0 &- UInt8(ascii: "0")) }
        var scaled = whole
        for k in 0..<4 { scaled = scaled * 10 + (k < digits.count ? digits[k] : 0) }
        if digits.count > 4, digits[4] >= 5 { scaled += 1 }
        return DecimalText.format(negative ? -scaled : scaled, fractionDigits: 4)
    }

    /// `1e3` → `1000`, `1.5E-2` → `0.015`, when the exponent is at most 20 in magnitude.
    static func plainFromExponent(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count <= 64 else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }),
            let exponent = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: "")),
            abs(exponent) <= 20
        else { return nil }
        var mantissa = Substring(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits = String(parts[0]) + (parts.count == 2 ? String(parts[1]) : "")
        let point = parts[0].count + exponent  // digits before the point
        var whole: String
        var fraction: String
        if point <= 0 {
            whole = "0"
            fraction = String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            whole = digits + String(repeating: "0", count: point - digits.count)
            fraction = ""
        } else {
            whole = String(digits.prefix(point))
            fraction = String(digits.dropFirst(point))
        }
        whole = String(whole.drop(while: { $0 == "0" }))
        if whole.isEmpty { whole = "0" }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let plain = whole + (fraction.isEmpty ? "" : "." + fraction)
        return (negative && plain != "0" ? "-" : "") + plain
    }
}

extension String {
    /// `Enterprise Above-Scale` → `enterprise_above_scale` style: spaces and hyphens to `_`.
    func replacingSpacesAndHyphens() -> String {
        String(map { $0 == " " || $0 == "-" ? "_" : $0 })
    }
}
