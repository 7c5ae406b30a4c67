// SIGKILL crash trials of `sti aggregate` against a real broker (Tansu): "nothing lost,
// nothing counted twice" (protocol sections 5, 6 and 8).
//
// The feed is loaded in two halves. Run A takes each half in one uninterrupted run (two
// snapshots); run B takes each half through several SIGKILLs (at growing fractions of A's
// duration, and once just as a run folder appears, i.e. inside the snapshot-writing window),
// one SIGTERM (a graceful stop that snapshots what it has) and a final run; run C rebuilds
// everything from offset 0 in one run. The three must agree byte for byte, B's snapshot chain
// must cover every offset exactly once, and every rejection must have reached `sti.rejected`
// during B's runs.
//
// The oracles are independent of the product: kcat reads the notices, the CSV reader is this
// file's own, and expected counts come from the generator's load-summary.json.
import Foundation
import Kafka
import STIFeedGenerator
import STIPipeline
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(8)))
    struct CrashAggregateTests {
        @Test func sigkillAtAnyPointLosesNothingAndCountsNothingTwice() async throws {
            let report = try await onDedicatedThread {
                try TansuBroker.with { broker in try CrashTrial(broker: broker).run() }
            }

            for attempt in report.attempts { print("crash trial: \(attempt)") }
            print(
                "crash trial: chains A \(report.chainA.manifests.count), B \(report.chainB.manifests.count) snapshots; "
                    + "\(report.noticesDuringB.count) offsets announced during B, \(report.noticesDuringB.values.reduce(0, +) - report.noticesDuringB.count) resent; "
                    + "phase durations of A \(report.phaseDurations)")

            // The kills did land where they matter (otherwise the checks below prove little).
            let kills = report.attempts.filter(\.killed)
            #expect(
                kills.contains { $0.committedAfter > $0.committedBefore && $0.committedAfter < $0.phaseEnd },
                "no SIGKILL landed after some batches committed and before the phase was drained: \(report.attempts)")
            #expect(
                kills.contains { $0.stop == .whenRunFolderAppears },
                "no SIGKILL landed in the snapshot window: \(report.attempts)")
            #expect(
                report.attempts.contains { $0.stop == .sigterm && $0.status == 0 },
                "the SIGTERM'd run did not stop cleanly: \(report.attempts)")

            // Never a half snapshot.
            #expect(
                report.latestProblems.isEmpty,
                "latest pointed at an incomplete folder: \(report.latestProblems.prefix(5))")
            for problem in report.finalRunProblems { Issue.record("\(problem)") }

            // Byte for byte: interrupted (B), uninterrupted (A) and rebuilt (C) agree.
            for file in [SnapshotWriter.indicatorsFile, SnapshotWriter.completenessFile] {
                let a = try #require(report.files["A/\(file)"])
                let b = try #require(report.files["B/\(file)"])
                let c = try #require(report.files["C/\(file)"])
                #expect(a.count > 1_000, "\(file) of A is implausibly small")
                #expect(b == a, "B's \(file) differs from A's")
                #expect(c == a, "C's (rebuild) \(file) differs from A's")
            }

            // The expected rejections, from the generator.
            #expect(report.referenceCounts.read == report.feedMessages)
            #expect(report.referenceCounts.rejected == report.feedInvalid)
            #expect(report.referenceCounts.rejectedByCode == report.feedInvalidByCode)

            // Each chain covers every offset exactly once and counts each message once.
            for (name, chain) in [("A", report.chainA), ("B", report.chainB)] {
                #expect(
                    chain.coverageProblems(against: report.endOffsets).isEmpty,
                    "\(name): \(chain.coverageProblems(against: report.endOffsets).prefix(5))")
                #expect(chain.counts == report.referenceCounts, "\(name)'s summed counts differ from the rebuild's")
                #expect(
                    chain.rejectionRows.sorted() == report.referenceRejectionRows.sorted(),
                    "\(name)'s rejections.csv rows differ from the rebuild's (\(chain.rejectionRows.count) vs \(report.referenceRejectionRows.count))"
                )
            }
            #expect(report.chainA.manifests.count == 2, "A made one snapshot per half")
            #expect(report.chainB.manifests.count >= 3, "B: a snapshot per half plus the SIGTERM's partial one")

            // Every rejected source offset reached sti.rejected during B's runs (maybe twice).
            let missing = report.referenceRejectedOffsets.subtracting(report.noticesDuringB.keys)
            #expect(
                missing.isEmpty,
                "\(missing.count) rejected offsets without a notice from B, e.g. \(missing.sorted().prefix(3))")
            #expect(
                Set(report.noticesDuringB.keys).isSubset(of: report.referenceRejectedOffsets),
                "B sent notices for offsets the rebuild accepted")
        }
    }
}

