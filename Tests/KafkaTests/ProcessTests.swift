import Foundation
import Kafka
import STITestSupport
import Testing

/// Brokers a child-process test can run against.
enum ProbeBroker: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case mockCluster
    case tansu
    var testDescription: String { rawValue }
}

/// Kills a consuming child process (SIGKILL) mid-stream, again and again, and checks that the
/// restarted consumer loses nothing and repeats nothing after its stored offsets.
@Suite(.serialized, .timeLimit(.minutes(2)), .normalRun)
struct KafkaKillAndRestartTests {
    /// A broker for the probe, with the environment a child process needs to reach it.
    final class Broker: @unchecked Sendable {
        let bootstrapServers: String
        let environment: [String: String]
        private let mock: MockCluster?
        private let tansu: TansuBroker?

        init(_ kind: ProbeBroker, topic: String, partitions: Int) throws {
            switch kind {
            case .mockCluster:
                let mock = try MockCluster(brokers: 3)
                try mock.createTopic(topic, partitions: Int32(partitions))
                self.mock = mock
                tansu = nil
                bootstrapServers = mock.bootstrapServers
                environment = KafkaTestEnvironment.defaultLibraryEnvironment()
            case .tansu:
                let tansu = try TansuBroker()
                try tansu.createTopic(topic, partitions: partitions)
                self.tansu = tansu
                mock = nil
                bootstrapServers = tansu.bootstrapServers
                environment = tansu.clientEnvironment
            }
        }

        func close() {
            mock?.close()
            tansu?.stop()
        }
    }

