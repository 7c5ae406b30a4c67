import Foundation
import Testing

@testable import STIProtocol

private func check(_ bytes: [UInt8], maxDepth: Int = 8) -> JSONSyntaxError? {
    bytes.withUnsafeBytes { StrictJSON.check($0, maxDepth: maxDepth) }
}
private func check(_ text: String) -> JSONSyntaxError? { check(Array(text.utf8)) }

@Suite struct JSONScannerTests {
    @Test(arguments: [
        "{}",
        " {} ",
        "\r\n\t{\r\n\t}\r\n\t",
        #"{"a":1}"#,
        #"{"a":-0,"b":0.5,"c":-1.25e-3,"d":1E+2,"e":123456789012345678901234567890}"#,
        #"{"a":"","b":"\"\\\/\b\f\n\r\t","c":"\u00e9\u4e2d\ud83d\ude00"}"#,
        #"{"a":true,"b":false,"c":null}"#,
        #"{"a":[],"b":{},"c":[1,[2,[3]],{"d":[]}]}"#,
        #"{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}"#,  // 7 containers
        #"{"a":[[[[[[[1]]]]]]]}"#,  // 8: the limit
        #"{"中文":"值","emoji😀":"😀"}"#,
        #"{"a":1,"A":2,"a ":3}"#,  // keys differ
        #"{"x":"\u0000"}"#,
        "{\"a\":\"\u{7F}\"}",
    ])
    func accepts(_ text: String) {
        #expect(check(text) == nil, "\(text)")
    }

