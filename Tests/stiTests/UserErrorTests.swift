// The errors users will hit, end to end: what `sti` says and does when the brokers cannot be
// reached, `--out` cannot be written, the state file is corrupt, a topic is missing, or a
// second run starts on a state another run holds. Each must end the run (non-zero, bounded by
// `--timeout`) with a message that names the thing to fix, and consume nothing.
import Foundation
import Kafka
import STIPipeline
import STITestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct UserErrors {
        /// Generous hang guard for a command given `--timeout 5`: not a timing assertion, only
        /// proof that the command ends by itself.
        static let hangGuard: Duration = .seconds(120)

        @Test(
            "brokers unreachable: each command ends, non-zero, naming the brokers",
            arguments: ["aggregate", "submit", "topics create"])
        func unreachableBrokers(command: String) async throws {
            try await Bench.offline { bench in
                let feed = try bench.write(
                    "rd-one.csv",
                    crlf(
                        """
                        county,year,performer,expenditure_10k_cny
                        530102,2024,other,1
                        """))
                let arguments: [String]
                switch command {
                case "aggregate":
                    arguments = [
                        "aggregate", "--out", bench.scratch.file("out"), "--state", bench.scratch.file("state.db"),
                    ]
                case "submit":
                    arguments = ["submit", feed]
                default:
                    arguments = ["topics", "create"]
                }
                let result = try await bench.sti(
                    arguments + ["--brokers", bench.brokers, "--timeout", "5"], timeout: Self.hangGuard)
                #expect(!result.timedOut, "sti \(command) did not end by itself")
                #expect(result.status != 0, "sti \(command) succeeded against a closed port")
                // sti's own words, not librdkafka's log lines (`%3|…`), must name the brokers.
                let own = result.stderrText.split(separator: "\n").filter { !$0.hasPrefix("%") }.joined(separator: "\n")
                #expect(own.contains(bench.brokers), "sti \(command) does not name the brokers: \(own)")
            }
        }

        @Test("settings from the environment are checked: each bad value is named, and STI_FOLLOW takes effect")
        func badSettingsAreNamed() async throws {
            try await Bench.offline { bench in
                let base = [
                    "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"),
                    "--state", bench.scratch.file("state.db"), "--timeout", "5",
                ]
                func run(_ extra: [String], _ variables: [String: String]) async throws -> ProcessResult {
                    let (path, environment) = (bench.stiPath, bench.environment.merging(variables) { $1 })
                    return try await onDedicatedThread {
                        try ChildProcess.run(path, base + extra, environment: environment, timeout: Self.hangGuard)
                    }
                }
                let cases: [([String], [String: String], String)] = [
                    ([], ["STI_FOLLOW": "ture"], "STI_FOLLOW=ture is neither true nor false"),
                    ([], ["STI_BATCH_SIZE": "0"], "--batch-size must be between 1 and 1000000, got 0"),
                    (["--batch-size", "2000000"], [:], "--batch-size must be between 1 and 1000000, got 2000000"),
                    // STI_FOLLOW=false: a one-shot run, where a metrics port makes no sense…
                    (
                        ["--metrics-port", "127.0.0.1:9464"], ["STI_FOLLOW": "false"],
                        "--metrics-port serves metrics in --follow mode"
                    ),
                    // …STI_FOLLOW=true: follow mode, which gets as far as the (bad) port.
                    (["--metrics-port", "127.0.0.1:port"], ["STI_FOLLOW": "true"], "127.0.0.1:port"),
                ]
                for (extra, variables, expected) in cases {
                    let result = try await run(extra, variables)
                    #expect(!result.timedOut && result.status != 0, "\(variables) \(extra): status \(result.status)")
                    #expect(
                        result.stderrText.contains(expected), "\(variables) \(extra): \(result.stderrText.suffix(500))")
                    #expect(
                        !result.stderrText.contains("--metrics-port serves")
                            || expected.contains("--metrics-port serves"),
                        "STI_FOLLOW=true was not taken: \(result.stderrText.suffix(500))")
                }
            }
        }

        @Test("--out not writable: a clear error before anything is consumed")
        func outNotWritable() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let state = bench.scratch.file("state.db")
                let out = bench.scratch.file("out")
                let blocker = try bench.write("a-regular-file", "not a directory")
                let badOut = blocker + "/out"
                func aggregate(_ out: String) async throws -> ProcessResult {
                    try await bench.sti([
                        "aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30",
                    ])
                }
                func message(_ n: Int) -> Outgoing {
                    Outgoing(
                        topic: "sti.rd", key: "530102",
                        json: "{\"schema\":\"sti.rd/1\",\"county\":\"530102\",\"year\":2024,"
                            + "\"performer\":\"other\",\"expenditure_10k_cny\":\(n),\"revision\":\(n),\"submitted_at\":\"2026-01-15T09:30:00+08:00\"}"
                    )
                }

                // First run: refused before the state is even created.
                try await bench.produce([message(1), message(2)])
                let first = try await aggregate(badOut)
                #expect(first.status != 0)
                #expect(first.stderrText.contains("--out \(badOut) is not usable"), "\(first.stderrText)")
                #expect(
                    !FileManager.default.fileExists(atPath: state),
                    "the state was created by a run that could not write")

                // A later run: the stored offsets stay where they were.
                #expect(try await aggregate(out).succeeded)
                let before = try SQLiteStateStore(path: state).offsets()
                #expect(before.values.reduce(0, +) == 2)
                try await bench.produce([message(3), message(4)])
                let refused = try await aggregate(badOut)
                #expect(refused.status != 0)
                #expect(refused.stderrText.contains("--out \(badOut) is not usable"), "\(refused.stderrText)")
                #expect(try SQLiteStateStore(path: state).offsets() == before)

                // And the next good run reads exactly the two new messages.
                #expect(try await aggregate(out).succeeded)
                #expect(manifestCounts(try Snapshot.latest(out: out).manifest())["read"] == 2)
            }
        }

        @Test("a corrupt state file: the error suggests --rebuild, and --rebuild recovers")
        func corruptState() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                try await bench.produce(
                    Outgoing(
                        topic: "sti.rd", key: "530102",
                        json: "{\"schema\":\"sti.rd/1\",\"county\":\"530102\",\"year\":2024,"
                            + "\"performer\":\"other\",\"expenditure_10k_cny\":1,\"revision\":1,\"submitted_at\":\"2026-01-15T09:30:00+08:00\"}"
                    ))
                let state = bench.scratch.file("state.db")
                let out = bench.scratch.file("out")
                let arguments = [
                    "aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30",
                ]
                let first = try await bench.sti(arguments)
                #expect(first.succeeded, "\(first.stderrText)")
                // An sti state with every page after the first (the schema) overwritten.
                let handle = try FileHandle(forUpdating: URL(fileURLWithPath: state))
                let size = try handle.seekToEnd()
                try handle.seek(toOffset: 4096)
                try handle.write(contentsOf: Data(repeating: 0x5A, count: Int(size) - 4096))
                try handle.close()
                let corrupt = try await bench.sti(arguments)
                #expect(corrupt.status != 0)
                #expect(
                    corrupt.stderrText.contains(state) && corrupt.stderrText.contains("--rebuild"),
                    "\(corrupt.stderrText)")
                #expect(runFolders(out: out).count == 1)

                let rebuilt = try await bench.sti(arguments + ["--rebuild"])
                #expect(rebuilt.succeeded, "\(rebuilt.stderrText)")
                #expect(manifestCounts(try Snapshot.latest(out: out).manifest())["accepted"] == 1)
                #expect(try SQLiteStateStore(readingFrom: state).offsets().values.reduce(0, +) == 1)
            }
        }

        @Test("--state naming a file that is not an sti state: refused and left alone, also by --rebuild")
        func strangerState() async throws {
            try await Bench.offline { bench in
                let text = Array(repeating: "this is not an SQLite database\n", count: 200).joined()
                let state = try bench.write("notes.txt", text)
                let out = bench.scratch.file("out")
                for extra in [[], ["--rebuild"]] {
                    let result = try await bench.sti(
                        ["aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "5"]
                            + extra,
                        timeout: Self.hangGuard)
                    #expect(result.status != 0 && !result.timedOut, "\(extra)")
                    #expect(
                        result.stderrText.contains("state file \(state) is not an SQLite database"),
                        "\(extra): \(result.stderrText)")
                    #expect(!result.stderrText.contains("--rebuild"), "\(extra): \(result.stderrText)")
                    #expect(try String(contentsOfFile: state, encoding: .utf8) == text)
                }
            }
        }

        @Test(
            "librdkafka properties sti sets itself (group.id, bootstrap.servers) are refused naming the option; client.id is honoured"
        )
        func ownedKafkaProperties() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let out = bench.scratch.file("out")
                let state = bench.scratch.file("state.db")
                let base = ["aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30"]
                let groupFile = try bench.write("group.properties", "# SASL and such\ngroup.id=bureau-group\n")
                let brokersFile = try bench.write("brokers.properties", "bootstrap.servers=127.0.0.1:1\n")
                let cases: [([String], [String: String], String)] = [
                    (
                        ["-X", "group.id=bureau-group"], [:],
                        "group.id (in -X) cannot be set here: the aggregator's consumer group is set with --group (STI_GROUP)"
                    ),
                    (
                        ["--kafka-config", groupFile], [:],
                        "group.id (in --kafka-config \(groupFile)) cannot be set here"
                    ),
                    (
                        [], ["STI_KAFKA_CONFIG": groupFile],
                        "group.id (in STI_KAFKA_CONFIG \(groupFile)) cannot be set here"
                    ),
                    (
                        ["--kafka-config", brokersFile], [:],
                        "bootstrap.servers (in --kafka-config \(brokersFile)) cannot be set here: the brokers are set with --brokers (STI_BROKERS)"
                    ),
                    (
                        ["-X", "metadata.broker.list=127.0.0.1:1"], [:],
                        "metadata.broker.list (in -X) cannot be set here"
                    ),
                ]
                for (extra, variables, expected) in cases {
                    let (path, environment) = (bench.stiPath, bench.environment.merging(variables) { $1 })
                    let result = try await onDedicatedThread {
                        try ChildProcess.run(path, base + extra, environment: environment, timeout: .seconds(120))
                    }
                    #expect(result.status != 0 && !result.timedOut, "\(extra) \(variables)")
                    #expect(
                        result.stderrText.contains(expected), "\(extra) \(variables): \(result.stderrText.suffix(600))")
                }
                for command in [
                    ["status", "--brokers", bench.brokers, "--state", state, "--out", out],
                    ["topics", "create", "--brokers", bench.brokers],
                ] {
                    let refused = try await bench.sti(command + ["-X", "group.id=x", "--timeout", "30"])
                    #expect(
                        refused.status != 0 && refused.stderrText.contains("group.id (in -X) cannot be set here"),
                        "\(command): \(refused.stderrText)")
                }
                #expect(!FileManager.default.fileExists(atPath: state), "a refused run created the state")

                // client.id, from the file and from -X: every client of the run uses it (librdkafka
                // names its clients after it, and debug=conf prints each client's value).
                let clientFile = try bench.write("client.properties", "client.id=bureau-from-file\n")
                for (extra, id) in [
                    (["--kafka-config", clientFile], "bureau-from-file"),
                    (["-X", "client.id=bureau-from-flag"], "bureau-from-flag"),
                ] {
                    let result = try await bench.sti(base + extra + ["-X", "debug=conf"])
                    #expect(result.succeeded, "\(extra): \(result.stderrText.suffix(600))")
                    let confLines = result.stderrText.split(separator: "\n").filter {
                        $0.contains("|CONF|") && $0.contains("client.id = ")
                    }
                    #expect(confLines.count >= 3, "admin, consumer and producer: \(confLines)")
                    #expect(confLines.allSatisfy { $0.hasSuffix("client.id = \(id)") }, "\(extra): \(confLines)")
                    #expect(
                        result.stderrText.contains("\(id)#consumer-") && result.stderrText.contains("\(id)#producer-"),
                        "\(extra)")
                }
            }
        }

        @Test("a missing topic is named, with the command that creates it")
        func missingTopic() async throws {
            try await Bench.with { bench in
                guard let broker = bench.broker else { return }
                let out = bench.scratch.file("out")
                let state = bench.scratch.file("state.db")
                // Created one by one: each run names the first topic still missing.
                for topic in ["sti.rd", "sti.tech-contracts", "sti.county-profiles", "sti.rejected"] {
                    let result = try await bench.sti([
                        "aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30",
                    ])
                    #expect(result.status != 0)
                    #expect(result.stderrText.contains("topic \(topic) does not exist"), "\(result.stderrText)")
                    #expect(result.stderrText.contains("sti topics create --brokers \(bench.brokers)"))
                    try await onDedicatedThread { try broker.createTopic(topic, partitions: 1) }
                }
                let complete = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30",
                ])
                #expect(complete.succeeded, "\(complete.stderrText)")
                #expect(complete.stderrText.contains("nothing new"))
            }
        }

        @Test("a second run on a state another run holds is refused at once")
        func concurrentRun() async throws {
            try await Bench.offline { bench in
                let state = bench.scratch.file("state.db")
                let lock = state + ".lock"
                func arguments(timeout: String) -> [String] {
                    [
                        "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"), "--state", state,
                        "--timeout", timeout,
                    ]
                }

                // The first run takes the lock, then waits for brokers that never answer.
                let holder = try ChildProcess.start(
                    bench.stiPath, arguments(timeout: "60"), environment: bench.environment)
                defer {
                    holder.kill(SIGKILL)
                    holder.wait(timeout: .seconds(10))
                }
                var held = false
                let deadline = ContinuousClock.now + .seconds(60)
                while !held && holder.isRunning && ContinuousClock.now < deadline {
                    held = Self.isLocked(lock)
                    if !held { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(
                    held, "the first run never held \(lock): \(String(decoding: holder.stderrSoFar, as: UTF8.self))")

                let second = try await bench.sti(arguments(timeout: "5"), timeout: Self.hangGuard)
                #expect(second.status != 0)
                #expect(
                    second.stderrText.contains("another sti run holds the state lock \(lock)"), "\(second.stderrText)")
                // Another spelling of the same state, through a symlink, meets the same lock.
                let link = bench.scratch.file("link-to-state.db")
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: state)
                let linked = try await bench.sti(
                    [
                        "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"), "--state", link,
                        "--timeout", "5",
                    ], timeout: Self.hangGuard)
                #expect(linked.status != 0)
                #expect(
                    linked.stderrText.contains("another sti run holds the state lock \(lock)"), "\(linked.stderrText)")

                // Once the holder is gone the same command gets past the lock (and fails on the
                // brokers instead), so the refusal above was the lock's doing.
                holder.kill(SIGKILL)
                holder.wait(timeout: .seconds(10))
                let third = try await bench.sti(arguments(timeout: "5"), timeout: Self.hangGuard)
                #expect(third.status != 0 && !third.timedOut)
                #expect(!third.stderrText.contains("holds the state lock"), "\(third.stderrText)")
                #expect(
                    third.stderrText.contains("cannot reach the brokers at \(bench.brokers)"), "\(third.stderrText)")

                // An operator's own flock on the state is respected the same way.
                let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
                #expect(fd >= 0)
                defer { close(fd) }
                #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
                let fourth = try await bench.sti(arguments(timeout: "5"), timeout: Self.hangGuard)
                #expect(fourth.status != 0)
                #expect(fourth.stderrText.contains("another sti run holds the state lock"), "\(fourth.stderrText)")
                // --rebuild must not delete a state another process holds either.
                let rebuild = try await bench.sti(arguments(timeout: "5") + ["--rebuild"], timeout: Self.hangGuard)
                #expect(rebuild.status != 0)
                #expect(rebuild.stderrText.contains("another sti run holds the state lock"), "\(rebuild.stderrText)")
            }
        }

        /// Whether another process holds an exclusive flock on `path` (tried without waiting).
        static func isLocked(_ path: String) -> Bool {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)
                return false
            }
            return errno == EWOULDBLOCK
        }
    }
}
