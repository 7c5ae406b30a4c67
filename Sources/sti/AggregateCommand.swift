import ArgumentParser
import Foundation
import Kafka
import Logging
import STIPipeline
import STIProtocol
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    @Option(help: "Messages per batch, one state transaction each (STI_BATCH_SIZE, default \(Defaults.batchSize)).") var batchSize: Int?
    @Option(help: "At most this many messages per run, then snapshot; 0: up to the log ends seen at the start (STI_MAX_MESSAGES, default 0).")
    var maxMessages: Int?

    @Option(help: "With --follow: serve Prometheus metrics on [HOST:]PORT; a bare port binds 127.0.0.1 (STI_METRICS_PORT).")
    var metricsPort: String?

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
            batchSize: try settings.integer("STI_BATCH_SIZE", flag: batchSize, default: Defaults.batchSize, range: 1...1_000_000,
                                            flagName: "--batch-size"),
            maxMessages: try settings.integer("STI_MAX_MESSAGES", flag: maxMessages, default: 0, range: 0...1_000_000_000_000,
                                              flagName: "--max-messages").nonZero)
        let follow = try settings.boolean("STI_FOLLOW", flag: self.follow)
        let intervalSeconds = try settings.integer("STI_INTERVAL", flag: interval, default: 60, range: 1...86_400, flagName: "--interval")
        let metricsPath = settings.value("STI_METRICS_FILE", flag: metricsFile)
        let metricsAddress = settings.value("STI_METRICS_PORT", flag: metricsPort)
        if metricsAddress != nil && !follow { throw Failure("--metrics-port serves metrics in --follow mode; scheduled runs use --metrics-file") }
        if let metricsAddress { _ = try MetricsServer.parseAddress(metricsAddress) }

        // Consumer lag is measured after each successful run, only when metrics are wanted (it
        // costs a metadata request and a fetch to the end of every partition), and not while
        // stopping, which must stay quick.
        let measureLag = metricsPath != nil || metricsAddress != nil
        let lastRun = Mutex<(summary: AggregateSummary?, duration: Duration?, lag: [StatusReport.Partition])>((nil, nil, []))
        let record: @Sendable (AggregateSummary?, Duration) async -> Void = { summary, duration in
            var lag: [StatusReport.Partition] = []
            if measureLag && summary != nil && !stopRequested.load(ordering: .relaxed) {
                let probe = StatusProbe(brokers: options.brokers, statePath: options.statePath, out: options.out,
                                        registry: options.registry, topicPrefix: options.topicPrefix,
                                        kafkaProperties: options.kafkaProperties, timeout: options.timeout)
                do { lag = try await onDedicatedThread { try probe.consumerLag() } } catch {
                    logger.warning("consumer lag not measured: \(error)")
                }
            }
            lastRun.withLock { $0 = (summary, duration, lag) }
            guard let metricsPath else { return }
            let context = MetricsFile.Context(snapshotAgeSeconds: MetricsFile.snapshotAge(out: options.out),
                                              recordsPerGeography: summary?.recordsPerGeography ?? [:], consumerLag: lag)
            do { try MetricsFile.write(path: metricsPath, summary: summary, duration: duration, context: context) } catch {
                logger.warning("metrics file \(metricsPath) not written: \(error)")
            }
        }

        guard follow else {
            installStopHandlers()
            let started = ContinuousClock.now
            let summary: AggregateSummary
            do {
                summary = try await onDedicatedThread { try Aggregator(options: options, logger: logger).run() }
            } catch {
                logger.error("aggregate failed: \(error)", metadata: AggregateError.logMetadata(error))
                await record(nil, .now - started)
                throw ExitCode.failure
            }
            logger.info("\(summary.line)", metadata: ["run_id": "\(summary.runId ?? "-")"])
            await record(summary, .now - started)
            if let runId = summary.runId, let year = summary.indicators.map(\.year).max() {
                print("snapshot \(runId): \(options.out.appendingPathComponent("latest").path)")
                print(PlanTargets.progressTable(year: year, rows: summary.indicators))
            }
            return
        }

        // The metrics endpoint and the aggregator are services of one group: SIGTERM/SIGINT shut
        // them down gracefully in reverse order (the aggregator finishes its batch first, while
        // the endpoint still answers), and either failing stops the other.
        var services: [any Service] = []
        if let metricsAddress {
            let server = try await MetricsServer.start(address: metricsAddress) {
                let (summary, duration, lag) = lastRun.withLock { $0 }
                return MetricsFile.render(summary: summary, duration: duration,
                                          context: .init(snapshotAgeSeconds: MetricsFile.snapshotAge(out: options.out),
                                                         recordsPerGeography: summary?.recordsPerGeography ?? [:],
                                                         consumerLag: lag))
            }
            logger.info("metrics on \(server.host):\(server.port)")
            services.append(server)
        }
        services.append(AggregatorService(options: options, interval: .seconds(intervalSeconds), logger: logger, onRun: record))
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension Int {
    /// nil for 0 (a setting's "no limit").
    var nonZero: Int? { self == 0 ? nil : self }
}

/// SIGINT/SIGTERM: the current batch finishes and commits, then the run stops cleanly.
func installStopHandlers() {
    signal(SIGINT, stopHandler)
    signal(SIGTERM, stopHandler)
}

private func stopHandler(_ signal: Int32) {
    stopRequested.store(true, ordering: .relaxed)
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
