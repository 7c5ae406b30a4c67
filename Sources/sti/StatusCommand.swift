import ArgumentParser
import Foundation
import STIPipeline

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Per partition the stored offset, the end of the log and the lag; the last snapshot; completeness of the latest year."
    )

    @OptionGroup var kafka: KafkaOptions
    @Option(help: "Snapshot folder (STI_OUT).") var out: String?
    @Option(help: "State database of the aggregator (STI_STATE).") var state: String?
    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).") var registry: String?
    @Flag(help: "Print JSON for scripts.") var json = false

    func run() throws {
        let settings = try kafka.settings()
        let probe = StatusProbe(
            brokers: try settings.required("STI_BROKERS", flag: kafka.brokers, flagName: "--brokers"),
            statePath: try settings.required("STI_STATE", flag: state, flagName: "--state"),
            out: URL(fileURLWithPath: try settings.required("STI_OUT", flag: out, flagName: "--out")),
            registry: try loadRegistry(settings.value("STI_REGISTRY", flag: registry)),
            topicPrefix: kafka.topicPrefix(settings),
            kafkaProperties: try kafka.kafkaProperties(settings),
            timeout: try kafka.timeout(settings))
        let report: StatusReport
        do { report = try probe.collect() } catch {
            printError("status: \(error)")
            throw ExitCode.failure
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(StatusProbe.render(report))
        }
        // A state that no longer matches its log is not a healthy status, whatever else is fine.
        guard report.problems.isEmpty else {
            printError("status: \(report.problems.count) problem(s): \(report.problems.joined(separator: "; "))")
            throw ExitCode.failure
        }
    }
}