// MARK: The trial

/// How an interrupted run was stopped.
enum CrashStop: Hashable, Sendable, CustomStringConvertible {
    /// SIGKILL after this long.
    case after(Duration)
    /// SIGKILL as soon as a new folder shows up in `runs/`: inside the snapshot-writing window.
    case whenRunFolderAppears
    /// SIGTERM half-way: the run finishes its batch and snapshots what it has drained.
    case sigterm

    var description: String {
        switch self {
        case .after(let d): "kill@\(d)"
        case .whenRunFolderAppears: "kill@run-folder"
        case .sigterm: "term"
        }
    }
}

/// One interrupted run and what the state file said before and after it.
struct CrashAttempt: Sendable, CustomStringConvertible {
    var phase: Int
    var stop: CrashStop
    /// The signal arrived while the run was still going.
    var killed: Bool
    var status: Int32
    /// Σ of the stored next offsets of every partition.
    var committedBefore: Int64
    var committedAfter: Int64
    var phaseEnd: Int64
    var description: String {
        "phase \(phase) \(stop) \(killed ? "hit" : "missed") status \(status) committed \(committedBefore)→\(committedAfter)/\(phaseEnd)"
    }
}

/// A snapshot chain: `latest`, then each manifest's previous run, back to the first.
struct CrashChain: Sendable {
    var manifests: [Manifest] = []
    /// rejections.csv rows, fields joined with U+001F (comparable as strings).
    var rejectionRows: [String] = []

    var counts: RunCounts {
        var total = RunCounts()
        for m in manifests {
            total.read += m.counts.read
            total.accepted += m.counts.accepted
            total.duplicates += m.counts.duplicates
            total.rejected += m.counts.rejected
            for (code, n) in m.counts.rejectedByCode { total.rejectedByCode[code, default: 0] += n }
        }
        return total
    }

    /// Gaps, overlaps and shortfalls of the manifests' offset ranges against `[0, end)`.
    func coverageProblems(against endOffsets: [String: Int64]) -> [String] {
        var ranges: [String: [(Int64, Int64)]] = [:]
        for m in manifests {
            for r in m.offsets {
                ranges["\(r.topic)[\(r.partition)]", default: []].append((r.firstOffset, r.endOffset))
            }
        }
        var problems: [String] = []
        for key in Set(ranges.keys).union(endOffsets.keys).sorted() {
            var position: Int64 = 0
            for (first, end) in (ranges[key] ?? []).sorted(by: { $0 < $1 }) {
                if first != position {
                    problems.append(
                        "\(key): \(first > position ? "gap" : "overlap") at \(min(first, position))..<\(max(first, position))"
                    )
                }
                position = max(position, end)
            }
            if position != endOffsets[key] ?? 0 {
                problems.append("\(key): covered up to \(position), expected \(endOffsets[key] ?? 0)")
            }
        }
        return problems
    }
}

/// Everything the trial saw, checked by the test on its own task.
struct CrashReport: Sendable {
    var attempts: [CrashAttempt] = []
    var latestProblems: [String] = []
    var finalRunProblems: [String] = []
    /// "A/indicators.csv" → bytes, for A, B and C.
    var files: [String: [UInt8]] = [:]
    var feedMessages = 0
    var feedInvalid = 0
    var feedInvalidByCode: [ErrorCode: Int] = [:]
    var referenceCounts = RunCounts()
    var referenceRejectionRows: [String] = []
    /// "topic partition offset" of every rejection of the rebuild.
    var referenceRejectedOffsets: Set<String> = []
    /// Per topic-partition, one past the last offset (from the rebuild's manifest).
    var endOffsets: [String: Int64] = [:]
    var chainA = CrashChain()
    var chainB = CrashChain()
    /// Notices sent while B ran, by source ("topic partition offset") → how many times.
    var noticesDuringB: [String: Int] = [:]
    /// How long A took per phase (B's kill instants are fractions of it).
    var phaseDurations: [Duration] = []
}

/// Runs the whole trial on one broker: blocking, call it on a dedicated thread.
struct CrashTrial {
    static let messages = 50_000
    static let seed: UInt64 = 20_240_611
    static let batchSize = 1_000
    static let topics = ["sti.rd", "sti.tech-contracts", "sti.county-profiles"]

