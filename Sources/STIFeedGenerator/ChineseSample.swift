import Foundation
import STIProtocol

extension FeedGenerator {
    /// The Chinese sample: R&D expenditure of 2023 for every geography and performer, with the
    /// headers and performer labels in Chinese as a bureau's spreadsheet has them
    /// (`县区代码,年份,执行部门,R&D经费支出（万元）,修订号`, `规模以上企业` …). `sti submit`
    /// maps them to the protocol's names and codes (`ChineseNames`), so the records are those of
    /// an English file. The figures are 2024's scaled to 95 % (to 0.1 万元), so 2024's rows stay
    /// within the year-on-year bound of section 5a and nothing more is held.
    /// Named `rd_…` (the kind from the name) but not `rd-…`: tools that read the English files
    /// by their `rd-YYYY.csv` names (BureauFlowTests' own oracle) leave it alone.
    static let chineseSampleName = "rd_zh_2023.csv"

    func writeChineseSample(to dir: URL, figures: [Int: [YearFigures]]) throws(FeedGeneratorError) -> String {
        let columns = FeedRow.csvColumns(.rd)
        let header = columns.map { ChineseNames.chineseName(fieldName: $0) ?? $0 }
        let writer = try FeedFileWriter(url: dir.appendingPathComponent(Self.chineseSampleName))
        try writer.append { FeedRow.appendCSVHeader(header, to: &$0) }
        for record in sampleRD(year: 2024, figures: figures[2024] ?? []) {
            guard case .rd(var rd) = record.body else { continue }
            rd.year = 2023
            rd.expenditure = ExactAmount(scaled: FeedDraw.round(rd.expenditure.scaled * 95 / 100, to: 1000))
            var copy = record
            copy.body = .rd(rd)
            var row = FeedRow(record: copy)
            if case .string(let code)? = row[.performer],
                let label = ChineseNames.labels(fieldName: MessageField.performer.name).first(where: { $0.code == code }
                )?.label
            {
                row[.performer] = .string(label)
            }
            try writer.append { row.appendCSV(columns: columns, to: &$0) }
        }
        try writer.close()
        return Self.chineseSampleName
    }
}
