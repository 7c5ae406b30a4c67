import ArgumentParser
import Foundation
import STIPipeline
import STIProtocol

/// `sti explain`: the records and warnings behind one figure of a snapshot (section 8 `records/`).
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract:
            "Why a figure is what it is: its status, the records behind it with their offsets, and their warnings.",
        discussion: "Reads the snapshot folder only (latest, or --run): no broker, no state file.")

    @Option(help: "Snapshot folder (STI_OUT).") var out: String?
    @Option(name: .customLong("run"), help: "A run id under runs/ (default: the one latest points at).") var runId:
        String?
    @Option(help: "The year.") var year: Int
    @Option(help: "Geography code: a county or zone of the registry, KM-CORE, KM-DEMO or 530100.") var geo: String
    @Option(help: "Indicator of section 7, e.g. rd_expenditure.") var indicator: String
    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).") var registry: String?
    @Option(help: "Config file of STI_* settings (STI_CONFIG).") var config: String?

    func run() throws {
        let settings = try Settings(configFile: config)
        let outDir = URL(fileURLWithPath: try settings.required("STI_OUT", flag: out, flagName: "--out"))
        let registry = try loadRegistry(settings.value("STI_REGISTRY", flag: registry))
        do {
            let x = try Explain.explain(
                out: outDir, runId: runId, year: year, geo: geo, indicator: indicator, registry: registry)
            print(Explain.render(x), terminator: "")
        } catch {
            printError("explain: \(error)")
            throw ExitCode.failure
        }
    }
}

/// `sti report`: writes a snapshot's report.html again from its own files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.html of a snapshot again (latest, or --run) from the snapshot's own files.")

    @Option(help: "Snapshot folder (STI_OUT).") var out: String?
    @Option(name: .customLong("run"), help: "A run id under runs/ (default: the one latest points at).") var runId:
        String?
    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).") var registry: String?
    @Option(help: "Config file of STI_* settings (STI_CONFIG).") var config: String?

    func run() throws {
        let settings = try Settings(configFile: config)
        let outDir = URL(fileURLWithPath: try settings.required("STI_OUT", flag: out, flagName: "--out"))
        let registry = try loadRegistry(settings.value("STI_REGISTRY", flag: registry))
        do {
            let path = try ReportWriter.rewrite(out: outDir, runId: runId, registry: registry)
            print("wrote \(path)")
        } catch {
            printError("report: \(error)")
            throw ExitCode.failure
        }
    }
}