    let broker: TansuBroker
    let sti: String
    let environment: [String: String]
    let kcat: Kcat
    let scratch: TemporaryDirectory

    init(broker: TansuBroker) throws {
        self.broker = broker
        sti = try KafkaTestEnvironment.builtProduct(named: "sti")
        environment = broker.clientEnvironment
        kcat = Kcat(tansu: broker)
        scratch = try TemporaryDirectory(prefix: "sti-crash")
    }

    func out(_ series: String) -> String { scratch.file("\(series)/out") }
    func state(_ series: String) -> String { scratch.file("\(series)/state.sqlite") }

    func aggregateArguments(_ series: String, rebuild: Bool = false) -> [String] {
        [
            "aggregate", "--brokers", broker.bootstrapServers, "--out", out(series), "--state", state(series),
            "--group", "sti-crash-\(series)", "--batch-size", String(Self.batchSize), "--timeout", "60",
        ]
            + (rebuild ? ["--rebuild"] : [])
    }

    func run() throws -> CrashReport {
        var report = CrashReport()
        let created = try ChildProcess.run(
            sti, ["topics", "create", "--brokers", broker.bootstrapServers, "--partitions", "6"],
            environment: environment, timeout: .seconds(60))
        guard created.succeeded else { throw TestEnvironmentError("sti topics create: \(created.stderrText)") }

        let feed = scratch.file("feed")
        let generated = try ChildProcess.run(
            sti,
            [
                "generate", "--out", feed, "--messages", String(Self.messages),
                "--seed", String(Self.seed),
            ], timeout: .seconds(120))
        guard generated.succeeded else { throw TestEnvironmentError("sti generate: \(generated.stderrText)") }
        try readLoadSummary(feed + "/" + FeedGenerator.LoadSummary.fileName, into: &report)

        // Each topic's lines in two halves, loaded one after the other (order within a key kept).
        var halves: [[String: [String]]] = [[:], [:]]
        for topic in Self.topics {
            let text = try String(contentsOfFile: "\(feed)/\(topic).keyed", encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            halves[0][topic] = Array(lines[..<(lines.count / 2)])
            halves[1][topic] = Array(lines[(lines.count / 2)...])
        }

        var loaded: Int64 = 0
        var seenNotices = Set<String>()
        for (index, half) in halves.enumerated() {
            let phase = index + 1
            for topic in Self.topics {
                try kcat.produce(topic: topic, lines: half[topic] ?? [], keyDelimiter: "\t", timeout: .seconds(120))
            }
            loaded += Int64(half.values.reduce(0) { $0 + $1.count })

            // A: uninterrupted; its duration scales B's kill instants.
            let started = ContinuousClock.now
            let a = try ChildProcess.run(sti, aggregateArguments("A"), environment: environment, timeout: .seconds(300))
            let duration = ContinuousClock.now - started
            report.phaseDurations.append(duration)
            guard a.succeeded else { throw TestEnvironmentError("run A, phase \(phase): \(a.stderrText.suffix(2000))") }

            seenNotices.formUnion(try notices().map(\.id))
            try interrupt(phase: phase, phaseEnd: loaded, duration: duration, report: &report)
            for notice in try notices() where !seenNotices.contains(notice.id) {
                report.noticesDuringB[notice.source, default: 0] += 1
                seenNotices.insert(notice.id)
            }
        }

        let c = try ChildProcess.run(
            sti, aggregateArguments("C", rebuild: true), environment: environment, timeout: .seconds(300))
        guard c.succeeded else { throw TestEnvironmentError("run C (rebuild): \(c.stderrText.suffix(2000))") }

        for series in ["A", "B", "C"] {
            for file in [SnapshotWriter.indicatorsFile, SnapshotWriter.completenessFile] {
                report.files["\(series)/\(file)"] = Array(
                    try Data(contentsOf: URL(fileURLWithPath: "\(out(series))/latest/\(file)")))
            }
        }
        report.chainA = try chain(out: out("A"))
        report.chainB = try chain(out: out("B"))
        let rebuild = try chain(out: out("C"))
        guard rebuild.manifests.count == 1, let manifest = rebuild.manifests.first else {
            throw TestEnvironmentError("the rebuild made \(rebuild.manifests.count) snapshots, expected 1")
        }
        report.referenceCounts = manifest.counts
        report.referenceRejectionRows = rebuild.rejectionRows
        report.referenceRejectedOffsets = Set(
            rebuild.rejectionRows.map {
                $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).prefix(3).joined(separator: " ")
            })
        for r in manifest.offsets {
            guard r.firstOffset == 0 else {
                throw TestEnvironmentError("the rebuild did not start \(r.topic)[\(r.partition)] at 0")
            }
            report.endOffsets["\(r.topic)[\(r.partition)]"] = r.endOffset
        }
        guard report.endOffsets.values.reduce(0, +) == loaded else {
            throw TestEnvironmentError(
                "the rebuild covered \(report.endOffsets.values.reduce(0, +)) offsets, \(loaded) were loaded")
        }
        return report
    }

