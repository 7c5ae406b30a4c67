// Hostile review #2 and #9 against the real daemon: `sti aggregate --follow --metrics-port` as a
// child process on Tansu. Clients reset their connections mid-request (on the old code one
// such client ended the process with rc 141, SIGPIPE) and one trickles a byte a second; the
// process must stay alive, keep running its aggregation, answer scrapes throughout, and still
// stop cleanly on SIGTERM.
//
// No step races a clock: the endpoint's connection deadline is set (--metrics-deadline) beyond
// the suite's time limit, so the slow client is closed only when sti exits, never while the
// test still needs it connected, however slowly a loaded machine answers the scrape beside it.
// That the deadline itself closes a slow client is MetricsEndpointTests' in-process test.
import Foundation
import Kafka
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct MetricsEndpoint {
        /// The metric lines of one scrape, or nil while nothing answers 200.
        static func scrape(_ port: Int) async -> [String]? {
            guard let response = try? await onDedicatedThread({ try RawHTTPConnection(port: port).get("/metrics") }),
                response.hasPrefix("HTTP/1.1 200"), let split = response.range(of: "\r\n\r\n")
            else { return nil }
            return response[split.upperBound...].split(separator: "\n").map(String.init)
        }

        static func value(_ lines: [String], _ name: String) -> Double? {
            lines.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
        }

        @Test("--follow survives connections reset mid-request and a slow client, and still stops on SIGTERM")
        func followSurvivesHostileClients() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let port = try FreePort.allocate()
                let process = try ChildProcess.start(
                    bench.stiPath,
                    [
                        "aggregate", "--follow", "--interval", "1", "--brokers", bench.brokers, "--out",
                        bench.scratch.file("out"),
                        "--state", bench.scratch.file("state.db"), "--metrics-port", "127.0.0.1:\(port)", "--timeout",
                        "20", "--metrics-deadline", "3600",
                    ], environment: bench.environment)
                defer {
                    if process.isRunning {
                        process.kill(SIGKILL)
                        _ = process.wait(timeout: .seconds(10))
                    }
                }
                func stderr() -> String { String(decoding: process.stderrSoFar.suffix(2000), as: UTF8.self) }

                // A first successful run, so the aggregator is known to be working.
                var lines: [String] = []
                let ran = try await FollowMode.waitFor(.seconds(90)) {
                    lines = (try? Self.syncScrape(port)) ?? []
                    return Self.value(lines, "sti_aggregate_last_run_success") == 1
                }
                try #require(ran, "no successful run within 90 s: \(stderr())")

                // SIGPIPE is ignored by the process itself (SigIgn in /proc).
                let ignored = try #require(ignoredSignals(pid: process.pid))
                #expect(maskHas(ignored, signal: SIGPIPE), "SigIgn \(String(ignored, radix: 16)) lacks SIGPIPE")

                // The review's experiment, repeated: `GET /metr`, then an RST.
                let resets = try await onDedicatedThread { () -> Int in
                    var done = 0
                    for _ in 0..<30 {
                        guard let client = try? RawHTTPConnection(port: port) else { break }
                        client.send("GET /metr")
                        client.resetAndClose()
                        done += 1
                    }
                    return done
                }
                let afterReset = await Self.scrape(port)
                guard process.isRunning else {
                    let result = try await onDedicatedThread { process.wait(timeout: .seconds(5)) }
                    Issue.record(
                        "sti died after \(resets) resets, status \(result.status) (-13: killed by SIGPIPE): \(stderr())"
                    )
                    return
                }
                #expect(resets == 30)
                #expect(afterReset != nil, "no 200 after the resets: \(stderr())")

                // A slow client beside a scrape: the scrape answers while it is still connected.
                // With a deadline of an hour nothing but sti's exit closes it within the suite's
                // 5 minutes, so "still connected" depends on no timing. It trickles a byte a
                // second until closed, at most 280 (under the time limit).
                let slow = try await onDedicatedThread {
                    try RawHTTPConnection(port: port, receiveTimeout: .seconds(5))
                }
                let state = TrickleState()
                let trickler = Task { try await onDedicatedThread { slow.trickle(maxSeconds: 280, state: state) } }
                defer { trickler.cancel() }
                var waited = 0
                while !state.now.hasStarted && waited < 200 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                try #require(state.now.hasStarted, "the slow client never sent its first bytes")
                let beside = await Self.scrape(port)
                let whileScraped = state.now
                #expect(beside != nil, "no 200 beside the slow client")
                #expect(whileScraped.closedByPeer == nil, "the slow client was already gone: \(whileScraped)")

                // The aggregator kept running meanwhile, the slow client still connected: what is
                // submitted now gets a snapshot.
                let out = bench.scratch.file("out")
                let before = try? FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest")
                let submitted = try await bench.sti([
                    "submit", "--brokers", bench.brokers, FollowMode.samples + "/county-profiles-2024.csv",
                ])
                #expect(submitted.succeeded, "sti submit failed: \(submitted.stderrText)")
                let snapshot = try await FollowMode.waitFor(.seconds(60)) {
                    let now = try? FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest")
                    return now != nil && now != before
                }
                #expect(snapshot, "no snapshot after the hostile clients: \(stderr())")
                #expect(process.isRunning, "sti died: \(stderr())")
                #expect(state.now.closedByPeer == nil, "the slow client was closed before its deadline: \(state.now)")

                // SIGTERM with the slow client still connected: it holds up neither the stop nor
                // the exit, and sti closes its connection.
                process.kill(SIGTERM)
                let result = try await onDedicatedThread { process.wait(timeout: .seconds(30)) }
                #expect(
                    !result.timedOut && result.status == 0,
                    "status \(result.status) (141 = SIGPIPE): \(result.stderrText.suffix(2000))")
                #expect(result.stderrText.contains("follow mode stopped"), "\(result.stderrText.suffix(2000))")
                #expect(!FreePort.isListening(port), "the metrics port is closed after the stop")
                try await trickler.value
                slow.close()
                #expect(state.now.closedByPeer == true, "sti never closed the slow connection: \(state.now)")
            }
        }

        /// A blocking scrape for `FollowMode.waitFor`'s synchronous condition (one short
        /// request on loopback; the receive timeout guards it).
        static func syncScrape(_ port: Int) throws -> [String]? {
            let response = try RawHTTPConnection(port: port, receiveTimeout: .seconds(5)).get("/metrics")
            guard response.hasPrefix("HTTP/1.1 200"), let split = response.range(of: "\r\n\r\n") else { return nil }
            return response[split.upperBound...].split(separator: "\n").map(String.init)
        }
    }
}
