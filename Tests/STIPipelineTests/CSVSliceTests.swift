import Foundation
import STIProtocol
import Testing

@testable import STIPipeline

/// A large CSV feed is read in slices at once (`CSVRowReader.slices`, `FeedReader.csvSliceBytes`):
/// the rows, their line numbers and the first error must be exactly those of one reader of the
/// whole text, whatever the quoting, line ends and blank rows, and wherever the cuts fall.
@Suite struct CSVSliceTests {
    static let header = "county,year,performer,expenditure_10k_cny,explanation"

    /// Texts with every line-end kind, quoted line breaks (LF, CRLF, lone CR), doubled quotes,
    /// blank rows and Chinese text, so that cuts fall near each of them.
    static let texts: [String] = [
        header + "\n" + (0..<40).map { "530102,\(1990 + $0),medical,\($0).5," }.joined(separator: "\n") + "\n",
        header + "\r\n"
            + (0..<40).map { "530103,\(1990 + $0),enterprise_other,1\($0),\"说明\r\n第\($0)行\"" }
            .joined(separator: "\r\n"),
        header + "\r"
            + (0..<40).map { "530111,\(1990 + $0),medical,2,\"say \"\"hi\"\"\rthere\"" }.joined(separator: "\r")
            + "\r",
        "\"county\nx\",year\n" + (0..<40).map { "530112,\($0)\n\n,\n\"a\nb\",\"\"\n" }.joined(),
        header + "\n" + (0..<40).map { "530102,2024,medical,\($0),\"a,b\nc\"\"d\"\"\ne\"" }.joined(separator: "\n"),
    ]

    /// Texts that break the quoting or row rules somewhere after the first cut, some more than
    /// once: the first break is the error, read whole or in slices.
    static let broken: [String] = [
        texts[0].replacingOccurrences(of: "1999,medical", with: "1999,med\"ical"),
        texts[0].replacingOccurrences(of: "2020,medical,30.5,", with: "2020,medical,\"30.5\"x,"),
        texts[1].replacingOccurrences(of: "530103,2020", with: "530103,\"2020"),
        texts[0].replacingOccurrences(of: "2010,medical,20.5,", with: "2010,medical,20.5,,,x"),
        texts[0].replacingOccurrences(of: "2010,medical,20.5,", with: "2010,medical,20.5,,,x")
            .replacingOccurrences(of: "2025,medical", with: "2025,med\"ical"),
        texts[0].replacingOccurrences(of: "2025,medical", with: "2025,med\"ical")
            .replacingOccurrences(of: "2010,medical,20.5,", with: "2010,medical,20.5,,,x"),
    ]

    func read(_ text: String, sliceBytes: Int?) -> Result<[FeedReader.Row], FeedError> {
        var reader = FeedReader(kind: .rd, county: "530102", submittedAt: "2026-01-15T09:30:00+08:00")
        if let sliceBytes { reader.csvSliceBytes = sliceBytes }
        return Result { () throws(FeedError) -> [FeedReader.Row] in try reader.csvRows(text, path: "feed.csv") }
    }

    func same(_ a: Result<[FeedReader.Row], FeedError>, _ b: Result<[FeedReader.Row], FeedError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)):
            return x.map { "\($0.line) \($0.key ?? "-") \(String(decoding: $0.value, as: UTF8.self))" }
                == y.map { "\($0.line) \($0.key ?? "-") \(String(decoding: $0.value, as: UTF8.self))" }
        case (.failure(let x), .failure(let y)): return x.description == y.description
        default: return false
        }
    }

    @Test(arguments: 0..<5)
    func slicedReadingGivesTheRowsOfOneReader(_ index: Int) throws {
        let text = Self.texts[index]
        let whole = read(text, sliceBytes: nil)
        #expect((try? whole.get().count) ?? 0 >= 40)
        // Every slice size, so that the cuts fall at every kind of row end.
        for sliceBytes in 1...80 {
            let sliced = read(text, sliceBytes: sliceBytes)
            #expect(same(whole, sliced), "slices of \(sliceBytes) bytes give other rows than one reader")
        }
    }

    @Test(arguments: 0..<6)
    func slicedReadingGivesTheFirstErrorOfOneReader(_ index: Int) throws {
        let text = Self.broken[index]
        let whole = read(text, sliceBytes: nil)
        guard case .failure(let error) = whole else {
            Issue.record("the broken text \(index) was read")
            return
        }
        #expect(error.line ?? 0 > 5, "the break is after the first cut: \(error)")
        for sliceBytes in 1...80 {
            let sliced = read(text, sliceBytes: sliceBytes)
            #expect(
                same(whole, sliced),
                "slices of \(sliceBytes) bytes: \((try? sliced.get()).map { "\($0.count) rows" } ?? "\(sliced)"), one reader: \(error)"
            )
        }
    }

    /// The cuts themselves: each slice starts at a row start with the line counts one reader
    /// has there, and the rows of the slices, one after another, are the rows of the whole.
    @Test(arguments: 0..<5)
    func slicesStartAtRowStartsWithTheirLines(_ index: Int) throws {
        var text = Self.texts[index]
        text.withUTF8 { utf8 in
            var whole = CSVRowReader(utf8)
            var starts: [Int: Int] = [:]  // row start → reader line there
            var rows: [[String]] = []
            while true {
                let at = (whole.offset, whole.line)
                guard let row = try? whole.next() else { break }
                starts[at.0] = at.1
                rows.append(row)
            }
            for parts in [2, 3, 4, 7, 16, 1000] {
                let slices = CSVRowReader.slices(utf8, from: 0, readerLine: 1, rowLine: 1, parts: parts)
                #expect(slices.first?.range.lowerBound == 0)
                #expect(slices.last?.range.upperBound == utf8.count)
                #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.range.upperBound == $1.range.lowerBound })
                #expect(slices.count > 1 && slices.count <= parts)
                var sliced: [[String]] = []
                for slice in slices {
                    #expect(starts[slice.range.lowerBound] == slice.readerLine, "slice at \(slice.range)")
                    var reader = CSVRowReader(UnsafeBufferPointer(rebasing: utf8[slice.range]), line: slice.readerLine)
                    while let row = try? reader.next() { sliced.append(row) }
                }
                #expect(sliced == rows, "\(parts) parts")
            }
        }
    }
}
