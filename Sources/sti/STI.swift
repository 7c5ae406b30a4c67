import ArgumentParser
import Foundation
import Kafka
import Logging
import STIFeedGenerator
import STIPipeline
import STIProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// `sti`: the command-line tool of sti-pipeline.
@main
struct STI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sti",
        abstract: "Kunming science-and-technology statistics over Kafka: submit feeds, aggregate snapshots.",
        discussion: """
            Every option can also be set in the environment (STI_BROKERS, STI_OUT, …) or in a config file \
            (--config or STI_CONFIG, KEY=VALUE lines). Precedence: flag > environment > file > default.
            """,
        version: stiVersion,
        subcommands: [
            AggregateCommand.self, SubmitCommand.self, ValidateCommand.self, TopicsCommand.self, StatusCommand.self,
            GenerateCommand.self, DemoCommand.self, TemplateCommand.self, ExplainCommand.self, ReportCommand.self,
        ])

    /// SIGPIPE is ignored process-wide before anything else runs: a peer that resets a socket
    /// (a metrics scraper, a broker) must cost an EPIPE error on that write, never the process
    /// (hostile review #2: one RST to the metrics endpoint ended `sti aggregate --follow` with
    /// rc 141). librdkafka and NIO avoid the signal on their own sockets; this covers the rest.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        await main(nil)
    }
}

/// Options shared by every command that talks to Kafka.
struct KafkaOptions: ParsableArguments {
    @Option(name: .long, help: "Bootstrap servers, host:port[,host:port…] (STI_BROKERS).")
    var brokers: String?

    @Option(
        name: .customShort("X"),
        help: ArgumentHelp("A librdkafka property, key=value (repeatable), as kcat -X.", valueName: "key=value"))
    var properties: [String] = []

    @Option(name: .long, help: "File of librdkafka properties, key=value lines, e.g. SASL/TLS (STI_KAFKA_CONFIG).")
    var kafkaConfig: String?

    @Option(name: .long, help: "Topic prefix (STI_TOPIC_PREFIX, default sti).")
    var topicPrefix: String?

    @Option(name: .long, help: "Config file of STI_* settings (STI_CONFIG).")
    var config: String?

    @Option(name: .long, help: "Seconds to wait for the brokers before failing (STI_TIMEOUT, default 30).")
    var timeout: Int?

    func settings() throws -> Settings { try Settings(configFile: config) }

    /// librdkafka properties: the file first, then each -X (a flag wins over the file). Those
    /// sti sets from its own options (group.id, bootstrap.servers) are refused, naming the option.
    func kafkaProperties(_ settings: Settings) throws -> [String: String] {
        var result: [String: String] = [:]
        var origin: [String: String] = [:]
        if let file = settings.value("STI_KAFKA_CONFIG", flag: kafkaConfig) {
            for (key, value) in try KafkaConfiguration.properties(fromFile: file) {
                result[key] = value
                origin[key] = kafkaConfig != nil ? "--kafka-config \(file)" : "STI_KAFKA_CONFIG \(file)"
            }
        }
        for assignment in properties {
            let (key, value) = try KafkaConfiguration.parseProperty(assignment)
            result[key] = value
            origin[key] = "-X"
        }
        try KafkaPassThrough.check(result, origin: origin)
        return result
    }

    func topicPrefix(_ settings: Settings) -> String {
        settings.value("STI_TOPIC_PREFIX", flag: topicPrefix) ?? Defaults.topicPrefix
    }

    func timeout(_ settings: Settings) throws -> Duration {
        .seconds(
            try settings.integer("STI_TIMEOUT", flag: timeout, default: 30, range: 1...3600, flagName: "--timeout"))
    }
}

/// Errors reach the user as one clear line and a non-zero exit, never a stack trace.
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func loadRegistry(_ path: String?) throws -> Registry {
    guard let path else { return .kunming }
    return try Registry.load(contentsOf: URL(fileURLWithPath: path))
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
