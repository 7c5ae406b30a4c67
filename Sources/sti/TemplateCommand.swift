import ArgumentParser
import Foundation
import STIPipeline
import STIProtocol

/// `sti template`: an .xlsx workbook for a county clerk to fill in and submit unchanged.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Write an .xlsx workbook a county bureau fills in and submits as it is.",
        discussion: """
            Sheet 1 has Chinese and English headers, the county and year filled in (for R&D one row per \
            performer), drop-down lists for every enumerated field, 4-decimal number formats and an \
            explanation column; sheet 2 explains each column and the plausibility rules (section 5a). \
            Submit the filled workbook with `sti submit --kind KIND FILE.xlsx`.
            """)

    @Option(help: "Record kind: rd, tech-contract or county-profile.") var kind: RecordKind
    @Option(help: "County code (registry), e.g. 530102.") var county: String
    @Option(help: "Statistical year, e.g. 2025.") var year: Int
    @Option(help: "The workbook to write (.xlsx).") var out: String
    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).") var registry: String?

    func run() throws {
        guard out.lowercased().hasSuffix(".xlsx") else { throw Failure("--out must name an .xlsx file") }
        let settings = try Settings(configFile: nil)
        do {
            try FeedTemplate.write(
                kind: kind, county: county, year: year, to: URL(fileURLWithPath: out),
                registry: try loadRegistry(settings.value("STI_REGISTRY", flag: registry)))
        } catch let error as FeedTemplate.TemplateError {
            throw Failure(error.description)
        }
        print("wrote \(out): fill in sheet \(FeedTemplate.dataSheet), then sti submit --kind \(kind.rawValue) \(out)")
    }
}
