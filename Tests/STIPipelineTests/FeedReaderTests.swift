import Foundation
import STIProtocol
import Testing

@testable import STIPipeline

@Suite struct FeedReaderTests {
    func write(_ bytes: [UInt8], ext: String) throws -> String {
        let path = NSTemporaryDirectory() + "sti-feed-\(UUID().uuidString).\(ext)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
    func write(_ text: String, ext: String) throws -> String { try write(Array(text.utf8), ext: ext) }
    let reader = FeedReader(kind: .rd, submittedAt: "2026-01-15T09:30:00+08:00")

    @Test func csvRowsBecomeJSONObjectsWithDefaults() throws {
        let path = try write("county,year,performer,expenditure_10k_cny\r\n530102,2024,medical,100.50\r\n", ext: "csv")
        let rows = try reader.read(path: path)
        #expect(rows.count == 1)
        #expect(rows[0].line == 2)
        #expect(rows[0].key == "530102")
        #expect(
            String(decoding: rows[0].value, as: UTF8.self)
                == #"{"schema":"sti.rd/1","revision":1,"county":"530102","year":2024,"performer":"medical","expenditure_10k_cny":100.50,"submitted_at":"2026-01-15T09:30:00+08:00"}"#
        )
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let path = try write([0xEF, 0xBB, 0xBF] + Array("county,year\n530102,2024\n".utf8), ext: "csv")
        let rows = try reader.read(path: path)
        #expect(rows.count == 1)
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""county":"530102""#))
    }

    @Test func nonNumericCellInNumberColumnStaysAStringForTheValidator() throws {
        let path = try write("county,year,expenditure_10k_cny\n530102,2024,\"1,000\"\n530102,2024,1e3\n", ext: "csv")
        let rows = try reader.read(path: path)
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""expenditure_10k_cny":"1,000""#))
        #expect(
            String(decoding: rows[1].value, as: UTF8.self).contains(#""expenditure_10k_cny":1e3"#),
            "an exponent is still a number: the validator reports E_PRECISION")
    }

    @Test func lineNumbersCountQuotedLineBreaksAndBlankLines() throws {
        let path = try write("county,performer\n530102,\"a\nb\"\n\n530103,x\n", ext: "csv")
        let rows = try reader.read(path: path)
        #expect(rows.map(\.line) == [2, 5])
    }

    /// Issue 11, point 17: malformed quoting is an error naming the line, column and field,
    /// not a silently altered cell (`"ab"c` became `ab"`) or a row "missing" fields.
    @Test(
        arguments: [
            (
                "county,year,performer,expenditure_10k_cny\n530102,2024,med\"ical,1\n",
                2,
                "malformed quoting at column 16, field 3 (performer): a quote inside a field that does not start with one"
            ),
            (
                "county,year,performer,expenditure_10k_cny\r\n530102,2024,\"med\"ical,1\r\n",
                2, "malformed quoting at column 18, field 3 (performer): text after the closing quote"
            ),
            (
                "county,year,performer,expenditure_10k_cny,revision\n\"530102,2025,medical,12.5,1\n530103,2025,other,1,1\n",
                2, "unterminated quote: the quoted field 1 (county) opened at column 1 of line 2 never closes"
            ),
            (
                "county,\"year\"x\n530102,2024\n", 1,
                "malformed quoting at column 14, field 2: text after the closing quote"
            ),
        ] as [(String, Int, String)])
    func malformedQuotingNamesLineColumnAndField(_ text: String, _ line: Int, _ message: String) throws {
        let path = try write(text, ext: "csv")
        let error = #expect(throws: FeedError.self) { try reader.read(path: path) }
        #expect(error?.line == line, "\(error?.description ?? "no error")")
        #expect(error?.message.hasPrefix(message) == true, "\(error?.description ?? "no error")")
    }

