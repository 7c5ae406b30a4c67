// `sti aggregate --follow` as the Kubernetes Deployment runs it, end to end on Tansu: one run
// per interval, a new snapshot only when something arrived, Prometheus metrics on
// --metrics-port (consumer lag and current records included, also after runs with nothing
// new), and SIGTERM ending the process cleanly within a bounded time.
import Foundation
import Kafka
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct FollowMode {
        static var samples: String { BureauFlows.samples }

        /// Data rows of a sample CSV file (header and blank lines not counted).
        static func rowCount(_ file: String) throws -> Int {
            try BureauFlows.csvLines(samples + "/" + file).count - 1
        }

        /// The metrics endpoint's body, or nil while nothing answers.
        static func metrics(port: Int) -> [String]? {
            guard let response = try? FreePort.httpGet(port: port, path: "/metrics"),
                response.hasPrefix("HTTP/1.1 200"), let split = response.range(of: "\r\n\r\n")
            else { return nil }
            return response[split.upperBound...].split(separator: "\n").map(String.init)
        }

        /// Polls (on this task, 100 ms apart) until `condition` holds or `limit` passes.
        static func waitFor(_ limit: Duration, _ condition: () throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                if try condition() { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try condition()
        }

        @Test("--follow: a snapshot per change, metrics on --metrics-port, SIGTERM stops it cleanly")
        func followServesMetricsAndStopsOnSIGTERM() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 3)
                let first = "county-profiles-2024.csv"
                let second = "county-profiles-2025.csv"
                let submitted = try await bench.sti(["submit", "--brokers", bench.brokers, Self.samples + "/" + first])
                #expect(submitted.succeeded, "sti submit failed: \(submitted.stderrText)")

                let port = try FreePort.allocate()
                let out = bench.scratch.file("out")
                let process = try ChildProcess.start(
                    bench.stiPath,
                    [
                        "aggregate", "--follow", "--interval", "1", "--brokers", bench.brokers, "--out", out,
                        "--state", bench.scratch.file("state.db"), "--metrics-port", "127.0.0.1:\(port)", "--timeout",
                        "20",
                    ], environment: bench.environment)
                defer {
                    if process.isRunning {
                        process.kill(SIGKILL)
                        _ = process.wait(timeout: .seconds(10))
                    }
                }

                // The first run: a snapshot of the first file, then runs with nothing new; the
                // metrics keep the current records and show every partition's lag as 0.
                let firstSeen = try await Self.waitFor(.seconds(60)) {
                    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest") else {
                        return false
                    }
                    return !link.isEmpty
                }
                try #require(
                    firstSeen,
                    "no snapshot within 60 s: \(String(decoding: process.stderrSoFar.suffix(2000), as: UTF8.self))")
                let firstSnapshot = try Snapshot.latest(out: out)
                #expect(manifestCounts(try firstSnapshot.manifest())["read"] == (try Self.rowCount(first)))
                var lines: [String] = []
                let settled = try await Self.waitFor(.seconds(30)) {
                    lines = Self.metrics(port: port) ?? []
                    return lines.contains { $0.hasPrefix("sti_messages_read 0") }
                }
                #expect(settled, "no run with nothing new in 30 s: \(lines)")
                #expect(lines.contains { $0.hasPrefix("sti_aggregate_last_run_success 1") }, "\(lines)")
                #expect(lines.contains { $0.hasPrefix("sti_current_records{geo=\"530102\"} 1") }, "\(lines)")
                let lag = lines.filter { $0.hasPrefix("sti_consumer_lag{") }
                #expect(lag.count == 9 && lag.allSatisfy { $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }, "\(lag)")

                // More arrives: the next interval's run makes a new snapshot of just that.
                let more = try await bench.sti(["submit", "--brokers", bench.brokers, Self.samples + "/" + second])
                #expect(more.succeeded, "sti submit failed: \(more.stderrText)")
                let secondSeen = try await Self.waitFor(.seconds(60)) {
                    (try? Snapshot.latest(out: out).runId) != firstSnapshot.runId
                }
                try #require(secondSeen, "no second snapshot within 60 s")
                #expect(manifestCounts(try Snapshot.latest(out: out).manifest())["read"] == (try Self.rowCount(second)))
                #expect(
                    runFolders(out: out).count == 2, "runs with nothing new write no snapshot: \(runFolders(out: out))")

                // SIGTERM: the service group shuts down gracefully, exit status 0, quickly.
                process.kill(SIGTERM)
                let stopped = ContinuousClock.now
                let result = try await onDedicatedThread { process.wait(timeout: .seconds(30)) }
                let took = ContinuousClock.now - stopped
                #expect(
                    !result.timedOut && result.status == 0, "status \(result.status): \(result.stderrText.suffix(2000))"
                )
                #expect(took < .seconds(15), "SIGTERM took \(took)")
                #expect(result.stderrText.contains("follow mode stopped"), "\(result.stderrText.suffix(2000))")
                #expect(!FreePort.isListening(port), "the metrics port is closed after the stop")
            }
        }
    }
}
