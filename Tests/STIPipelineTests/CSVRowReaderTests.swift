import Testing
@testable import STIPipeline

/// The feed reader's CSV rows, quirks included: the same rows CSV.swift 2.5 read (checked
/// against it over 300,000 random texts when this reader replaced it).
@Suite struct CSVRowReaderTests {
    static func rows(_ text: String) -> [[String]] {
        var text = text
        return text.withUTF8 { utf8 in
            var reader = CSVRowReader(utf8)
            var rows: [[String]] = []
            while let row = reader.next() { rows.append(row) }
            return rows
        }
    }

    @Test(arguments: [
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
        ("\"open to the end\n", [["open to the end\n"]]),
        // A stray character after a closing quote is dropped and the field stays quoted.
        ("\"a\"b,c", [["a\",c"]]),
        ("\"a\"五,c\",d", [["a\",c", "d"]]),
        ("a\"b,\"\"", [["a\"b", ""]]),
        (" 五华区 ,\t", [[" 五华区 ", "\t"]]),
        ("\"\"", [[""]]),
        ("\"", [[""]]),
    ] as [(String, [[String]])])
    func readsAsBefore(_ text: String, _ expected: [[String]]) {
        #expect(Self.rows(text) == expected, "\(text.debugDescription)")
    }
}
