public import Foundation
import Prometheus
import STIProtocol

/// The node-exporter textfile a scheduled run leaves behind (`--metrics-file`), and the body
/// of the `--metrics-port` endpoint: what the last run read, accepted and rejected, how long it
/// took, the age of the snapshot `latest` points at, the current records per geography and the
/// consumer lag per partition. Written to a temporary file and renamed, so node-exporter never
/// reads half of it.
public enum MetricsFile {
    /// Facts about the state and snapshot, beyond what the run itself counted.
    public struct Context: Sendable {
        public var snapshotAgeSeconds: Double?
        public var recordsPerGeography: [String: Int]
        /// Per partition, what the log holds beyond the aggregator's stored offset, measured
        /// (`StatusProbe.consumerLag`) right after the run. Empty when it was not measured.
        public var consumerLag: [StatusReport.Partition]
        public init(
            snapshotAgeSeconds: Double? = nil, recordsPerGeography: [String: Int] = [:],
            consumerLag: [StatusReport.Partition] = []
        ) {
            self.snapshotAgeSeconds = snapshotAgeSeconds
            self.recordsPerGeography = recordsPerGeography
            self.consumerLag = consumerLag
        }
    }

    public static func render(summary: AggregateSummary?, duration: Duration?, context: Context, now: Date = Date())
        -> String
    {
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            let descriptor = MetricNameDescriptor(namespace: "sti", metricName: name, unitName: unit, helpText: help)
            return labels.isEmpty
                ? registry.makeGauge(descriptor: descriptor)
                : registry.makeGauge(descriptor: descriptor, labels: labels)
        }
        gauge("aggregate_last_run_success", "", "1 when the last aggregation run succeeded, 0 when it failed").set(
            Int64(summary == nil ? 0 : 1))
        gauge("aggregate_last_run_timestamp", "seconds", "end of the last aggregation run, Unix time").set(
            now.timeIntervalSince1970)
        if let duration {
            let (seconds, attoseconds) = duration.components
            gauge("aggregate_run_duration", "seconds", "duration of the last aggregation run").set(
                Double(seconds) + Double(attoseconds) / 1e18)
        }
        if let summary {
            let counts = summary.counts
            gauge("messages_read", "", "messages read by the last run").set(Int64(counts.read))
            gauge("messages_accepted", "", "messages accepted by the last run").set(Int64(counts.accepted))
            gauge("messages_duplicates", "", "duplicates counted by the last run").set(Int64(counts.duplicates))
            for code in ErrorCode.allCases {
                gauge(
                    "messages_rejected", "", "messages rejected by the last run, by validation code",
                    [("code", code.rawValue)]
                )
                .set(Int64(counts.rejectedByCode[code] ?? 0))
            }
            // Section 5a: messages held until their bureau explains them.
            for code in WarningCode.allCases {
                gauge(
                    "messages_held", "", "messages held for plausibility warnings by the last run, by warning code",
                    [("code", code.rawValue)]
                )
                .set(Int64(counts.heldByCode[code] ?? 0))
            }
        }
        if let age = context.snapshotAgeSeconds {
            gauge("snapshot_age", "seconds", "age of the snapshot latest points at").set(age)
        }
        for (geo, n) in context.recordsPerGeography.sorted(by: { $0.key < $1.key }) {
            gauge("current_records", "", "current records per geography", [("geo", geo)]).set(Int64(n))
        }
        for p in context.consumerLag {
            gauge(
                "consumer_lag", "",
                "messages in the log beyond the aggregator's stored offset, right after the last run",
                [("topic", p.topic), ("partition", String(p.partition))]
            ).set(p.lag)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Writes the textfile for a run (`summary` nil: the run failed).
    public static func write(path: String, summary: AggregateSummary?, duration: Duration?, context: Context) throws {
        try atomicWrite(path: path, text: render(summary: summary, duration: duration, context: context))
    }

    /// The age of the snapshot `latest` points at, from its manifest's modification time.
    public static func snapshotAge(out: URL, now: Date = Date()) -> Double? {
        guard let runId = SnapshotWriter(out: out).latestRunId() else { return nil }
        let manifest = out.appendingPathComponent("runs/\(runId)/\(SnapshotWriter.manifestFile)").path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: manifest),
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        return now.timeIntervalSince(modified)
    }

    /// Temporary file, mode 0644, rename. The mode is set explicitly: node-exporter runs as
    /// its own user, and the service's UMask=0027 would leave the file unreadable to it. The
    /// temporary file gets a random name and is created exclusively, never through a symlink
    /// (a link planted at a predictable name would have the text written over its target).
    static func atomicWrite(path: String, text: String) throws {
        let temp: (fd: Int32, path: String)
        do { temp = try ExclusiveFile.create(prefix: path + ".tmp.", mode: 0o644) } catch {
            throw MetricsError(.cannotWrite, "cannot write the metrics file \(path): \(error)")
        }
        do { try ExclusiveFile.writeAll(Array(text.utf8), to: temp.fd, path: temp.path) } catch {
            close(temp.fd)
            unlink(temp.path)
            throw MetricsError(.cannotWrite, "\(error)")
        }
        guard close(temp.fd) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp.path)
            throw MetricsError(.cannotWrite, "cannot write \(temp.path): \(message)")
        }
        guard rename(temp.path, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp.path)
            throw MetricsError(.cannotWrite, "cannot move \(temp.path) to \(path): \(message)")
        }
    }
}