    @Test(arguments: [
        ("", "empty value"),
        ("[]", "found an array"),
        ("\"x\"", "found a string"),
        ("-1", "found a number"),
        ("\u{FEFF}{}", "byte-order mark"),
        ("{} {}", "only whitespace may follow"),
        (#"{"a":1,}"#, "trailing comma"),
        (#"{"a":[1,]}"#, "trailing comma"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a":1 "b":2}"#, "expected ','"),
        (#"{"a":01}"#, "leading zero"),
        (#"{"a":-}"#, "digit after '-'"),
        (#"{"a":1.}"#, "digit after '.'"),
        (#"{"a":1e+}"#, "exponent"),
        (#"{"a":"\q"}"#, "invalid escape"),
        (#"{"a":"\ud800"}"#, "lone surrogate"),
        (#"{"a":"\uDFFF"}"#, "lone surrogate"),
        (#"{"a":"\u12"}"#, "four hex digits"),
        ("{\"a\":\"\t\"}", "must be escaped"),
        (#"{"a":"x}"#, "unterminated string"),
        (#"{"a":[1,2"#, "unterminated array"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (#"{"a":1,"\u0061":2}"#, "duplicate key \"a\""),
        (#"{"o":{"b":1,"c":{"d":1,"d":1}}}"#, "duplicate key \"d\""),
        (#"{"a":[[[[[[[[1]]]]]]]]}"#, "nesting deeper than 8"),
        (#"{"a":tru}"#, "expected true"),
        (#"{"a":NaN}"#, "expected a value"),
        ("{'a':1}", "expected a key"),
    ])
    func rejects(_ text: String, reason: String) throws {
        let error = try #require(check(text), "\(text)")
        #expect(error.reason.contains(reason), "\(text): \(error)")
    }

    @Test func errorOffsetPointsAtTheProblem() throws {
        let error = try #require(check(#"{"a":1,"b":x}"#))
        #expect(error.offset == 11)
        #expect(error.description == "expected a value, found 'x' (at byte 11)")
    }

    @Test func duplicateKeysAmongManyAreFoundWhereverTheyAre() {
        for dup in [0, 17, 39] {
            let keys = (0..<40).map { "\"key\($0)\":\($0)" } + ["\"key\(dup)\":0"]
            #expect(check("{" + keys.joined(separator: ",") + "}")?.reason == "duplicate key \"key\(dup)\"")
            #expect(check("{\"n\":{" + keys.joined(separator: ",") + "}}")?.reason == "duplicate key \"key\(dup)\"")
        }
        let distinct = (0..<5000).map { "\"k\($0)\":1" }.joined(separator: ",")
        #expect(check("{" + distinct + "}") == nil)
        // An escaped spelling among many still collides.
        #expect(check("{" + distinct + ",\"\\u006b42\":2}")?.reason == "duplicate key \"k42\"")
    }

    @Test func tenMegabyteNumberLiteralScansLinearly() {
        let literal = [UInt8](repeating: UInt8(ascii: "7"), count: 10_000_000)
        #expect(check(Array(#"{"a":"#.utf8) + literal + Array("}".utf8)) == nil)
        let fraction = Array(#"{"a":0."#.utf8) + literal + Array("e-5}".utf8)
        #expect(check(fraction) == nil)
        // And reading it exactly is a range error, not a crash.
        literal.withUnsafeBytes { #expect(ExactNumber.read($0, scale: 4) == .outOfRange) }
    }

    @Test func hundredThousandBracketsDoNotRecurse() {
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        #expect(check(brackets)?.reason.contains("found an array") == true)
        let inside = Array(#"{"a":"#.utf8) + brackets
        #expect(check(inside)?.reason == "nesting deeper than 8 levels")
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(check(objects)?.reason == "nesting deeper than 8 levels")
    }

    @Test func depthLimitIsAParameter() {
        #expect(check(Array(#"{"a":[1]}"#.utf8), maxDepth: 1)?.reason == "nesting deeper than 1 levels")
        #expect(check(Array(#"{"a":1}"#.utf8), maxDepth: 1) == nil)
    }

    @Test func wordScanFindsEverySpecialByteInEveryPosition() {
        var wrong = 0
        for filler: UInt8 in [0x61, 0x21, 0x80, 0xFF, 0x5D, 0x23] {
            for b in 0...255 {
                for position in 0..<8 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[position] = UInt8(b)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let special = b == 0x22 || b == 0x5C || b < 0x20
                    if JSONScanner.hasSpecialByte(word) != special { wrong += 1 }
                }
            }
        }
        #expect(wrong == 0)
    }

    @Test func stringsOfEveryLengthAroundTheWordSize() {
        for length in 0..<40 {
            let body = String((0..<length).map { Character(Unicode.Scalar(UInt8(0x61 + $0 % 26))) })
            #expect(check("{\"k\":\"" + body + "\"}") == nil)
            if length > 0 {
                var bytes = Array(("{\"k\":\"" + body + "\"}").utf8)
                bytes[6 + length - 1] = 0x01
                #expect(check(bytes)?.offset == 6 + length - 1)
            }
        }
    }

    @Test func invalidUTF8IsRejectedByTheEntryPoint() {
        #expect(check([0x7B, 0x22, 0xC0, 0xAF, 0x22, 0x3A, 0x31, 0x7D])?.reason == "not valid UTF-8")
    }

    @Test func decodesStringsAndComparesKeys() {
        let text = Array(#"{"k":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#.utf8)
        text.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            var visitor = Collect()
            #expect(throws: Never.self) { try scanner.scanTopLevelObject(&visitor) }
            #expect(visitor.values.count == 1)
            if let value = visitor.values.first {
                #expect(scanner.string(value) == "a\"b\\c/d\né😀")
                #expect(scanner.stringEquals(value, Array("a\"b\\c/d\né😀".utf8)))
                #expect(!scanner.stringEquals(value, Array("a\"b\\c/d\né".utf8)))
                #expect(!scanner.stringEquals(value, Array("a\"b\\c/d\né😀!".utf8)))
            }
        }
    }

    private struct Collect: JSONTopLevelVisitor {
        var values: [JSONSpan] = []
        mutating func member(key: JSONSpan, value: JSONSpan, scanner: JSONScanner) throws(JSONSyntaxError) -> Bool {
            values.append(value)
            return false
        }
    }

    // MARK: Exact numbers

    @Test(arguments: [
        ("0", 4, ExactNumber.value(0)),
        ("-0", 4, .value(0)),
        ("-0.0", 4, .value(0)),
        ("0.0001", 4, .value(1)),
        ("100.5", 4, .value(1_005_000)),
        ("100.50", 4, .value(1_005_000)),
        ("-12.3456", 4, .value(-123_456)),
        ("99999999999999.9999", 4, .value(999_999_999_999_999_999)),
        ("100000000000000", 4, .outOfRange),
        ("1.00001", 4, .tooPrecise),
        ("1e3", 4, .exponent),
        ("1.00001e3", 4, .exponent),
        ("2026", 0, .value(2026)),
        ("2026.0", 0, .tooPrecise),
        ("-7", 0, .value(-7)),
        ("1E0", 0, .exponent),
    ])
    func readsExactly(_ literal: String, scale: Int, expected: ExactNumber) {
        Array(literal.utf8).withUnsafeBytes { #expect(ExactNumber.read($0, scale: scale) == expected, "\(literal)") }
    }

    // MARK: UTF-8

    @Test(
        arguments: [
            ([0x41], nil),
            ([0xC2, 0x80], nil),
            ([0xDF, 0xBF], nil),
            ([0xE0, 0xA0, 0x80], nil),
            ([0xED, 0x9F, 0xBF], nil),
            ([0xEE, 0x80, 0x80], nil),
            ([0xF0, 0x90, 0x80, 0x80], nil),
            ([0xF4, 0x8F, 0xBF, 0xBF], nil),
            ([0xC1, 0xBF], 0),
            ([0xE0, 0x9F, 0xBF], 0),
            ([0xED, 0xA0, 0x80], 0),
            ([0xF0, 0x8F, 0xBF, 0xBF], 0),
            ([0xF4, 0x90, 0x80, 0x80], 0),
            ([0xF8, 0x88, 0x80, 0x80, 0x80], 0),
            ([0x41, 0x42, 0x80], 2),
            ([0xE4, 0xB8], 0),
            ([0xE4, 0x41, 0x80], 0),
            ([0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0xFF], 9),
        ] as [([UInt8], Int?)])
    func utf8(_ bytes: [UInt8], firstBad: Int?) {
        bytes.withUnsafeBytes { #expect(UTF8Validation.firstInvalidOffset($0) == firstBad, "\(bytes)") }
    }

    @Test func utf8AgreesWithTheStandardLibrary() {
        // Every 1-, 2- and 3-byte sequence over an interesting byte set.
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
            0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ]
        var mismatches = 0
        for a in interesting {
            for b in interesting {
                for c in interesting {
                    for bytes in [[a], [a, b], [a, b, c]] {
                        let ours = bytes.withUnsafeBytes { UTF8Validation.isValid($0) }
                        let stdlib = String(validating: bytes, as: UTF8.self) != nil
                        if ours != stdlib { mismatches += 1 }
                    }
                }
            }
        }
        #expect(mismatches == 0)
    }

    // MARK: Trees (configuration files)

    @Test func parsesATree() throws {
        let text = Array(#"{"keys":[{"id":"a","n":1.50,"ok":true,"no":null}],"e":{}}"#.utf8)
        let tree = try text.withUnsafeBytes { try JSONValue.parseObject($0) }
        #expect(
            tree
                == .object([
                    JSONMember(
                        key: "keys",
                        value: .array([
                            .object([
                                JSONMember(key: "id", value: .string("a")),
                                JSONMember(key: "n", value: .number("1.50")),
                                JSONMember(key: "ok", value: .bool(true)), JSONMember(key: "no", value: .null),
                            ])
                        ])),
                    JSONMember(key: "e", value: .object([])),
                ]))
        #expect(tree["e"] == .object([]))
        #expect(tree["missing"] == nil)
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate key"),
        (#"{"a":[{"b":1,"b":1}]}"#, "duplicate key"),
        ("[]", "must be one JSON object"),
        ("\u{FEFF}{}", "byte-order mark"),
        (#"{"a":1} x"#, "only whitespace"),
        (#"{"a":"\udc00"}"#, "lone surrogate"),
        (#"{"a":[[[[[[[[1]]]]]]]]}"#, "nesting deeper"),
        (#"{"a":[1,]}"#, "trailing comma"),
    ])
    func treeRejects(_ text: String, reason: String) {
        let result = Array(text.utf8).withUnsafeBytes { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValue in try JSONValue.parseObject(buffer) }
        }
        switch result {
        case .success: Issue.record("\(text) was accepted")
        case .failure(let error): #expect(error.reason.contains(reason), "\(text): \(error)")
        }
    }

    @Test func errorTextIsShortAndEscaped() {
        #expect(ErrorText.quoted("a\"b\n") == #""a\"b\u{a}""#)
        #expect(
            ErrorText.quoted(String(repeating: "x", count: 100)) == "\"" + String(repeating: "x", count: 64) + "…\"")
        #expect(
            [UInt8]([0xFF, 0x00]).withUnsafeBytes { ErrorText.describeBytes($0) } == "(2 bytes, not printable text)")
        #expect(Array("530102".utf8).withUnsafeBytes { ErrorText.describeBytes($0) } == "\"530102\"")
    }
}
