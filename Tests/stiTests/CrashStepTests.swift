// SIGKILL at every durable step of an aggregation's snapshot, deterministically: strace's fault
// injection kills `sti aggregate` on its N-th fsync / fdatasync / mkdir / symlink / rename
// (the syscall itself is not executed), for every N a clean run makes. Random kills rarely hit
// the few milliseconds between "run folder reserved" and "latest moved"; this walks them all:
// reserved folder, each CSV, the manifest, the folder syncs, the state's commit point, the
// temporary link, the rename of `latest`, and the batch commits before them.
//
// Each crash starts from the same state (a copy of a series that snapshotted the feed's first
// half), then crashes while taking the second half; a plain run afterwards must reach the
// reference snapshot, with the chain of manifests covering every offset exactly once.
import Foundation
import Kafka
import STIPipeline
import STIProtocol
import STITestSupport
import Testing

/// Whether strace can trace a child here (installed, and ptrace allowed in this container).
enum CrashStrace {
    static let usable: Bool = {
        guard
            let result = try? ChildProcess.run(
                "strace", ["-f", "-qq", "-o", "/dev/null", "-e", "trace=none", "/bin/true"],
                timeout: .seconds(20))
        else { return false }
        return result.succeeded
    }()

    /// The syscalls a kill is injected into: everything that makes a run's work durable or visible.
    static let syscalls = ["fsync", "fdatasync", "mkdir", "symlink", "rename"]
}

/// One deterministic crash: the `invocation`-th call of `syscall` on the run's main thread.
struct CrashPoint: Hashable, Sendable, CustomStringConvertible {
    var syscall: String
    var invocation: Int
    var description: String { "\(syscall)#\(invocation)" }
}

/// What one crash point did.
struct CrashPointResult: Sendable, CustomStringConvertible {
    var point: CrashPoint
    /// strace reported the run killed by SIGKILL (the point was reached).
    var killed: Bool
    var status: Int32
    /// What the crash left: where `latest` pointed, run folders and whether they have a manifest.
    var leftBehind: String
    var problems: [String]
    var description: String {
        "\(point): \(killed ? "killed" : "not reached (\(status))"); left \(leftBehind)\(problems.isEmpty ? "" : "; PROBLEMS \(problems)")"
    }
}

extension EndToEnd.CrashAggregateTests {
    @Test(.enabled(if: CrashStrace.usable, "needs strace, and ptrace allowed (apt-get install strace)"))
    func sigkillAtEveryDurableStepOfTheSnapshot() async throws {
        let (counts, results) = try await onDedicatedThread {
            try TansuBroker.with { broker in try CrashStepTrial(trial: CrashTrial(broker: broker)).run() }
        }
        print(
            "crash steps: a clean second-half run makes \(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))"
        )
        for result in results { print("crash step: \(result)") }

        // The snapshot's own steps exist and every one was reached.
        #expect(counts["fsync", default: 0] >= 5, "fewer fsyncs than CSV files + manifest: \(counts)")
        #expect(
            counts["rename", default: 0] >= 1 && counts["symlink", default: 0] >= 1,
            "latest is not moved by symlink + rename: \(counts)")
        for result in results where result.point.syscall != "fdatasync" {
            #expect(result.killed, "a point counted in a clean run was not reached: \(result.description)")
        }
        #expect(results.filter { $0.killed }.count >= 8)
        for result in results {
            #expect(result.problems.isEmpty, "\(result)")
        }
    }
}

/// The deterministic crash walk; blocking, run it on a dedicated thread.
struct CrashStepTrial {
    let trial: CrashTrial
    static let messages = 6_000

