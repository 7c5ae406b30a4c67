import ArgumentParser
import Foundation
import Logging
import STIPipeline
import STIProtocol

struct AggregateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Validate new submissions, apply revisions, write a snapshot and move latest to it.",
        discussion: """
            Reads the three submission topics from the offsets in the state file up to the log ends seen \
            when the run began (or --max-messages), sends a rejection notice for every refused message, writes \
            <out>/runs/<run_id>/ and moves <out>/latest to it atomically. Safe to kill at any moment \
            and to repeat: nothing is lost or counted twice.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Snapshot folder (STI_OUT).") var out: String?
    @Option(help: "State database, SQLite (STI_STATE).") var state: String?
    @Option(help: "Keys file; without it signatures are not checked (STI_KEYS).") var keys: String?
    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).") var registry: String?
    @Option(help: "Consumer group for committed offsets (STI_GROUP, default \(Defaults.groupId)).") var group: String?
    // No variable for --rebuild, on purpose: left in a config file it would replay every topic
    // on every run.
    @Flag(help: "Drop the state and replay every topic from offset 0 (a one-off: no STI_ setting).") var rebuild = false
    @Flag(inversion: .prefixedNo, help: "Keep running; snapshot every --interval when something changed (STI_FOLLOW).")
    var follow: Bool?
    @Option(help: "Seconds between snapshots with --follow (STI_INTERVAL, default 60).") var interval: Int?
    @Option(help: "text or json (STI_LOG_FORMAT, default text).") var logFormat: String?
    @Option(help: "Write a node-exporter textfile after each run (STI_METRICS_FILE).") var metricsFile: String?
    @Option(help: "Messages per batch, one state transaction each (STI_BATCH_SIZE, default \(Defaults.batchSize)).")
    var batchSize: Int?
    @Option(
        help:
            "At most this many messages per run, then snapshot; 0: up to the log ends seen at the start (STI_MAX_MESSAGES, default 0)."
    )
    var maxMessages: Int?

    @Option(
        help: "With --follow: serve Prometheus metrics on [HOST:]PORT; a bare port binds 127.0.0.1 (STI_METRICS_PORT).")
    var metricsPort: String?
    @Option(
        help:
            "Seconds a metrics connection may stay open from accept; slower clients are closed (STI_METRICS_DEADLINE, default 5)."
    )
    var metricsDeadline: Int?

    func run() async throws {
        let settings = try kafka.settings()
        let logger = try makeLogger(format: settings.value("STI_LOG_FORMAT", flag: logFormat), label: "sti.aggregate")
        let options = AggregateOptions(
            brokers: try settings.required("STI_BROKERS", flag: kafka.brokers, flagName: "--brokers"),
            out: URL(fileURLWithPath: try settings.required("STI_OUT", flag: out, flagName: "--out")),
            statePath: try settings.required("STI_STATE", flag: state, flagName: "--state"),
            keysPath: settings.value("STI_KEYS", flag: keys),
            registry: try loadRegistry(settings.value("STI_REGISTRY", flag: registry)),
            groupId: settings.value("STI_GROUP", flag: group) ?? Defaults.groupId,
            topicPrefix: kafka.topicPrefix(settings),
            kafkaProperties: try kafka.kafkaProperties(settings),
            rebuild: rebuild,
            timeout: try kafka.timeout(settings),
            batchSize: try settings.integer(
                "STI_BATCH_SIZE", flag: batchSize, default: Defaults.batchSize, range: 1...1_000_000,
                flagName: "--batch-size"),
            maxMessages: try settings.integer(
                "STI_MAX_MESSAGES", flag: maxMessages, default: 0, range: 0...1_000_000_000_000,
                flagName: "--max-messages"
            ).nonZero)
        let follow = try settings.boolean("STI_FOLLOW", flag: self.follow)
        let intervalSeconds = try settings.integer(
            "STI_INTERVAL", flag: interval, default: 60, range: 1...86_400, flagName: "--interval")
        let metricsPath = settings.value("STI_METRICS_FILE", flag: metricsFile)
        let metricsAddress = settings.value("STI_METRICS_PORT", flag: metricsPort)
        if metricsAddress != nil && !follow {
            throw Failure("--metrics-port serves metrics in --follow mode; scheduled runs use --metrics-file")
        }
        if let metricsAddress { _ = try MetricsServer.parseAddress(metricsAddress) }
        let metricsDeadline = try settings.integer(
            "STI_METRICS_DEADLINE", flag: metricsDeadline, default: 5, range: 1...3_600, flagName: "--metrics-deadline")

        // The run, the metrics and the signals are the pipeline's (`AggregateLifecycle`).
        let lifecycle = AggregateLifecycle(
            options: options, follow: follow ? .seconds(intervalSeconds) : nil,
            metricsPath: metricsPath, metricsAddress: metricsAddress, metricsDeadline: .seconds(metricsDeadline),
            logger: logger)
        let summary: AggregateSummary?
        do { summary = try await lifecycle.run() } catch is AggregateError {
            throw ExitCode.failure
        }
        if let summary, let runId = summary.runId, let year = summary.indicators.map(\.year).max() {
            print("snapshot \(runId): \(options.out.appendingPathComponent("latest").path)")
            print(PlanTargets.progressTable(year: year, rows: summary.indicators))
        }
    }
}

extension Int {
    /// nil for 0 (a setting's "no limit").
    var nonZero: Int? { self == 0 ? nil : self }
}

func makeLogger(format: String?, label: String) throws -> Logger {
    switch format ?? "text" {
    case "text":
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    case "json":
        LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
    default:
        throw Failure("--log-format must be text or json, got \(format ?? "")")
    }
    var logger = Logger(label: label)
    logger.logLevel = .info
    return logger
}
