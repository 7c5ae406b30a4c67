import Foundation

/// A Tansu broker (memory storage) run as a child process on a free loopback port, for tests.
///
/// Clients in this process can talk to it only when librdkafka 2.16 is loaded (see
/// `KafkaTestEnvironment`); child processes get that through `clientEnvironment`.
/// If Tansu is not installed, `start()` throws — tests that need it fail rather than skip,
/// because CI installs it.
public final class TansuBroker: @unchecked Sendable {
    public let port: Int
    public let tansuPath: String
    /// `127.0.0.1:<port>`.
    public var bootstrapServers: String { "127.0.0.1:\(port)" }
    /// Tansu's default cluster id (what `KafkaAdmin.clusterId` reports).
    public let clusterId = "tansu_cluster"
    /// Environment additions for child processes talking to this broker (librdkafka 2.16 first
    /// on `LD_LIBRARY_PATH`).
    public let clientEnvironment: [String: String]
    private let process: RunningProcess
    private var stopped = false

    /// Starts a broker and waits (at most `readyTimeout`) until it accepts connections.
    public init(readyTimeout: Duration = .seconds(20)) throws {
        tansuPath = try KafkaTestEnvironment.tansuPath()
        clientEnvironment = try KafkaTestEnvironment.tansuClientEnvironment()
        port = try FreePort.allocate()
        let url = "tcp://127.0.0.1:\(port)"
        process = try ChildProcess.start(
            tansuPath,
            ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"])
        let deadline = ContinuousClock.now + readyTimeout
        while !FreePort.isListening(port) {
            guard process.isRunning else {
                let result = process.wait(timeout: .seconds(1))
                throw TestEnvironmentError(
                    "tansu exited with \(result.status) before listening: \(result.stderrText.suffix(2000))")
            }
            guard ContinuousClock.now < deadline else {
                process.kill(SIGKILL)
                throw TestEnvironmentError("tansu did not listen on \(url) within \(readyTimeout)")
            }
            usleep(20_000)
        }
    }

    deinit { stop() }

    /// Runs `body` with a fresh broker that is stopped afterwards, whatever happens.
    public static func with<T>(_ body: (TansuBroker) throws -> T) throws -> T {
        let broker = try TansuBroker()
        defer { broker.stop() }
        return try body(broker)
    }

    /// Async variant of `with`.
    public static func with<T>(_ body: (TansuBroker) async throws -> T) async throws -> T {
        let broker = try TansuBroker()
        defer { broker.stop() }
        return try await body(broker)
    }

    /// Creates a topic with Tansu's own CLI.
    public func createTopic(_ name: String, partitions: Int) throws {
        let result = try ChildProcess.run(
            tansuPath,
            ["topic", "create", "--broker", "tcp://127.0.0.1:\(port)", "--partitions", String(partitions), name],
            timeout: .seconds(30))
        guard result.succeeded else {
            throw TestEnvironmentError(
                "tansu topic create \(name) failed (\(result.status)): \(result.stderrText.suffix(1000))")
        }
    }

    /// Deletes a topic with Tansu's own CLI (what an operator's DeleteTopics does; librdkafka
    /// 2.16's and confluent-kafka's AdminClient delete_topics work on Tansu 0.6 as well).
    public func deleteTopic(_ name: String) throws {
        let result = try ChildProcess.run(
            tansuPath, ["topic", "delete", "--broker", "tcp://127.0.0.1:\(port)", name], timeout: .seconds(30))
        guard result.succeeded else {
            throw TestEnvironmentError(
                "tansu topic delete \(name) failed (\(result.status)): \(result.stderrText.suffix(1000))")
        }
    }

    /// What the broker logged so far, stdout then stderr (for failure messages).
    public var log: String { String(decoding: process.stdoutSoFar + process.stderrSoFar, as: UTF8.self) }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; then waits (bounded) until the
    /// port is free again. Idempotent.
    public func stop(grace: Duration = .seconds(10)) {
        guard !stopped else { return }
        stopped = true
        process.kill(SIGTERM)
        process.wait(timeout: grace)
        let deadline = ContinuousClock.now + .seconds(10)
        while FreePort.isListening(port) && ContinuousClock.now < deadline { usleep(20_000) }
    }
}
