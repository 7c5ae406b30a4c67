import Foundation
import Kafka
public import Logging
import ServiceLifecycle
import Synchronization

/// `sti aggregate` from start to end (issue 12, point 5): one run, or a run every interval
/// (`--follow`); the metrics file after each run and the metrics endpoint; SIGTERM and SIGINT.
/// Every part is a `Service` of one `ServiceGroup`, so one signal path serves both modes: a
/// graceful shutdown sets the run's `StopToken`, the run finishes and commits its batch and
/// stops, while the endpoint still answers (services shut down in reverse order). The CLI only
/// parses flags and prints.
public struct AggregateLifecycle: Sendable {
    public var options: AggregateOptions
    /// Seconds between runs; nil: one run.
    public var follow: Duration?
    /// A node-exporter textfile written after each run.
    public var metricsPath: String?
    /// `[HOST:]PORT` of the Prometheus endpoint (follow mode).
    public var metricsAddress: String?
    /// How long a connection to the endpoint may stay open from accept (`--metrics-deadline`).
    public var metricsDeadline: Duration
    public var logger: Logger

    public init(
        options: AggregateOptions, follow: Duration? = nil, metricsPath: String? = nil, metricsAddress: String? = nil,
        metricsDeadline: Duration = MetricsServer.Limits().connectionDeadline, logger: Logger
    ) {
        self.options = options
        self.follow = follow
        self.metricsPath = metricsPath
        self.metricsAddress = metricsAddress
        self.metricsDeadline = metricsDeadline
        self.logger = logger
    }

    /// Runs until done: returns the summary of the one run (nil in follow mode, which ends at a
    /// graceful shutdown), or throws the `AggregateError` of a failed one run (already logged).
    public func run() async throws -> AggregateSummary? {
        let lastRun = Mutex<(summary: AggregateSummary?, duration: Duration?)>((nil, nil))
        let options = self.options
        let logger = self.logger
        let metricsPath = self.metricsPath
        // Consumer lag comes from the run itself: the log ends it saw at its start and the
        // offsets it committed (no second connection to the brokers).
        let record: @Sendable (AggregateSummary?, Duration) async -> Void = { summary, duration in
            lastRun.withLock { $0 = (summary, duration) }
            guard let metricsPath else { return }
            let context = MetricsFile.Context(
                snapshotAgeSeconds: MetricsFile.snapshotAge(out: options.out),
                recordsPerGeography: summary?.recordsPerGeography ?? [:],
                consumerLag: summary?.consumerLag ?? [])
            do {
                try MetricsFile.write(path: metricsPath, summary: summary, duration: duration, context: context)
            } catch {
                logger.warning("metrics file \(metricsPath) not written: \(error)")
            }
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metricsAddress {
            let server = try await MetricsServer.start(
                address: metricsAddress, limits: .init(connectionDeadline: metricsDeadline)
            ) {
                let (summary, duration) = lastRun.withLock { $0 }
                return MetricsFile.render(
                    summary: summary, duration: duration,
                    context: .init(
                        snapshotAgeSeconds: MetricsFile.snapshotAge(out: options.out),
                        recordsPerGeography: summary?.recordsPerGeography ?? [:],
                        consumerLag: summary?.consumerLag ?? []))
            }
            logger.info("metrics on \(server.host):\(server.port)")
            services.append(.init(service: server))
        }
        let outcome = RunOutcome()
        if let follow {
            services.append(
                .init(service: AggregatorService(options: options, interval: follow, logger: logger, onRun: record)))
        } else {
            // Its end is the end of the group, not a failure of it.
            services.append(
                .init(
                    service: OneRunService(options: options, logger: logger, onRun: record, outcome: outcome),
                    successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        switch outcome.value.withLock({ $0 }) {
        case .success(let summary): return summary
        case .failure(let error): throw error
        case nil: return nil
        }
    }
}

/// What the one run of a one-shot lifecycle ended with.
final class RunOutcome: Sendable {
    let value = Mutex<Result<AggregateSummary, AggregateError>?>(nil)
}

/// One aggregation run as a service: a graceful shutdown (SIGTERM, SIGINT) asks it to stop after
/// its batch; it then snapshots what it committed, like a run that reached the log ends.
struct OneRunService: Service {
    let options: AggregateOptions
    let logger: Logger
    let onRun: @Sendable (AggregateSummary?, Duration) async -> Void
    let outcome: RunOutcome

    func run() async throws {
        let stop = StopToken()
        let started = ContinuousClock.now
        let options = self.options
        let logger = self.logger
        let result: Result<AggregateSummary, AggregateError> = await withGracefulShutdownHandler {
            do {
                return .success(
                    try await onDedicatedThread { try Aggregator(options: options, logger: logger, stop: stop).run() })
            } catch let error as AggregateError {
                return .failure(error)
            } catch {
                return .failure(AggregateError(.unexpected, "\(error)", underlying: error))
            }
        } onGracefulShutdown: {
            stop.request()
        }
        switch result {
        case .success(let summary):
            logger.info("\(summary.line)", metadata: ["run_id": "\(summary.runId ?? "-")"])
            await onRun(summary, .now - started)
        case .failure(let error):
            logger.error("aggregate failed: \(error)", metadata: AggregateError.logMetadata(error))
            await onRun(nil, .now - started)
        }
        outcome.value.withLock { $0 = result }
    }
}
