import Foundation
import STIProtocol
import Testing

@testable import STIPipeline

/// The fast paths of `sti submit`'s check: rows written straight as bytes, whitespace trimmed
/// without Foundation when it cannot be there, and rows validated in slices at once.
@Suite struct FeedCheckSpeedPathTests {
    func write(_ text: String, name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "sti-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [
        ("12.5", "12.5"), (" 12.5", "12.5"), ("12.5\t", "12.5"), ("\u{00A0}12.5\u{3000}", "12.5"),
        ("五", "五"), ("", ""), (" ", ""),
    ])
    func trimsAsFoundationDoes(_ cell: String, _ trimmed: String) {
        #expect(FeedReader.trimmedOfWhitespace(cell) == trimmed)
        #expect(FeedReader.trimmedOfWhitespace(cell) == cell.trimmingCharacters(in: .whitespaces))
    }

    @Test(arguments: ["plain", "", "say \"hi\"", "back\\slash", "tab\tline\nreturn\r", "\u{1}\u{1F}\u{7F}", "五华区 é"])
    func escapesAsJSONTextDoes(_ text: String) {
        var out: [UInt8] = []
        FeedReader.appendJSONString(text, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == JSONText.string(text))
    }

    @Test func numberCellsKeepTheirLiteralAndOtherCellsBecomeStrings() throws {
        let path = try write(
            "county,year,performer,expenditure_10k_cny\n530102,\u{00A0}2024 ,\"med\"\"ical\", 1e3\n530103,2024,other,1 000\n",
            name: "rd.csv")
        let rows = try FeedReader(kind: .rd, submittedAt: "2026-01-15T09:30:00+08:00").read(path: path)
        #expect(
            rows.map { String(decoding: $0.value, as: UTF8.self) } == [
                #"{"schema":"sti.rd/1","revision":1,"county":"530102","year":2024,"performer":"med\"ical","expenditure_10k_cny":1e3,"submitted_at":"2026-01-15T09:30:00+08:00"}"#,
                #"{"schema":"sti.rd/1","revision":1,"county":"530103","year":2024,"performer":"other","expenditure_10k_cny":"1 000","submitted_at":"2026-01-15T09:30:00+08:00"}"#,
            ])
    }

    /// Enough rows for several slices: every bad row is found, in line order, on its own line.
    @Test func aLargeFileIsCheckedInSlicesWithProblemsInLineOrder() throws {
        var text = "county,year,performer,expenditure_10k_cny\n"
        var bad: [Int] = []
        for i in 0..<10_000 {
            if i % 997 == 3 {
                bad.append(i + 2)
                text += "530102,2024,medical,-\(i)\n"
            } else {
                text += "530102,\(2016 + i % 10),medical,\(i)\n"
            }
        }
        let path = try write(text, name: "rd.csv")
        let result = Submitter(options: .init()).check(
            paths: [path], submittedAt: "2026-01-15T09:30:00+08:00",
            now: Date(timeIntervalSince1970: 1_782_748_800))
        #expect(result.rowCount == 10_000)
        #expect(result.problems.map(\.line) == bad)
        #expect(result.problems.allSatisfy { $0.errors.map(\.code) == [.range] })
    }
}
