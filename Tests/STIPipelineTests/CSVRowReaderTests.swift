import Testing

@testable import STIPipeline

/// The feed reader's CSV rows (RFC 4180), and its refusal of malformed quoting, which CSV.swift
/// 2.5 (the reader it replaced) silently turned into other cells (issue 11, point 17).
@Suite struct CSVRowReaderTests {
    static func rows(_ text: String) throws(CSVQuotingError) -> [[String]] {
        var text = text
        let result: Result<[[String]], CSVQuotingError> = text.withUTF8 { utf8 in
            var reader = CSVRowReader(utf8)
            var rows: [[String]] = []
            do throws(CSVQuotingError) {
                while let row = try reader.next() { rows.append(row) }
            } catch { return .failure(error) }
            return .success(rows)
        }
        return try result.get()
    }

    @Test(
        arguments: [
            ("", []),
            ("a", [["a"]]),
            ("a,b\nc,d\n", [["a", "b"], ["c", "d"]]),
            ("a,b\r\nc\rd", [["a", "b"], ["c"], ["d"]]),
            ("a,", [["a", ""]]),
            (",", [["", ""]]),
            ("\n\n", [[""], [""]]),
            ("\"a,b\",\"say \"\"hi\"\"\"\n", [["a,b", "say \"hi\""]]),
            ("\"line\nbreak\",x", [["line\nbreak", "x"]]),
            ("\"a\"\r\nb", [["a"], ["b"]]),
            ("\"a\"\rb", [["a"], ["b"]]),
            ("a,\"\"", [["a", ""]]),
            (" 五华区 ,\t", [[" 五华区 ", "\t"]]),
            ("\"\"", [[""]]),
            ("\"\"\"\"", [["\""]]),
        ] as [(String, [[String]])])
    func readsWellFormedText(_ text: String, _ expected: [[String]]) throws {
        #expect(try Self.rows(text) == expected, "\(text.debugDescription)")
    }

    @Test(
        arguments: [
            // A quote inside a field that does not start with one.
            ("a\"b,\"\"", CSVQuotingError(kind: .quoteInUnquotedField, line: 1, column: 2, field: 1)),
            ("x,y\nab\"c,d\n", CSVQuotingError(kind: .quoteInUnquotedField, line: 2, column: 3, field: 1)),
            ("x,y\r\n1, \"2\"\r\n", CSVQuotingError(kind: .quoteInUnquotedField, line: 2, column: 4, field: 2)),
            ("五华,区\"", CSVQuotingError(kind: .quoteInUnquotedField, line: 1, column: 5, field: 2)),
            // Text after a closing quote (CSV.swift kept the quote and dropped the character).
            ("\"a\"b,c", CSVQuotingError(kind: .textAfterClosingQuote, line: 1, column: 4, field: 1)),
            ("\"a\"五,c\",d", CSVQuotingError(kind: .textAfterClosingQuote, line: 1, column: 4, field: 1)),
            ("h\r\n\"multi\nline\" x", CSVQuotingError(kind: .textAfterClosingQuote, line: 3, column: 6, field: 1)),
            ("h\r\"cr\rline\"x", CSVQuotingError(kind: .textAfterClosingQuote, line: 3, column: 6, field: 1)),
            // A quoted field open at the end of the text: the line and column where it opened.
            ("\"", CSVQuotingError(kind: .unterminatedQuote, line: 1, column: 1, field: 1)),
            (
                "a,b\n1,\"open to the end\n2,3\n",
                CSVQuotingError(kind: .unterminatedQuote, line: 2, column: 3, field: 2)
            ),
            ("a\r\n\"x\"\"\r\n", CSVQuotingError(kind: .unterminatedQuote, line: 2, column: 1, field: 1)),
        ] as [(String, CSVQuotingError)])
    func refusesMalformedQuoting(_ text: String, _ expected: CSVQuotingError) {
        let error = #expect(throws: CSVQuotingError.self) { try Self.rows(text) }
        #expect(error == expected, "\(text.debugDescription)")
    }
}
