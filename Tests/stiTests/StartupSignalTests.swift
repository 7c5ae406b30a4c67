// Hostile review #2: `sti` ignores SIGPIPE process-wide from its start, so that a peer
// resetting any socket costs an EPIPE on that write, never the process (the metrics endpoint
// died with rc 141). Read from /proc/<pid>/status of the real binary, started (by
// ChildProcess) with every signal at its default disposition.
import Foundation
import Kafka
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(3)))
    struct StartupSignals {
        @Test("sti ignores SIGPIPE from its start, also without a metrics port")
        func sigpipeIgnoredAtStartup() async throws {
            try await Bench.offline { bench in
                // Follow mode against a closed port: it keeps retrying, so it stays up to be looked at.
                let process = try ChildProcess.start(
                    bench.stiPath,
                    [
                        "aggregate", "--follow", "--interval", "60", "--brokers", bench.brokers, "--out",
                        bench.scratch.file("out"),
                        "--state", bench.scratch.file("state.db"), "--timeout", "5",
                    ], environment: bench.environment)
                defer {
                    if process.isRunning {
                        process.kill(SIGKILL)
                        _ = process.wait(timeout: .seconds(10))
                    }
                }
                // The child starts with every signal at its default (ChildProcess resets them).
                // Poll until it has logged that it is running (its first run failing), then read SigIgn.
                let started = try await FollowMode.waitFor(.seconds(60)) {
                    String(decoding: process.stderrSoFar, as: UTF8.self).contains("aggregate failed")
                        || !process.isRunning
                }
                try #require(
                    started && process.isRunning,
                    "sti did not start: \(String(decoding: process.stderrSoFar.suffix(2000), as: UTF8.self))")
                let ignored = try #require(ignoredSignals(pid: process.pid))
                #expect(maskHas(ignored, signal: SIGPIPE), "SigIgn \(String(ignored, radix: 16)) lacks SIGPIPE")
                process.kill(SIGTERM)
                let result = try await onDedicatedThread { process.wait(timeout: .seconds(30)) }
                #expect(
                    !result.timedOut && result.status == 0, "status \(result.status): \(result.stderrText.suffix(2000))"
                )
            }
        }
    }
}