    @Test func countyOptionFillsMissingCounty() throws {
        let reader = FeedReader(kind: .countyProfile, county: "KM-HTZ", submittedAt: "2026-01-15T09:30:00+08:00")
        let path = try write("year,gdp_100m_cny\n2024,12.5\n", ext: "csv")
        let rows = try reader.read(path: path)
        #expect(rows[0].key == "KM-HTZ")
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""county":"KM-HTZ""#))
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""schema":"sti.county-profile/1""#))
    }

    @Test func gbkFileNamesLineAndConversionCommand() throws {
        // "五华区" in GBK: CE E5 BB AA C7 F8
        let path = try write(
            Array("county,year,performer\n530102,2024,".utf8) + [0xCE, 0xE5, 0xBB, 0xAA, 0xC7, 0xF8, 0x0A], ext: "csv")
        let error = #expect(throws: FeedError.self) { try reader.read(path: path) }
        #expect(error?.line == 2)
        #expect(error?.message.contains("iconv -f GB18030 -t UTF-8") == true)
        #expect(error?.message.contains("--encoding gb18030") == true)
    }

    @Test func gb18030EncodingOptionConverts() throws {
        let path = try write(
            Array("county,year,performer\n530102,2024,".utf8) + [0xCE, 0xE5, 0xBB, 0xAA, 0xC7, 0xF8, 0x0A], ext: "csv")
        let reader = FeedReader(kind: .rd, encoding: .gb18030, submittedAt: "2026-01-15T09:30:00+08:00")
        let rows = try reader.read(path: path)
        #expect(String(decoding: rows[0].value, as: UTF8.self).contains(#""performer":"五华区""#))
    }

    @Test func headerProblemsAreErrors() throws {
        let duplicate = try write("county,county\n1,2\n", ext: "csv")
        #expect(throws: FeedError.self) { try reader.read(path: duplicate) }
        let empty = try write("", ext: "csv")
        #expect(throws: FeedError.self) { try reader.read(path: empty) }
        let wide = try write("county,year\n530102,2024,extra\n", ext: "csv")
        let error = #expect(throws: FeedError.self) { try reader.read(path: wide) }
        #expect(error?.line == 2)
    }

    @Test func unknownExtensionAndMissingFile() {
        #expect(throws: FeedError.self) { try reader.read(path: "/tmp/feed.xlsx") }
        #expect(throws: FeedError.self) { try reader.read(path: "/nonexistent/feed.csv") }
    }

    @Test func jsonLinesKeepNumbersVerbatimAndFillDefaults() throws {
        let path = try write(
            """
            {"county":"530102","year":2024,"performer":"medical","expenditure_10k_cny":100.50}
            {"schema":"sti.rd/1","county":"530103","revision":3,"submitted_at":"2026-01-01T00:00:00Z","year":2024,"performer":"other","expenditure_10k_cny":1}

            not json
            """, ext: "jsonl")
        let rows = try reader.read(path: path)
        #expect(rows.count == 3)
        #expect(
            String(decoding: rows[0].value, as: UTF8.self)
                == #"{"schema":"sti.rd/1","revision":1,"submitted_at":"2026-01-15T09:30:00+08:00","county":"530102","year":2024,"performer":"medical","expenditure_10k_cny":100.50}"#
        )
        #expect(rows[0].key == "530102")
        #expect(rows[1].key == "530103")
        #expect(
            String(decoding: rows[1].value, as: UTF8.self).hasPrefix(
                #"{"schema":"sti.rd/1","county":"530103","revision":3"#))
        #expect(rows[2].line == 4)
        #expect(String(decoding: rows[2].value, as: UTF8.self) == "not json")
    }

    @Test(arguments: ["0", "-1", "1.5", "1e3", "1E+3", "0.0001", "-0.5e-2"]) func jsonNumbers(_ s: String) {
        #expect(FeedReader.isJSONNumber(s))
    }

    @Test(arguments: ["", "-", "01", "1.", ".5", "1e", "+1", "1,000", "NaN", "0x10", " 1"]) func notJSONNumbers(
        _ s: String
    ) {
        #expect(!FeedReader.isJSONNumber(s))
    }
}