    /// B's runs over one phase: SIGKILLs after a tenth of A's duration (longer while a kill
    /// finds nothing committed) until two fifths of the phase are in, so no kill can overshoot
    /// the phase however the machine's speed varies; in the second phase a SIGTERM; then a
    /// SIGKILL as the next run folder appears (work is still pending, so a snapshot is coming),
    /// then a run to completion.
    func interrupt(phase: Int, phaseEnd: Int64, duration: Duration, report: inout CrashReport) throws {
        let phaseStart = try committed()
        var delay = duration * 0.1
        func attempt(_ stop: CrashStop) throws {
            let before = try committed()
            let (killed, status) = try runInterrupted(
                stop: stop, sigtermAfter: max(duration * 0.1, .milliseconds(500)), report: &report)
            report.attempts.append(
                CrashAttempt(
                    phase: phase, stop: stop, killed: killed, status: status,
                    committedBefore: before, committedAfter: try committed(), phaseEnd: phaseEnd))
        }
        var tries = 0
        while try committed() - phaseStart < (phaseEnd - phaseStart) * 2 / 5 && tries < 12 {
            tries += 1
            let before = try committed()
            try attempt(.after(delay))
            if try committed() == before { delay = delay * 1.3 }
        }
        if phase == 2 { try attempt(.sigterm) }
        try attempt(.whenRunFolderAppears)
        let final = try ChildProcess.start(sti, aggregateArguments("B"), environment: environment)
        watch(final, report: &report) { false }
        let result = final.wait(timeout: .seconds(300))
        if !result.succeeded {
            report.finalRunProblems.append(
                "phase \(phase) final run: \(result.status) \(result.stderrText.suffix(1000))")
        }
        if try committed() != phaseEnd {
            report.finalRunProblems.append(
                "phase \(phase): state at \(try committed()) after the final run, expected \(phaseEnd)")
        }
    }

    /// Starts B, stops it as `stop` says (unless it finished first); returns whether the signal
    /// hit a running process, and its exit status.
    func runInterrupted(stop: CrashStop, sigtermAfter: Duration, report: inout CrashReport) throws -> (Bool, Int32) {
        let before = try committed()
        let process = try ChildProcess.start(sti, aggregateArguments("B"), environment: environment)
        let started = ContinuousClock.now
        let runs = out("B") + "/runs"
        let foldersBefore = (try? FileManager.default.contentsOfDirectory(atPath: runs).count) ?? 0
        let stopped = watch(process, report: &report) {
            switch stop {
            case .after(let delay): ContinuousClock.now - started >= delay
            // Once this run has committed a batch (its stop handlers are installed by then), and
            // at least `sigtermAfter` in: a fixed delay alone sometimes landed after the run had
            // drained the phase, and then there was no partial snapshot to check.
            case .sigterm:
                ContinuousClock.now - started >= sigtermAfter || (try? committedReadOnly()).map { $0 > before } == true
            case .whenRunFolderAppears:
                ((try? FileManager.default.contentsOfDirectory(atPath: runs).count) ?? 0) > foldersBefore
            }
        }
        var hit = false
        if stopped && process.isRunning {
            process.kill(stop == .sigterm ? SIGTERM : SIGKILL)
            hit = true
        }
        if stop == .sigterm { watch(process, report: &report) { false } }
        let result = process.wait(timeout: .seconds(120))
        return (hit && (stop == .sigterm || result.status == -SIGKILL), result.status)
    }

    /// Polls until `condition` holds (true) or the process ends (false), checking every few
    /// milliseconds that `latest` never points at a folder without a manifest. Bounded.
    @discardableResult
    func watch(_ process: RunningProcess, report: inout CrashReport, until condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(300)
        while process.isRunning && ContinuousClock.now < deadline {
            if let problem = Self.latestProblem(out: out("B")) { report.latestProblems.append(problem) }
            if condition() { return true }
            usleep(2_000)
        }
        if let problem = Self.latestProblem(out: out("B")) { report.latestProblems.append(problem) }
        return false
    }

