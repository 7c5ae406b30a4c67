import Foundation
import Testing

@testable import STIProtocol

/// One malformed message and the codes it must get (and nothing must crash).
struct HostileCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var codes: [ErrorCode]
    var testDescription: String { name }
    init(_ name: String, _ bytes: [UInt8], _ codes: [ErrorCode]) {
        self.name = name
        self.bytes = bytes
        self.codes = codes
    }
    init(_ name: String, _ text: String, _ codes: [ErrorCode]) { self.init(name, Array(text.utf8), codes) }
}

private let head =
    #"{"schema":"sti.rd/1","county":"530102","revision":1,"submitted_at":"2026-01-15T09:30:00+08:00","year":2025,"performer":"other","#
private let validTail = #""expenditure_10k_cny":5}"#
private func b(_ s: String) -> [UInt8] { Array(s.utf8) }
/// A valid rd message with `bytes` spliced into the string value of an unknown field `x`.
private func inString(_ bytes: [UInt8]) -> [UInt8] { b(head + #""x":""#) + bytes + b("\"," + validTail) }
/// A valid rd message whose expenditure is `literal`.
private func amount(_ literal: String) -> [UInt8] { b(head + #""expenditure_10k_cny":"# + literal + "}") }
/// A valid rd message with an extra member `x` whose value is `raw`.
private func extra(_ raw: String) -> [UInt8] { b(head + #""x":"# + raw + "," + validTail) }

/// Deterministic pseudo-random bytes (xorshift), so the corpus is the same on every run.
private func garbage(count: Int, seed: UInt64) -> [UInt8] {
    var x = seed
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

let hostileCorpus: [HostileCase] = [
    // Not JSON at all.
    HostileCase("empty value", [], [.json]),
    HostileCase("only whitespace", " \r\n\t", [.json]),
    HostileCase("binary garbage", garbage(count: 512, seed: 0x9E37_79B9_7F4A_7C15), [.encoding]),
    HostileCase("binary garbage, ASCII range", garbage(count: 512, seed: 42).map { $0 & 0x7F }, [.json]),
    HostileCase("a NUL byte", [0], [.json]),
    HostileCase("NUL bytes after the object", b(head + validTail) + [0, 0], [.json]),
    HostileCase("raw NUL in a string", inString([0x41, 0x00, 0x42]), [.json]),
    HostileCase("raw tab in a string", inString([0x09]), [.json]),
    HostileCase("raw newline in a string", inString([0x0A]), [.json]),
    HostileCase("raw DEL in a string is allowed", inString([0x7F]), [.fieldUnknown]),

    // Invalid UTF-8.
    HostileCase("overlong '/' (C0 AF)", inString([0xC0, 0xAF]), [.encoding]),
    HostileCase("overlong NUL (C0 80)", inString([0xC0, 0x80]), [.encoding]),
    HostileCase("overlong 3-byte (E0 80 AF)", inString([0xE0, 0x80, 0xAF]), [.encoding]),
    HostileCase("overlong 4-byte (F0 80 80 AF)", inString([0xF0, 0x80, 0x80, 0xAF]), [.encoding]),
    HostileCase("UTF-8-encoded high surrogate (ED A0 80)", inString([0xED, 0xA0, 0x80]), [.encoding]),
    HostileCase("UTF-8-encoded low surrogate (ED B0 80)", inString([0xED, 0xB0, 0x80]), [.encoding]),
    HostileCase("CESU-8 pair", inString([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]), [.encoding]),
    HostileCase("above U+10FFFF (F4 90 80 80)", inString([0xF4, 0x90, 0x80, 0x80]), [.encoding]),
    HostileCase("F5 lead byte", inString([0xF5, 0x80, 0x80, 0x80]), [.encoding]),
    HostileCase("FF byte", inString([0xFF]), [.encoding]),
    HostileCase("lone continuation byte", inString([0x80]), [.encoding]),
    HostileCase("truncated 2-byte at the end", b(head + validTail) + [0xC3], [.encoding]),
    HostileCase("truncated 3-byte before a quote", inString([0xE4, 0xB8]), [.encoding]),
    HostileCase("truncated 4-byte before a quote", inString([0xF0, 0x9F, 0x98]), [.encoding]),
    HostileCase("valid 4-byte character", inString([0xF0, 0x9F, 0x98, 0x80]), [.fieldUnknown]),

    // Escapes.
    HostileCase("escaped lone high surrogate", extra(#""\ud800""#), [.json]),
    HostileCase("escaped lone low surrogate", extra(#""\udc00""#), [.json]),
    HostileCase("high surrogate then a letter", extra(#""\ud800\u0041""#), [.json]),
    HostileCase("high surrogate then high surrogate", extra(#""\ud800\ud800""#), [.json]),
    HostileCase("reversed surrogate pair", extra(#""\udc00\ud800""#), [.json]),
    HostileCase("high surrogate at the string end", extra(#""ab\uD83D""#), [.json]),
    HostileCase("lone surrogate in a key", b(head + #""\ud800":1,"# + validTail), [.json]),
    HostileCase("valid surrogate pair", extra(#""\ud83d\ude00""#), [.fieldUnknown]),
    HostileCase("escaped NUL is valid JSON", extra(#""\u0000""#), [.fieldUnknown]),
    HostileCase("invalid escape \\x", extra(#""\x41""#), [.json]),
    HostileCase("invalid escape \\U", extra(#""\U0041""#), [.json]),
    HostileCase("short \\u escape", extra(#""\u12""#), [.json]),
    HostileCase("non-hex \\u escape", extra(#""\u12G4""#), [.json]),
    HostileCase("backslash at the end", b(head + #""x":"\"#), [.json]),

    // Duplicate keys.
    HostileCase("duplicate known key", b(head + #""year":2025,"# + validTail), [.json]),
    HostileCase("duplicate key via escape", b(head + #""ye\u0061r":2025,"# + validTail), [.json]),
    HostileCase("duplicate unknown key", b(head + #""x":1,"x":2,"# + validTail), [.json]),
    HostileCase("duplicate null members", b(head + #""x":null,"x":null,"# + validTail), [.json]),
    HostileCase("duplicate key in a nested object", extra(#"{"a":1,"b":{"c":1,"c":2}}"#), [.json]),
    HostileCase(
        "duplicate key among many (sorted path)",
        extra("{" + (0..<40).map { "\"k\($0)\":1" }.joined(separator: ",") + ",\"k7\":2}"), [.json]),
    HostileCase("duplicate schema", b(#"{"schema":"sti.rd/1","schema":"sti.rd/1"}"#), [.json]),
    HostileCase("same key in sibling objects is fine", extra(#"[{"a":1},{"a":1}]"#), [.fieldUnknown]),

    // Huge numbers and strings.
    HostileCase(
        "10 MB number literal", b(#"{"expenditure_10k_cny":"#) + [UInt8](repeating: 0x39, count: 10_000_000) + b("}"),
        [.size]),
    HostileCase("10,000-digit amount", amount("1" + String(repeating: "0", count: 10_000)), [.range]),
    HostileCase("10,000-digit negative amount", amount("-1" + String(repeating: "0", count: 10_000)), [.range]),
    HostileCase("10,000-digit fraction", amount("0." + String(repeating: "1", count: 10_000)), [.precision]),
    HostileCase("10,000-digit exponent", amount("1e" + String(repeating: "9", count: 10_000)), [.precision]),
    HostileCase(
        "10,000-digit year",
        b(
            head.replacingOccurrences(of: "\"year\":2025", with: "\"year\":" + String(repeating: "7", count: 10_000))
                + validTail), [.period]),
    HostileCase(
        "60,000-character county",
        b(#"{"schema":"sti.rd/1","county":""# + String(repeating: "9", count: 60_000) + #""}"#),
        [.fieldMissing, .county, .keyMismatch]),
    HostileCase(
        "60,000-character key", b(head + "\"" + String(repeating: "k", count: 60_000) + "\":1," + validTail),
        [.fieldUnknown]),
    HostileCase(
        "six thousand unknown keys", b(head + (0..<6_000).map { "\"u\($0)\":1," }.joined() + validTail), [.fieldUnknown]
    ),

    // Nesting.
    HostileCase("8 levels is the limit", extra("[[[[[[[1]]]]]]]"), [.fieldUnknown]),
    HostileCase("9 levels", extra("[[[[[[[[1]]]]]]]]"), [.json]),
    HostileCase(
        "9 levels of objects", extra(String(repeating: #"{"a":"#, count: 8) + "1" + String(repeating: "}", count: 8)),
        [.json]),
    HostileCase("100,000 '[' (too long)", [UInt8](repeating: 0x5B, count: 100_000), [.size]),
    HostileCase("60,000 '[' in a member", b(#"{"x":"#) + [UInt8](repeating: 0x5B, count: 60_000), [.json]),
    HostileCase("60,000 '{' at the top", [UInt8](repeating: 0x7B, count: 60_000), [.json]),

    // Not one object.
    HostileCase("byte-order mark before the object", [0xEF, 0xBB, 0xBF] + b(head + validTail), [.json]),
    HostileCase("top-level array", "[" + head + validTail + "]", [.json]),
    HostileCase("top-level string", "\"sti.rd/1\"", [.json]),
    HostileCase("top-level number", "42", [.json]),
    HostileCase("top-level null", "null", [.json]),
    HostileCase("top-level true", "true", [.json]),
    HostileCase("two objects", head + validTail + "{}", [.json]),
    HostileCase("text after the object", head + validTail + "x", [.json]),
    HostileCase("unterminated object", head + #""expenditure_10k_cny":5"#, [.json]),
    HostileCase("unterminated string", #"{"schema":"sti.rd/1"#, [.json]),
    HostileCase("trailing comma in the object", head + #""expenditure_10k_cny":5,}"#, [.json]),
    HostileCase("trailing comma in an array", String(decoding: extra("[1,2,]"), as: UTF8.self), [.json]),
    HostileCase("leading comma", #"{,"schema":"sti.rd/1"}"#, [.json]),
    HostileCase("missing comma", #"{"schema":"sti.rd/1" "county":"530102"}"#, [.json]),
    HostileCase("missing colon", #"{"schema" "sti.rd/1"}"#, [.json]),
    HostileCase("single quotes", #"{'schema':'sti.rd/1'}"#, [.json]),
    HostileCase("unquoted key", #"{schema:"sti.rd/1"}"#, [.json]),
    HostileCase("number as key", #"{1:"sti.rd/1"}"#, [.json]),
    HostileCase("line comment", head + String(validTail.dropLast()) + "// c\n}", [.json]),
    HostileCase("block comment", "/* c */" + head + validTail, [.json]),
    HostileCase("NaN", String(decoding: amount("NaN"), as: UTF8.self), [.json]),
    HostileCase("Infinity", String(decoding: amount("Infinity"), as: UTF8.self), [.json]),
    HostileCase("-Infinity", String(decoding: amount("-Infinity"), as: UTF8.self), [.json]),
    HostileCase("leading zero", String(decoding: amount("0123"), as: UTF8.self), [.json]),
    HostileCase("leading plus", String(decoding: amount("+1"), as: UTF8.self), [.json]),
    HostileCase("bare fraction .5", String(decoding: amount(".5"), as: UTF8.self), [.json]),
    HostileCase("bare point 5.", String(decoding: amount("5."), as: UTF8.self), [.json]),
    HostileCase("hex number", String(decoding: amount("0x10"), as: UTF8.self), [.json]),
    HostileCase("exponent without digits", String(decoding: amount("1e"), as: UTF8.self), [.json]),
    HostileCase("minus alone", String(decoding: amount("-"), as: UTF8.self), [.json]),
    HostileCase("True capitalised", String(decoding: extra("True"), as: UTF8.self), [.json]),
    HostileCase("nul instead of null", String(decoding: extra("nul"), as: UTF8.self), [.json]),
    HostileCase("no-break space as whitespace", "{\u{00A0}\"schema\":\"sti.rd/1\"}", [.json]),
    HostileCase("form feed as whitespace", "{\u{0C}\"schema\":\"sti.rd/1\"}", [.json]),
    HostileCase("value 65,537 bytes of spaces", [UInt8](repeating: 0x20, count: 65_537), [.size]),

    // Valid JSON, wrong content.
    HostileCase("empty object", "{}", [.schema]),
    HostileCase("schema with escaped NUL", #"{"schema":"sti.rd/1\u0000"}"#, [.schema]),
    HostileCase("schema only", #"{"schema":"sti.rd/1"}"#, [.fieldMissing]),
    HostileCase(
        "every field null",
        #"{"schema":"sti.rd/1","county":null,"revision":null,"submitted_at":null,"year":null,"performer":null,"expenditure_10k_cny":null}"#,
        [.fieldMissing]),
    HostileCase(
        "every field the wrong type",
        #"{"schema":"sti.rd/1","county":[],"revision":{},"submitted_at":true,"year":"x","performer":1,"expenditure_10k_cny":"1"}"#,
        [.type]),
]

@Suite struct MessageValidatorHostileTests {
    @Test func corpusIsLargeEnough() { #expect(hostileCorpus.count >= 50) }

    @Test(arguments: hostileCorpus)
    func hostileMessage(_ c: HostileCase) {
        let result = ValidatorCheck.run(c.bytes)
        switch result {
        case .success(let record): Issue.record("\(c.name) was accepted as \(record)")
        case .failure(let f):
            #expect(f.codes == c.codes, "\(c.name): \(f.errors.prefix(5))")
            // Error texts stay short whatever the input.
            #expect(f.errors.allSatisfy { $0.message.utf8.count < 400 && ($0.field?.utf8.count ?? 0) < 100 })
        }
    }
}