    /// Per syscall, how many calls a clean second-half run makes on its main thread; and what
    /// each crash point did.
    func run() throws -> ([String: Int], [CrashPointResult]) {
        let sti = trial.sti
        let environment = trial.environment
        let scratch = trial.scratch
        let created = try ChildProcess.run(
            sti, ["topics", "create", "--brokers", trial.broker.bootstrapServers, "--partitions", "3"],
            environment: environment, timeout: .seconds(60))
        guard created.succeeded else { throw TestEnvironmentError("sti topics create: \(created.stderrText)") }
        let feed = scratch.file("feed")
        let generated = try ChildProcess.run(
            sti, ["generate", "--out", feed, "--messages", String(Self.messages), "--seed", "77"],
            timeout: .seconds(120))
        guard generated.succeeded else { throw TestEnvironmentError("sti generate: \(generated.stderrText)") }
        var halves: [[String: [String]]] = [[:], [:]]
        for topic in CrashTrial.topics {
            let lines = try String(contentsOfFile: "\(feed)/\(topic).keyed", encoding: .utf8).split(separator: "\n")
                .map(String.init)
            halves[0][topic] = Array(lines[..<(lines.count / 2)])
            halves[1][topic] = Array(lines[(lines.count / 2)...])
        }

        // The base: the first half, snapshotted by a clean run. Every series starts as a copy.
        try load(halves[0])
        try cleanRun("base")
        try load(halves[1])
        try copySeries("base", to: "reference")
        try cleanRun("reference")

        // How many calls a clean second-half run makes, from strace's own log. Its run id is
        // forced to collide with a folder of the same second (planted for the next minutes), so
        // the run-id loop's extra mkdir always happens here and the count must leave it out: a
        // crash run never meets such a folder, and counting it made `mkdir#N` unreachable
        // whenever the probe happened to start in the second of the base run's id.
        try copySeries("base", to: "probe")
        let now = Date()
        for second in -2...600 {
            try FileManager.default.createDirectory(
                atPath: "\(trial.out("probe"))/runs/\(UTCTime.runIdBase(now.addingTimeInterval(TimeInterval(second))))",
                withIntermediateDirectories: true)
        }
        let log = scratch.file("probe.strace")
        let traced = try ChildProcess.run(
            "strace",
            ["-f", "-qq", "-o", log, "-e", "trace=" + CrashStrace.syscalls.joined(separator: ",")]
                + [sti] + trial.aggregateArguments("probe"), environment: environment, timeout: .seconds(300))
        guard traced.succeeded else {
            throw TestEnvironmentError("traced run failed: \(traced.stderrText.suffix(1000))")
        }
        let counts = try Self.mainThreadCounts(log: log)

        var points: [CrashPoint] = []
        for syscall in CrashStrace.syscalls {
            let n = counts[syscall, default: 0]
            guard n > 0 else { continue }
            // Batch commits: a spread of them (their number varies with how polls fill batches).
            let invocations =
                syscall == "fdatasync"
                ? Array(Set([1, 2, 3, n / 2, max(1, n - 2), n - 1, n])).filter { $0 >= 1 }.sorted() : Array(1...n)
            points += invocations.map { CrashPoint(syscall: syscall, invocation: $0) }
        }

        let reference = try trial.chain(out: trial.out("reference"))
        let referenceTables = try tables("reference")
        var ends: [String: Int64] = [:]
        for m in reference.manifests {
            for r in m.offsets {
                ends["\(r.topic)[\(r.partition)]"] = max(ends["\(r.topic)[\(r.partition)]"] ?? 0, r.endOffset)
            }
        }
        let referenceProblems = reference.coverageProblems(against: ends)
        guard referenceProblems.isEmpty, ends.values.reduce(0, +) == Int64(Self.messages) else {
            throw TestEnvironmentError("the reference chain is not a clean cover of the feed: \(referenceProblems)")
        }

        var results: [CrashPointResult] = []
        for (index, point) in points.enumerated() {
            let series = "crash-\(index)"
            try copySeries("base", to: series)
            let crashed = try ChildProcess.run(
                "strace",
                [
                    "-f", "-qq", "-o", "/dev/null", "-e", "trace=\(point.syscall)",
                    "-e", "inject=\(point.syscall):error=EIO:signal=KILL:when=\(point.invocation)",
                ]
                    + [sti] + trial.aggregateArguments(series), environment: environment, timeout: .seconds(300))
            var result = CrashPointResult(
                point: point, killed: crashed.status == -SIGKILL, status: crashed.status,
                leftBehind: leftBehind(series), problems: [])
            if let problem = CrashTrial.latestProblem(out: trial.out(series)) { result.problems.append(problem) }

            let recovery = try ChildProcess.run(
                sti, trial.aggregateArguments(series), environment: environment, timeout: .seconds(300))
            if !recovery.succeeded {
                result.problems.append(
                    "the run after the crash failed (\(recovery.status)): \(recovery.stderrText.suffix(500))")
                results.append(result)
                continue
            }
            if try tables(series) != referenceTables { result.problems.append("tables differ from the reference") }
            let chain = try trial.chain(out: trial.out(series))
            result.problems += chain.coverageProblems(against: ends)
            if chain.counts != reference.counts {
                result.problems.append("summed counts \(chain.counts) != reference \(reference.counts)")
            }
            if chain.rejectionRows.sorted() != reference.rejectionRows.sorted() {
                result.problems.append(
                    "rejections.csv rows differ (\(chain.rejectionRows.count) vs \(reference.rejectionRows.count))")
            }
            results.append(result)
        }
        return (counts, results)
    }