    /// What is wrong with `latest` right now, if anything. One `lstat` decides what `latest`
    /// is: reading the link first and looking again after a failure raced with the first
    /// publish (no `latest` for the read, a link for the look) and reported a problem that
    /// never existed.
    static func latestProblem(out: String) -> String? {
        let link = out + "/latest"
        var info = stat()
        guard lstat(link, &info) == 0 else { return nil }  // no snapshot published yet
        guard info.st_mode & S_IFMT == S_IFLNK else {
            return "latest exists but is not a symbolic link (mode \(String(info.st_mode, radix: 8)))"
        }
        // A link is only ever replaced by another link (rename), so it can always be read.
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else {
            return "latest is a link that cannot be read"
        }
        return FileManager.default.fileExists(atPath: "\(out)/\(target)/\(SnapshotWriter.manifestFile)")
            ? nil : "latest -> \(target), which has no manifest"
    }

    /// Σ of B's stored next offsets. Opened only while no run holds the state (the run lock).
    /// `committed()` without the run lock, while a run may hold it.
    func committedReadOnly() throws -> Int64 {
        guard FileManager.default.fileExists(atPath: state("B")) else { return 0 }
        return try SQLiteStateStore(readingFrom: state("B")).offsets().values.reduce(0, +)
    }

    func committed() throws -> Int64 {
        guard FileManager.default.fileExists(atPath: state("B")) else { return 0 }
        let store = try SQLiteStateStore(path: state("B"))
        return try store.offsets().values.reduce(0, +)
    }

    /// One notice on sti.rejected: where it sits there, and the source offset it is about.
    struct Notice {
        var id: String
        var source: String
    }

    /// Every notice on sti.rejected.
    func notices() throws -> [Notice] {
        try kcat.consume(topic: "sti.rejected", timeout: .seconds(120)).map { record in
            guard let object = try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any],
                object["schema"] as? String == "sti.rejection/1",
                let source = object["source"] as? [String: Any], let topic = source["topic"] as? String,
                let partition = source["partition"] as? Int, let offset = source["offset"] as? Int
            else {
                throw TestEnvironmentError("malformed notice at sti.rejected[\(record.partition)]@\(record.offset)")
            }
            return Notice(id: "\(record.partition)@\(record.offset)", source: "\(topic) \(partition) \(offset)")
        }
    }

    /// `latest`'s manifest, then its previous run's, … (orphan folders of killed runs are not in it).
    func chain(out: String) throws -> CrashChain {
        var result = CrashChain()
        var run: String? = try (FileManager.default.destinationOfSymbolicLink(atPath: out + "/latest") as NSString)
            .lastPathComponent
        var visited = Set<String>()
        while let id = run {
            guard visited.insert(id).inserted, visited.count < 1_000 else {
                throw TestEnvironmentError("previous_run_id loops at \(id)")
            }
            let folder = "\(out)/runs/\(id)"
            let manifest = try Manifest.load(
                contentsOf: URL(fileURLWithPath: "\(folder)/\(SnapshotWriter.manifestFile)"))
            result.manifests.append(manifest)
            let rows = try CSVText.parse(
                String(contentsOfFile: "\(folder)/\(SnapshotWriter.rejectionsFile)", encoding: .utf8))
            guard rows.first == ["topic", "partition", "offset", "county", "codes", "first_message"] else {
                throw TestEnvironmentError("\(folder)/rejections.csv: unexpected header \(rows.first ?? [])")
            }
            result.rejectionRows += rows.dropFirst().map { $0.joined(separator: "\u{1F}") }
            run = manifest.previousRunId
        }
        return result
    }

    func readLoadSummary(_ path: String, into report: inout CrashReport) throws {
        guard
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                as? [String: Any],
            let messages = summary["messages"] as? Int, let invalid = summary["invalid"] as? Int,
            let byCode = summary["invalid_by_code"] as? [String: Int]
        else { throw TestEnvironmentError("unreadable \(path)") }
        report.feedMessages = messages
        report.feedInvalid = invalid
        for (code, n) in byCode {
            guard let errorCode = ErrorCode(rawValue: code) else {
                throw TestEnvironmentError("unknown code \(code) in \(path)")
            }
            report.feedInvalidByCode[errorCode] = n
        }
    }
}
