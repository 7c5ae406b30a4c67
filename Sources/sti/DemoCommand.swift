import ArgumentParser
import Foundation
import Kafka
import Logging
import STIFeedGenerator
import STIPipeline
import STIProtocol

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "The whole job on an embedded broker: topics, signed submissions of Samples/, one aggregation, a snapshot.",
        discussion: """
            With no --brokers, librdkafka's mock cluster runs inside this process. Everything else is the \
            production code path: sti topics create, sti submit (signed as each county bureau), sti aggregate.
            """)

    @Option(help: "Snapshot folder.") var out: String = "demo-out"
    @Option(help: "Folder of sample feeds and keys.demo.json (default: the repository's Samples/).") var samples:
        String?
    @Option(help: "Use these brokers instead of the embedded mock cluster.") var brokers: String?

    func run() throws {
        let samplesDir = try locateSamples()
        let keysPath = samplesDir.appendingPathComponent("keys.demo.json").path
        let feeds = try FileManager.default.contentsOfDirectory(atPath: samplesDir.path)
            .filter { $0.hasSuffix(".csv") }.sorted().map { samplesDir.appendingPathComponent($0).path }
        guard !feeds.isEmpty else { throw Failure("no .csv feeds in \(samplesDir.path)") }

        var mock: MockCluster?
        let bootstrap: String
        if let brokers {
            bootstrap = brokers
        } else {
            mock = try MockCluster(brokers: 3)
            bootstrap = mock!.bootstrapServers
            print("embedded broker: librdkafka mock cluster at \(bootstrap)")
        }
        defer { mock?.close() }

        let topics = TopicLayout.topics(prefix: Defaults.topicPrefix, partitions: 6, replicationFactor: 1)
        if let mock {
            for topic in topics { try mock.createTopic(topic.name, partitions: topic.partitions) }
        } else {
            _ = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: bootstrap)).createTopics(
                topics, timeout: .seconds(30))
        }
        print("topics: \(topics.map(\.name).joined(separator: ", "))")

        let submitter = Submitter(options: .init())
        let checked = submitter.check(paths: feeds, submittedAt: rfc3339Now())
        for problem in checked.problems { printError(problem.description) }
        guard checked.problems.isEmpty else { throw Failure("the sample feeds do not validate") }
        let ring = try KeyRing.load(contentsOf: URL(fileURLWithPath: keysPath))
        let producer = try KafkaProducer(
            configuration: try Submitter.producerConfiguration(bootstrapServers: bootstrap))
        let report = try submitter.send(
            checked, producer: producer, signer: .init(keyRing: ring, keyId: nil), timeout: .seconds(60))
        try producer.close(timeout: .seconds(10))
        guard report.failed.isEmpty else {
            throw Failure("\(report.failed.count) sample rows not delivered: \(report.failed[0].error)")
        }
        print("submitted \(report.sent) signed records from \(feeds.count) files in \(samplesDir.path)")

        let outURL = URL(fileURLWithPath: out)
        let state = outURL.appendingPathComponent("state.db").path
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        var logger = Logger(label: "sti.demo")
        logger.logLevel = .warning
        let summary: AggregateSummary
        do {
            summary = try Aggregator(
                options: AggregateOptions(
                    brokers: bootstrap, out: outURL, statePath: state, keysPath: keysPath,
                    rebuild: true), logger: logger
            ).run()
        } catch { throw Failure("aggregate: \(error)") }
        print("aggregate: \(summary.line)")
        let latest = outURL.appendingPathComponent("latest").path
        print(
            "snapshot: \(latest)/indicators.csv, completeness.csv, rejections.csv, warnings.csv, revisions.csv, records/, manifest.json"
        )
        print(
            "workbook: \(latest)/snapshot.xlsx (open this one in Excel: the same tables, Chinese readable on any locale)"
        )
        print(
            "report: \(latest)/report.html (open it in a browser; sti explain --out \(outURL.path) --year Y --geo G --indicator I traces a figure)"
        )
        try printHeld(statePath: state, latest: latest)
        if let year = summary.indicators.map(\.year).max() {
            print("")
            print("Kunming (530100), \(year):")
            for row in summary.indicators where row.year == year && row.geoCode == "530100" {
                let value = row.value.isEmpty ? "-" : row.value
                print(
                    "  \(row.indicator.rawValue.padding(toLength: 32, withPad: " ", startingAt: 0)) \(value.padding(toLength: 14, withPad: " ", startingAt: 0)) \(row.unit.padding(toLength: 18, withPad: " ", startingAt: 0)) \(row.status.rawValue)"
                )
            }
            print("")
            print(PlanTargets.progressTable(year: year, rows: summary.indicators))
        }
    }

    /// Section 5a: names each held record (a figure that trips a plausibility rule, sent with no
    /// `explanation`) and says where its bureau and the operator read about it.
    func printHeld(statePath: String, latest: String) throws {
        var held: [(record: String, codes: [String])] = []
        do {
            let store = try SQLiteStateStore(readingFrom: statePath)
            try store.forEachWarningRow(registry: .kunming) { row in
                guard row.disposition == .held else { return }
                let record =
                    "\(row.geoCode) \(row.kind.rawValue) \(row.identity.isEmpty ? String(row.year) : row.identity)"
                if held.last?.record == record {
                    held[held.count - 1].codes.append(row.warning.code.rawValue)
                } else {
                    held.append((record, [row.warning.code.rawValue]))
                }
            }
        } catch { throw Failure("reading the held records from \(statePath): \(error)") }
        guard !held.isEmpty else { return }
        let names = held.map { "\($0.record) (\($0.codes.joined(separator: ", ")))" }.joined(separator: "; ")
        print(
            "held \(held.count) record\(held.count == 1 ? "" : "s") until the bureau sends \(held.count == 1 ? "it" : "them") again with an explanation (section 5a): \(names)"
        )
        print(
            "  read \(held.count == 1 ? "it" : "them") in \(latest)/warnings.csv (disposition held), \(latest)/rejections.csv, and the notice on sti.rejected"
        )
    }

    func locateSamples() throws -> URL {
        if let samples { return URL(fileURLWithPath: samples) }
        var candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Samples")
        ]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("Samples"))
            dir = dir.deletingLastPathComponent()
        }
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("keys.demo.json").path) {
            return candidate
        }
        throw Failure("cannot find Samples/ (with keys.demo.json); pass --samples DIR")
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write synthetic feeds, deterministic for a seed: the Samples set, or a load feed for benchmarks.")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Seed (same seed, same files).") var seed: UInt64 = FeedGenerator.samplesSeed
    @Option(help: "Messages in a load feed; omit to write the realistic Samples set.") var messages: Int?
    @Option(help: "Share of invalid messages in a load feed.") var invalidFraction: Double = 0.01
    @Option(help: "Load feed format: jsonl (per topic .jsonl and kcat-ready .keyed) or csv.") var format: String =
        "jsonl"

    func run() throws {
        let generator = FeedGenerator(seed: seed)
        let dir = URL(fileURLWithPath: out)
        if let messages {
            guard let format = FeedGenerator.LoadFormat(rawValue: format) else {
                throw Failure("--format must be jsonl or csv")
            }
            let summary = try generator.writeLoad(
                to: dir, messages: messages, invalidFraction: invalidFraction, format: format)
            print("wrote \(summary.messages) messages (\(summary.invalid) invalid) to \(dir.path)")
        } else {
            let summary = try generator.writeSamples(to: dir)
            print("wrote \(summary.files.count) sample files to \(dir.path)")
        }
    }
}