    func load(_ half: [String: [String]]) throws {
        for topic in CrashTrial.topics {
            try trial.kcat.produce(topic: topic, lines: half[topic] ?? [], keyDelimiter: "\t", timeout: .seconds(120))
        }
    }

    func cleanRun(_ series: String) throws {
        let result = try ChildProcess.run(
            trial.sti, trial.aggregateArguments(series), environment: trial.environment, timeout: .seconds(300))
        guard result.succeeded else {
            throw TestEnvironmentError("clean run of \(series) failed: \(result.stderrText.suffix(1000))")
        }
    }

    /// A series folder (state file, snapshots, `latest` link) copied as it is: the same state a
    /// run of the same messages would have left.
    func copySeries(_ from: String, to: String) throws {
        let source = trial.scratch.file(from)
        let target = trial.scratch.file(to)
        try? FileManager.default.removeItem(atPath: target)
        let copied = try ChildProcess.run("cp", ["-a", source, target], timeout: .seconds(60))
        guard copied.succeeded else { throw TestEnvironmentError("cp -a \(source) \(target): \(copied.stderrText)") }
    }

    func tables(_ series: String) throws -> [[UInt8]] {
        try [SnapshotWriter.indicatorsFile, SnapshotWriter.completenessFile].map {
            Array(try Data(contentsOf: URL(fileURLWithPath: "\(trial.out(series))/latest/\($0)")))
        }
    }

    /// "latest → X; runs: A(manifest) B(3 files)" for the report.
    func leftBehind(_ series: String) -> String {
        let out = trial.out(series)
        let latest = (try? FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest")) ?? "none"
        let runs = ((try? FileManager.default.contentsOfDirectory(atPath: out + "/runs")) ?? []).sorted().map { run in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(out)/runs/\(run)")) ?? []
            return files.contains(SnapshotWriter.manifestFile) ? "\(run)(manifest)" : "\(run)(\(files.count) files)"
        }
        return "latest → \(latest); runs: \(runs.joined(separator: " "))"
    }

    /// Calls per syscall made by the main thread (the lowest id in strace's `-f` log): strace
    /// counts `when=` per thread, and the snapshot and the state are written from the main thread.
    static func mainThreadCounts(log: String) throws -> [String: Int] {
        try mainThreadCounts(logText: String(contentsOfFile: log, encoding: .utf8), source: log)
    }

    /// The counts of a log's text. A `mkdir` of `runs/<id>` followed by one of the next id of the
    /// same second (`<id>-2`, …) is the run-id loop meeting a folder that exists: it depends
    /// on the clock, not on the run, and is left out unless `countingRunIdRetries`.
    static func mainThreadCounts(logText: String, source: String = "the log", countingRunIdRetries: Bool = false) throws
        -> [String: Int]
    {
        var byThread: [Int: [(name: String, call: String)]] = [:]
        for line in logText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, let tid = Int(parts[0]) else { continue }
            let call = parts[1].trimmingCharacters(in: .whitespaces)
            guard let name = CrashStrace.syscalls.first(where: { call.hasPrefix($0 + "(") }) else { continue }
            byThread[tid, default: []].append((name, call))
        }
        guard let main = byThread.keys.min(), let calls = byThread[main] else {
            throw TestEnvironmentError("strace logged none of \(CrashStrace.syscalls) in \(source)")
        }
        var counts: [String: Int] = [:]
        for (k, call) in calls.enumerated() {
            if !countingRunIdRetries, call.name == "mkdir",
                let next = calls[(k + 1)...].first(where: { $0.name == "mkdir" }),
                isRunIdRetry(call.call, then: next.call)
            {
                continue
            }
            counts[call.name, default: 0] += 1
        }
        return counts
    }