    static func lineCount(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    struct KillRun: Sendable {
        var linesAtKill: Int
        var status: Int32
        var stderr: String
    }

    @Test(arguments: ProbeBroker.allCases)
    func sigkilledConsumerResumesWithoutLossOrRepeats(broker kind: ProbeBroker) async throws {
        let total = 20_000
        let partitions = 4
        let outcome = try await onDedicatedThread {
            let probe = try KafkaTestEnvironment.kafkaProbePath()
            let topic = uniqueTopic("killed")
            let broker = try Broker(kind, topic: topic, partitions: partitions)
            defer { broker.close() }
            let produced = try ChildProcess.run(
                probe,
                [
                    "produce", "--brokers", broker.bootstrapServers, "--topic", topic, "--count", String(total),
                    "--partitions", String(partitions),
                ],
                environment: broker.environment, timeout: .seconds(60))
            guard produced.succeeded else {
                throw TestFailure("producing failed: \(produced.stdoutText) \(produced.stderrText.suffix(1500))")
            }
            let directory = try TemporaryDirectory(prefix: "killed")
            let output = directory.file("consumed.tsv")
            let consume = [
                "consume", "--brokers", broker.bootstrapServers, "--topic", topic, "--partitions", String(partitions),
                "--out", output, "--batch", "50", "--pause-ms", "3", "--max-seconds", "90",
            ]
            var kills: [KillRun] = []
            for (round, threshold) in [1_500, 5_000, 9_000, 13_000].enumerated() {
                if round == 2 {
                    // As if a crash had torn the last write: the probe must drop this on restart.
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
                    try handle.seekToEnd()
                    try handle.write(contentsOf: Data("3\t99\tdead".utf8))
                    try handle.close()
                }
                let child = try ChildProcess.start(probe, consume, environment: broker.environment)
                let deadline = ContinuousClock.now + .seconds(60)
                while Self.lineCount(output) < threshold {
                    guard child.isRunning, ContinuousClock.now < deadline else {
                        let result = child.wait(timeout: .seconds(5))
                        throw TestFailure(
                            "probe stopped before \(threshold) lines (\(result.status)): \(result.stderrText.suffix(1500))"
                        )
                    }
                    usleep(2_000)
                }
                child.kill(SIGKILL)
                let result = child.wait(timeout: .seconds(10))
                kills.append(
                    KillRun(linesAtKill: Self.lineCount(output), status: result.status, stderr: result.stderrText))
            }
            let final = try ChildProcess.run(
                probe, consume + ["--until-eof"], environment: broker.environment, timeout: .seconds(120))
            guard final.succeeded else {
                throw TestFailure("final run failed (\(final.status)): \(final.stderrText.suffix(1500))")
            }
            let text = try String(contentsOfFile: output, encoding: .utf8)
            return (kills: kills, lines: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        }
        // Every kill really was a SIGKILL in mid-stream.
        #expect(outcome.kills.allSatisfy { $0.status == -SIGKILL })
        #expect(outcome.kills.allSatisfy { $0.linesAtKill < total }, "\(outcome.kills.map(\.linesAtKill))")
        #expect(outcome.kills[2].stderr.contains("torn last line"))

        #expect(outcome.lines.last == "")  // ends with a newline: no torn tail left
        let records = outcome.lines.dropLast().map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(records.allSatisfy { $0.count == 4 })
        var positions = Set<String>()
        var values: [String: Int] = [:]
        var offsetsByPartition: [Int: [Int]] = [:]
        for record in records where record.count == 4 {
            #expect(positions.insert("\(record[0])/\(record[1])").inserted, "\(record[0])@\(record[1]) delivered twice")
            let value = String(decoding: hexBytes(record[3]), as: UTF8.self)
            values[value, default: 0] += 1
            offsetsByPartition[Int(record[0]) ?? -1, default: []].append(Int(record[1]) ?? -1)
        }
        #expect(records.count == total)
        #expect(Set(values.keys) == Set((0..<total).map { "m-\($0)" }), "lost or foreign messages")
        #expect(values.values.allSatisfy { $0 == 1 }, "some value appeared twice")
        // Offsets per partition are exactly 0, 1, 2, ... in order: nothing skipped, nothing repeated.
        for (partition, offsets) in offsetsByPartition {
            #expect(offsets == Array(0..<offsets.count), "partition \(partition) has gaps or repeats")
        }
    }

    private func hexBytes(_ text: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}

/// The shared fixtures themselves and Deploy/local-broker.sh.
@Suite(.serialized, .timeLimit(.minutes(2)), .normalRun)
struct TestFixtureTests {
    @Test func childProcessPassesStdinEnvironmentAndStatus() throws {
        let result = try ChildProcess.run(
            "/bin/sh", ["-c", "cat; printf '%s' \"$STI_PROBE_VALUE\" >&2; exit 7"],
            environment: ["STI_PROBE_VALUE": "seen"], stdin: Array("in\u{0}put".utf8))
        #expect(result.status == 7)
        #expect(result.stdout == Array("in\u{0}put".utf8))
        #expect(result.stderrText == "seen")
        #expect(!result.timedOut)
    }

    @Test func childProcessTimeoutKills() throws {
        let result = try ChildProcess.run("sleep", ["30"], timeout: .milliseconds(200))
        #expect(result.timedOut)
        #expect(result.status == -SIGKILL)
        #expect(throws: TestEnvironmentError.self) { _ = try ChildProcess.run("no-such-program-sti", []) }
    }

    @Test func childrenReceiveSigterm() throws {
        let child = try ChildProcess.start("sleep", ["30"])
        child.kill(SIGTERM)
        let result = child.wait(timeout: .seconds(10))
        #expect(result.status == -SIGTERM, "SIGTERM blocked in the child?")
        #expect(!result.timedOut)
    }

    @Test func kcatOutputParserKeepsEveryByte() throws {
        let value: [UInt8] = [0, 10, 13, 9, 255, 32]
        let output =
            Array("1 7 2 6\n".utf8) + Array("k1".utf8) + value + Array("\nh=1\n".utf8)
            + Array("0 3 -1 -1\n\n\n".utf8)
        let records = try Kcat.parse(output)
        #expect(
            records == [
                KcatRecord(partition: 1, offset: 7, key: Array("k1".utf8), value: value, headers: "h=1"),
                KcatRecord(partition: 0, offset: 3, key: nil, value: nil, headers: ""),
            ])
        #expect(throws: TestEnvironmentError.self) { _ = try Kcat.parse(Array("1 7 2 60\nk1".utf8)) }
    }

    @Test func tansuBrokerStartsAnswersAndFreesItsPort() async throws {
        let outcome = try await onDedicatedThread {
            let broker = try TansuBroker()
            try broker.createTopic("fixture", partitions: 2)
            let metadata = try Kcat(tansu: broker).metadata()
            let port = broker.port
            let listeningBefore = FreePort.isListening(port)
            let log = broker.log
            broker.stop()
            broker.stop()
            return (
                metadata: metadata, listeningBefore: listeningBefore, listeningAfter: FreePort.isListening(port),
                log: log
            )
        }
        #expect(outcome.log.contains("127.0.0.1"), "\(outcome.log)")
        #expect(outcome.metadata.contains(#"topic "fixture" with 2 partitions"#))
        #expect(outcome.listeningBefore)
        #expect(!outcome.listeningAfter)
    }

    @Test func localBrokerScriptIsIdempotentAndStopsOnlyItsOwnBroker() async throws {
        let outcome = try await onDedicatedThread {
            // Resolved, because development packages reach these sources through symlinks.
            let script = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                    "Deploy/local-broker.sh"
                ).path
            guard FileManager.default.isExecutableFile(atPath: script) else {
                throw TestFailure("no script at \(script)")
            }
            let directory = try TemporaryDirectory(prefix: "broker")
            let port = try FreePort.allocate()
            let environment = [
                "STI_BROKER_PORT": String(port), "STI_BROKER_DIR": directory.path,
                "STI_TANSU": try KafkaTestEnvironment.tansuPath(),
                "STI_RDKAFKA216_DIR": try KafkaTestEnvironment.rdkafka216Dir(),
            ]
            func run(_ command: String, _ environment: [String: String] = environment) throws -> ProcessResult {
                try ChildProcess.run("/bin/bash", [script, command], environment: environment, timeout: .seconds(60))
            }
            var steps: [(String, ProcessResult)] = []
            steps.append(("status", try run("status")))
            steps.append(("start", try run("start")))
            steps.append(("start", try run("start")))
            steps.append(("status", try run("status")))
            let kcat = try Kcat(
                brokers: "127.0.0.1:\(port)", environment: KafkaTestEnvironment.tansuClientEnvironment()
            ).metadata()
            steps.append(("stop", try run("stop")))
            let listening = FreePort.isListening(port)
            steps.append(("stop", try run("stop")))
            steps.append(("status", try run("status")))
            // A port held by someone else: start refuses, stop leaves it alone.
            let foreign = try TansuBroker()
            var other = environment
            other["STI_BROKER_PORT"] = String(foreign.port)
            steps.append(("start-foreign", try run("start", other)))
            steps.append(("stop-foreign", try run("stop", other)))
            let foreignAlive = FreePort.isListening(foreign.port)
            foreign.stop()
            let usage = try run("bogus")
            return (
                steps: steps.map { ($0.0, $0.1.status, $0.1.stdoutText + $0.1.stderrText) }, kcat: kcat,
                listeningAfterStop: listening, foreignAlive: foreignAlive, usage: usage.status, port: port
            )
        }
        let statuses = outcome.steps.map { "\($0.0)=\($0.1)" }
        #expect(
            statuses == [
                "status=3", "start=0", "start=0", "status=0", "stop=0", "stop=0", "status=3", "start-foreign=1",
                "stop-foreign=0",
            ])
        #expect(outcome.steps[1].2.contains("running: pid"))
        #expect(outcome.steps[2].2.contains("already running"))
        #expect(outcome.steps[3].2.contains("127.0.0.1:\(outcome.port)"))
        #expect(outcome.steps[7].2.contains("in use"))
        #expect(outcome.kcat.contains("127.0.0.1:\(outcome.port)"))
        #expect(!outcome.listeningAfterStop)
        #expect(outcome.foreignAlive)
        #expect(outcome.usage == 2)
    }
}
