public import ArgumentParser
import Foundation
import Kafka
import STIPipeline
import STIProtocol

#if canImport(Glibc)
    import Glibc
#endif

extension RecordKind: ExpressibleByArgument {}
extension FeedReader.Encoding: ExpressibleByArgument {}

/// Options shared by `submit` and `validate`: how to read the feed files.
struct FeedOptions: ParsableArguments {
    @Option(help: "Record kind: rd, tech-contract or county-profile (default: from the file name).")
    var kind: RecordKind?

    @Option(help: "County code for rows without a county column.")
    var county: String?

    @Option(help: "Encoding of the files: utf-8 (default) or gb18030 (also reads GBK).")
    var encoding: FeedReader.Encoding = .utf8

    @Option(help: "Registry file replacing the built-in one (STI_REGISTRY).")
    var registry: String?

    @Option(help: "Sheet of .xlsx workbooks to read (default: the first sheet).")
    var sheet: String?

    @Argument(
        help: "Feed files: .csv (header row = protocol field names or their Chinese names), .jsonl, or .xlsx workbooks."
    )
    var files: [String]

    func submitter(topicPrefix: String, settings: Settings) throws -> Submitter {
        var options = Submitter.Options(
            kind: kind, county: county, encoding: encoding,
            registry: try loadRegistry(settings.value("STI_REGISTRY", flag: registry)),
            topicPrefix: topicPrefix)
        options.sheet = sheet
        return Submitter(options: options)
    }

    /// Checks every row; prints every problem; throws when any row is bad.
    func check(_ submitter: Submitter, submittedAt: String) throws -> Submitter.CheckResult {
        let result = submitter.check(paths: files, submittedAt: submittedAt)
        for problem in result.problems { printError(problem.description) }
        if !result.problems.isEmpty {
            let rows = result.problems.filter { $0.fileError == nil }.count
            let files = result.problems.filter { $0.fileError != nil }.count
            printError("\(rows) invalid row(s)\(files > 0 ? " and \(files) unreadable file(s)" : ""); nothing was sent")
            throw ExitCode.failure
        }
        return result
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check feed files offline with the aggregator's own rules; no broker needed.")

    @OptionGroup var feed: FeedOptions
    @Option(help: "Config file of STI_* settings (STI_CONFIG).") var config: String?

    func run() throws {
        let settings = try Settings(configFile: config)
        let submitter = try feed.submitter(topicPrefix: Defaults.topicPrefix, settings: settings)
        let result = try feed.check(submitter, submittedAt: rfc3339Now())
        let warnings = submitter.warnings(of: result)
        for warning in warnings { printError(warning.description) }
        let held = Set(warnings.map { "\($0.path):\($0.line)" }).count
        print(
            "\(result.rowCount) row(s) in \(result.files.count) file(s): all valid"
                + (held > 0
                    ? "; \(held) row(s) with plausibility warnings and no explanation would be held by the aggregator"
                    : ""))
    }
}

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Send feed files to the submission topics, after checking every row.",
        discussion: """
            Every row is checked first with the aggregator's rules; if any row is invalid nothing is sent \
            and every bad row is listed. Rows become records keyed by county; schema and submitted_at \
            are filled in, revision defaults to 1. With --keys and --key-id every message is signed.
            """)

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var feed: FeedOptions
    @Option(help: "Keys file holding the signing key (STI_KEYS).") var keys: String?
    @Option(help: "Id of the signing key in the keys file.") var keyId: String?
    @Flag(help: "Send rows with unexplained plausibility warnings anyway (the aggregator holds them until explained).")
    var sendHeld = false

    func run() throws {
        let settings = try kafka.settings()
        let brokers = try settings.required("STI_BROKERS", flag: kafka.brokers, flagName: "--brokers")
        let prefix = kafka.topicPrefix(settings)
        let submitter = try feed.submitter(topicPrefix: prefix, settings: settings)
        let checked = try feed.check(submitter, submittedAt: rfc3339Now())
        let warnings = submitter.warnings(of: checked)
        for warning in warnings { printError(warning.description) }
        let held = Set(warnings.map { "\($0.path):\($0.line)" }).count
        if held > 0 && !sendHeld {
            printError(
                "\(held) row(s) would be held by the aggregator until explained: add an `explanation` column, or pass --send-held to send them anyway; nothing was sent"
            )
            throw ExitCode.failure
        }
        if held > 0 {
            printError(
                "sending \(held) row(s) that the aggregator will hold until they are sent again with an explanation")
        }

        var signer: Submitter.Signer?
        if let keyId {
            guard let path = settings.value("STI_KEYS", flag: keys) else { throw Failure("--key-id needs --keys") }
            if let warning = KeyRing.permissionWarning(forFileAt: path) { printError("warning: \(warning)") }
            let ring = try KeyRing.load(contentsOf: URL(fileURLWithPath: path))
            guard let info = ring.keys.first(where: { $0.id == keyId }) else {
                throw Failure("--key-id \(keyId) is not in \(path)")
            }
            let foreign = checked.files.flatMap(\.rows).compactMap(\.key).filter { $0 != info.county }
            if let other = foreign.first {
                throw Failure(
                    "key \(keyId) belongs to \(info.county), but rows are for \(other): the aggregator would reject them with E_AUTH; nothing was sent"
                )
            }
            signer = Submitter.Signer(keyRing: ring, keyId: keyId)
        } else if keys != nil {
            throw Failure("--keys needs --key-id to know which key signs")
        }

        let config = try Submitter.producerConfiguration(
            bootstrapServers: brokers, properties: try kafka.kafkaProperties(settings))
        let producer = try KafkaProducer(configuration: config)
        let interactive = isatty(STDERR_FILENO) == 1
        let started = ContinuousClock.now
        let timeout = try kafka.timeout(settings)
        let report: Submitter.Report
        do {
            report = try submitter.send(checked, producer: producer, signer: signer, timeout: timeout) { done, total in
                guard interactive else { return }
                let seconds = max(
                    0.001,
                    Double((ContinuousClock.now - started).components.seconds) + Double(
                        (ContinuousClock.now - started).components.attoseconds) / 1e18)
                FileHandle.standardError.write(
                    Data("\r\(done)/\(total) records, \(Int(Double(done) / seconds)) records/s".utf8))
            }
        } catch let error as FeedError {
            throw Failure(error.description)
        } catch {
            // Typically the brokers cannot be reached: say which, and that re-sending is safe
            // (a re-sent row is a duplicate, counted and not rejected).
            throw Failure(
                "could not deliver to the brokers at \(brokers) within \(timeout): \(error); some rows may have arrived, re-sending the files is safe"
            )
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        try? producer.close(timeout: .seconds(5))
        for failure in report.failed { printError("\(failure.path):\(failure.line): not delivered: \(failure.error)") }
        print("sent \(report.sent), failed \(report.failed.count)")
        if !report.failed.isEmpty { throw ExitCode.failure }
    }
}

struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Manage the protocol's topics.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the submission topics and sti.rejected (idempotent).",
            discussion:
                "Submission topics keep everything (retention.ms=-1, no compaction): the log is the audit trail.")

        @OptionGroup var kafka: KafkaOptions
        @Option(help: "Partitions per topic.") var partitions: Int32 = 6
        @Option(help: "Replication factor.") var replicationFactor: Int32 = 1
        @Option(help: "min.insync.replicas (default: not set).") var minInsyncReplicas: Int?

        func run() throws {
            let settings = try kafka.settings()
            let brokers = try settings.required("STI_BROKERS", flag: kafka.brokers, flagName: "--brokers")
            guard (1...10_000).contains(partitions) else { throw Failure("--partitions must be between 1 and 10000") }
            guard (1...100).contains(replicationFactor) else {
                throw Failure("--replication-factor must be between 1 and 100")
            }
            var config = KafkaConfiguration(bootstrapServers: brokers)
            for (key, value) in try kafka.kafkaProperties(settings) { config.set(key, value) }
            let admin = try KafkaAdmin(configuration: config)
            let topics = TopicLayout.topics(
                prefix: kafka.topicPrefix(settings), partitions: partitions,
                replicationFactor: replicationFactor, minInsyncReplicas: minInsyncReplicas)
            let results: [CreateTopicResult]
            do { results = try admin.createTopics(topics, timeout: try kafka.timeout(settings)) } catch {
                throw Failure("cannot create topics on the brokers at \(brokers): \(error)")
            }
            var failed = false
            for result in results {
                if result.alreadyExisted {
                    print("\(result.name): already exists")
                } else if let error = result.error {
                    printError("\(result.name): \(error)")
                    failed = true
                } else {
                    print("\(result.name): created")
                }
            }
            if failed { throw ExitCode.failure }
        }
    }
}

/// Now, as bureaus write it: RFC 3339 at UTC+8 (protocol section 3).
func rfc3339Now() -> String {
    RFC3339Timestamp.format(epochSeconds: Int64(Date().timeIntervalSince1970), offsetMinutes: 480)
}
