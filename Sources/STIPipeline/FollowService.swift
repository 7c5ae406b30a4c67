import Foundation
import Kafka
public import Logging
public import ServiceLifecycle
import Synchronization

/// `sti aggregate --follow` as a swift-service-lifecycle `Service`: one aggregation run every
/// `interval`, each writing a snapshot when something changed. On graceful shutdown (SIGTERM,
/// SIGINT) the run in progress finishes its batch, commits and returns; no new run starts.
public struct AggregatorService: Service {
    public let options: AggregateOptions
    public let interval: Duration
    public let logger: Logger
    /// Called after every run with its summary (nil when it failed) and duration.
    public let onRun: @Sendable (AggregateSummary?, Duration) async -> Void
    /// Set at graceful shutdown: the run in progress stops after its batch, no new one starts.
    public let stop = StopToken()

    public init(
        options: AggregateOptions, interval: Duration, logger: Logger,
        onRun: @escaping @Sendable (AggregateSummary?, Duration) async -> Void
    ) {
        self.options = options
        self.interval = interval
        self.logger = logger
        self.onRun = onRun
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            var first = true
            // Cancellation (another service of the group failed) ends the loop too.
            while !stop.isRequested && !Task.isCancelled {
                var runOptions = options
                runOptions.rebuild = options.rebuild && first
                first = false
                let started = ContinuousClock.now
                let logger = self.logger
                let thisRun = runOptions
                let stop = self.stop
                do {
                    let summary = try await onDedicatedThread {
                        try Aggregator(options: thisRun, logger: logger, stop: stop).run()
                    }
                    logger.info("\(summary.line)", metadata: ["run_id": "\(summary.runId ?? "-")"])
                    await onRun(summary, .now - started)
                } catch {
                    // A daemon keeps trying: the next interval may find the brokers back.
                    logger.error("aggregate failed: \(error)", metadata: AggregateError.logMetadata(error))
                    await onRun(nil, .now - started)
                }
                let deadline = started + interval
                while ContinuousClock.now < deadline && !stop.isRequested && !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            logger.notice("follow mode stopped")
        } onGracefulShutdown: { [stop] in
            stop.request()
        }
    }
}
