import Foundation
import Kafka
import Logging
import STIProtocol
import STITestSupport
import Testing

@testable import STIPipeline

/// What an operator relies on: a run on a real (mock) broker, its metrics textfile, `sti status`,
/// the JSON log format and the Prometheus endpoint.
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(3)))
struct OperatorTests {
    static let samples: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/"
            && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path)
        {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Samples")
    }()

    /// A mock cluster with the protocol's topics and every sample file submitted, signed.
    func loadedCluster() throws -> MockCluster {
        let cluster = try MockCluster(brokers: 1)
        for topic in TopicLayout.topics(prefix: "sti", partitions: 3, replicationFactor: 1) {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        let feeds = try FileManager.default.contentsOfDirectory(atPath: Self.samples.path)
            .filter { $0.hasSuffix(".csv") }.sorted().map { Self.samples.appendingPathComponent($0).path }
        let submitter = Submitter(options: .init())
        let checked = submitter.check(paths: feeds, submittedAt: "2026-01-15T09:30:00+08:00")
        #expect(checked.problems.isEmpty)
        let producer = try KafkaProducer(
            configuration: try Submitter.producerConfiguration(bootstrapServers: cluster.bootstrapServers))
        let ring = try KeyRing.load(contentsOf: Self.samples.appendingPathComponent("keys.demo.json"))
        let report = try submitter.send(
            checked, producer: producer, signer: .init(keyRing: ring, keyId: nil), timeout: .seconds(30))
        #expect(report.failed.isEmpty)
        #expect(report.sent == checked.rowCount)
        return cluster
    }

    @Test func runThenMetricsFileThenStatus() async throws {
        let cluster = try loadedCluster()
        defer { cluster.close() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = URL(fileURLWithPath: dir.file("out"))
        let options = AggregateOptions(
            brokers: cluster.bootstrapServers, out: out, statePath: dir.file("state.db"),
            keysPath: Self.samples.appendingPathComponent("keys.demo.json").path, timeout: .seconds(20))
        let summary = try await onDedicatedThread {
            try Aggregator(options: options, logger: Logger(label: "test")).run()
        }
        let sent = try await onDedicatedThread {
            try Submitter(options: .init()).check(
                paths: FileManager.default.contentsOfDirectory(atPath: Self.samples.path).filter {
                    $0.hasSuffix(".csv")
                }
                .map { Self.samples.appendingPathComponent($0).path }, submittedAt: "2026-01-15T09:30:00+08:00"
            ).rowCount
        }
        #expect(summary.counts.read == sent)
        // Section 5a: the Samples' figures that trip a plausibility rule without an explanation
        // are held, not accepted; nothing is rejected.
        #expect(summary.counts.accepted + summary.counts.held == sent)
        // Exactly one (Samples/README.md): the ≥ 1 亿元 contract the generator leaves unexplained.
        #expect(summary.counts.held == 1 && summary.counts.heldByCode.filter { $0.value != 0 } == [.largeContract: 1])
        #expect(summary.counts.rejected == 0)
        let runId = try #require(summary.runId)
        #expect(summary.recordsPerGeography["530102"] ?? 0 > 0)
        // A run with nothing new still reports the current records (its metrics must not lose them).
        let again = try await onDedicatedThread {
            try Aggregator(options: options, logger: Logger(label: "test")).run()
        }
        #expect(again.runId == nil && again.counts.read == 0)
        #expect(again.recordsPerGeography == summary.recordsPerGeography)

        // The textfile node-exporter reads.
        let probe = StatusProbe(
            brokers: cluster.bootstrapServers, statePath: options.statePath, out: out, timeout: .seconds(20))
        let lag = try await onDedicatedThread { try probe.consumerLag() }
        #expect(lag.count == 9)
        let metricsPath = dir.file("sti.prom")
        try MetricsFile.write(
            path: metricsPath, summary: summary, duration: .seconds(2),
            context: .init(
                snapshotAgeSeconds: MetricsFile.snapshotAge(out: out),
                recordsPerGeography: summary.recordsPerGeography, consumerLag: lag))
        let text = try String(contentsOfFile: metricsPath, encoding: .utf8)
        #expect(text.contains("sti_aggregate_last_run_success 1"))
        #expect(text.contains("sti_messages_read \(sent)") || text.contains("sti_messages_read \(sent).0"))
        #expect(text.contains("sti_messages_rejected{code=\"E_AUTH\"} 0"))
        #expect(text.contains("sti_messages_held{code=\"W_LARGE_CONTRACT\"} 1"))
        #expect(text.contains("sti_aggregate_run_duration_seconds 2"))
        #expect(text.contains("sti_snapshot_age_seconds"))
        #expect(text.contains("sti_current_records{geo=\"530102\"}"))
        #expect(text.contains("sti_consumer_lag{topic=\"sti.rd\",partition=\"0\"} 0"))
        #expect(!FileManager.default.fileExists(atPath: metricsPath + ".tmp.\(getpid())"))

        // sti status: nothing left to read, the snapshot just written, 2025 completeness.
        let report = try await onDedicatedThread {
            try StatusProbe(
                brokers: cluster.bootstrapServers, statePath: options.statePath, out: out, timeout: .seconds(20)
            ).collect()
        }
        #expect(report.partitions.count == 9)
        #expect(report.totalLag == 0)
        #expect(report.partitions.reduce(0) { $0 + $1.endOffset } == Int64(sent))
        #expect(report.lastSnapshot?.runId == runId)
        #expect(report.lastSnapshot?.authentication == "enabled")
        #expect(report.latestYear == 2025)
        #expect(report.completeness.count == Registry.kunming.geographies.count)
        #expect(report.completeness.allSatisfy { $0.rd > 0 && $0.techContract > 0 && $0.countyProfile == 1 })
        let table = StatusProbe.render(report)
        #expect(table.contains("total lag 0"))
        #expect(table.contains("last snapshot \(runId)"))

        // More arrives: status shows the lag before the next run.
        let producer = try KafkaProducer(
            configuration: try Submitter.producerConfiguration(bootstrapServers: cluster.bootstrapServers))
        for i in 0..<5 {
            try producer.send(topic: "sti.rd", key: Array("530102".utf8), value: Array("not json \(i)".utf8))
        }
        try producer.flush(timeout: .seconds(10))
        let lagging = try await onDedicatedThread {
            try StatusProbe(
                brokers: cluster.bootstrapServers, statePath: options.statePath, out: out, timeout: .seconds(20)
            ).collect()
        }
        #expect(lagging.totalLag == 5)
        // The metrics say the same, per partition (the key 530102 lands on one of them).
        let laggingMetrics = MetricsFile.render(
            summary: summary, duration: .seconds(1),
            context: .init(consumerLag: try await onDedicatedThread { try probe.consumerLag() }))
        let rdLag = laggingMetrics.split(separator: "\n").filter { $0.hasPrefix("sti_consumer_lag{topic=\"sti.rd\"") }
        #expect(rdLag.count == 3)
        #expect(rdLag.filter { $0.hasSuffix(" 5") || $0.hasSuffix(" 5.0") }.count == 1)
        #expect(rdLag.filter { $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }.count == 2)
    }

    /// node-exporter runs as its own user: the textfile must be readable to it even under the
    /// service's UMask=0027. (The umask is the process's; it is changed for one write only.)
    @Test func metricsFileIsWorldReadableUnderARestrictiveUmask() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("sti.prom")
        let previous = umask(0o027)
        let written = Result { try MetricsFile.write(path: path, summary: nil, duration: nil, context: .init()) }
        umask(previous)
        try written.get()
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test func failedRunMetricsSaySo() throws {
        let text = MetricsFile.render(summary: nil, duration: .milliseconds(1500), context: .init())
        #expect(text.contains("sti_aggregate_last_run_success 0"))
        #expect(text.contains("sti_aggregate_run_duration_seconds 1.5"))
        #expect(!text.contains("sti_messages_read"))
        #expect(!text.contains("sti_consumer_lag"))
    }

    @Test func statusWithoutStateIsAClearError() throws {
        let error = #expect(throws: StatusError.self) {
            try StatusProbe(
                brokers: "127.0.0.1:1", statePath: "/nonexistent/state.db", out: URL(fileURLWithPath: "/tmp")
            ).collect()
        }
        #expect(error?.code == .stateUnreadable)
        #expect(error?.stateError?.code == .missing)
        #expect(error?.description.contains("does not exist") == true)
    }

    @Test func jsonLogLinesAreOneObjectEach() throws {
        let event = LogEvent(
            level: .warning, message: "bad \"quote\"\nline", metadata: ["run_id": "20260101T000000Z"],
            source: "test", file: #fileID, function: #function, line: #line)
        let line = JSONLogHandler.line(
            event: event, label: "sti.aggregate", base: ["county": "530102"],
            date: Date(timeIntervalSince1970: 0))
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(
            object == [
                "ts": "1970-01-01T00:00:00Z", "level": "warning", "label": "sti.aggregate",
                "message": "bad \"quote\"\nline", "run_id": "20260101T000000Z", "county": "530102",
            ])
    }

    @Test func metricsEndpointServesAndRefusesOtherPaths() async throws {
        let server = try await MetricsServer.start(address: "127.0.0.1:0") { "sti_test_metric 42\n" }
        let port = server.port
        func get(_ path: String) async throws -> String {
            try await onDedicatedThread { try FreePort.httpGet(port: port, path: path) }
        }
        let ok = try await get("/metrics")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK"))
        #expect(ok.hasSuffix("\r\n\r\nsti_test_metric 42\n"))
        #expect(try await get("/").hasPrefix("HTTP/1.1 404"))
        await server.stop()
    }

    @Test func metricsPortMustBeAPort() {
        #expect(throws: MetricsError.self) { try MetricsServer.parseAddress("nope") }
        let named = #expect(throws: MetricsError.self) { try MetricsServer.parseAddress("localhost:9464") }
        #expect(named?.code == .badAddress)
    }
}