    /// Whether `mkdir(".../runs/A", …)` followed by `mkdir(".../runs/B", …)` is the run-id loop
    /// of `SnapshotWriter.allocateRunId` going from A to the next suffix (`X` → `X-2` → `X-3`).
    static func isRunIdRetry(_ call: String, then next: String) -> Bool {
        func runId(_ call: String) -> (base: String, n: Int)? {
            guard let open = call.range(of: "(\""),
                let close = call.range(of: "\",", range: open.upperBound..<call.endIndex)
            else { return nil }
            let path = call[open.upperBound..<close.lowerBound]
            guard let slash = path.range(of: "/runs/", options: .backwards) else { return nil }
            let id = String(path[slash.upperBound...])
            guard SnapshotWriter.isValidRunId(id) else { return nil }
            let parts = id.split(separator: "-", maxSplits: 1)
            return (String(path[..<slash.upperBound]) + parts[0], parts.count == 2 ? Int(parts[1]) ?? 0 : 1)
        }
        guard let a = runId(call), let b = runId(next) else { return false }
        return a.base == b.base && b.n == a.n + 1
    }
}

/// The crash walk's counting on a fixed strace log (no strace, no clock): a run whose run id
/// met a folder of the same second makes one more `mkdir` than a crash run, and that one must
/// not be counted (it made `sigkillAtEveryDurableStepOfTheSnapshot` fail with `mkdir#3: not
/// reached` when the probe started within the second of the base run's id).
@Suite struct CrashStepCountingTests {
    static func log(collision: Bool) -> String {
        var lines = [
            #"4100 mkdir("/tmp/x/probe/out", 0777) = -1 EEXIST (File exists)"#,
            #"4101 fsync(7)                         = 0"#,
        ]
        if collision {
            lines.append(#"4100 mkdir("/tmp/x/probe/out/runs/20261201T185104Z", 0755) = -1 EEXIST (File exists)"#)
        }
        lines += [
            #"4100 mkdir("/tmp/x/probe/out/runs/20261201T185104Z\#(collision ? "-2" : "")", 0755) = 0"#,
            #"4100 fsync(9)                         = 0"#,
            #"4100 mkdir("/tmp/x/probe/out/runs/20261201T185104Z\#(collision ? "-2" : "")", 0755) = -1 EEXIST (File exists)"#,
            #"4100 fdatasync(5 <unfinished ...>"#,
            #"4101 <... fsync resumed>)             = 0"#,
            #"4100 symlink("runs/20261201T185104Z", "/tmp/x/probe/out/.latest.tmp-4100") = 0"#,
            #"4100 rename("/tmp/x/probe/out/.latest.tmp-4100", "/tmp/x/probe/out/latest") = 0"#,
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func aRunIdCollisionIsNotCounted() throws {
        let clean = try CrashStepTrial.mainThreadCounts(logText: Self.log(collision: false))
        #expect(clean == ["mkdir": 3, "fsync": 1, "fdatasync": 1, "symlink": 1, "rename": 1])
        #expect(try CrashStepTrial.mainThreadCounts(logText: Self.log(collision: true)) == clean)
        // The old counting: one mkdir more than a crash run makes.
        #expect(
            try CrashStepTrial.mainThreadCounts(logText: Self.log(collision: true), countingRunIdRetries: true)["mkdir"]
                == 4)
        #expect(
            CrashStepTrial.isRunIdRetry(
                #"mkdir("/o/runs/20261201T185104Z-9", 0755)"#, then: #"mkdir("/o/runs/20261201T185104Z-10", 0755)"#))
        #expect(
            !CrashStepTrial.isRunIdRetry(
                #"mkdir("/o/runs/20261201T185104Z", 0755)"#, then: #"mkdir("/o/runs/20261201T185104Z", 0755)"#))
        #expect(
            !CrashStepTrial.isRunIdRetry(
                #"mkdir("/o/runs/20261201T185104Z", 0755)"#, then: #"mkdir("/o/runs/20261201T185105Z", 0755)"#))
    }
}
