public import Foundation

/// Where every setting of the `sti` tool comes from, resolved in one place with one rule:
/// command-line flag > environment (`STI_…`) > config file (`--config`/`STI_CONFIG`) > default.
///
/// The config file uses the same `KEY=VALUE` syntax as a systemd `EnvironmentFile=`, so one
/// `/etc/sti/sti.env` serves both. A key this program does not know is an error naming the
/// line: a misspelt setting must not be silently ignored.
public struct Settings: Sendable {
    /// Every setting name the tool reads, with what it means (printed by `sti aggregate --help`).
    public static let known: [String: String] = [
        "STI_BROKERS": "bootstrap servers, host:port[,host:port…]",
        "STI_OUT": "snapshot folder",
        "STI_STATE": "state database (SQLite) of the aggregator",
        "STI_KEYS": "keys file for signature checks (section 4 of the protocol)",
        "STI_REGISTRY": "geography registry file replacing the built-in one",
        "STI_GROUP": "consumer group id under which offsets are committed (default sti-aggregator)",
        "STI_TOPIC_PREFIX": "topic prefix (default sti)",
        "STI_KAFKA_CONFIG": "file of librdkafka properties, key=value lines (SASL, TLS…)",
        "STI_TIMEOUT": "seconds to wait for the brokers before failing (default 30)",
        "STI_LOG_FORMAT": "text or json (default text)",
        "STI_METRICS_FILE": "node-exporter textfile written after each run",
        "STI_METRICS_PORT": "[HOST:]PORT of the Prometheus endpoint in --follow mode (a bare port binds 127.0.0.1)",
        "STI_METRICS_DEADLINE":
            "seconds a connection to the Prometheus endpoint may stay open from accept (default 5)",
        "STI_INTERVAL": "seconds between snapshots in --follow mode (default 60)",
        "STI_FOLLOW": "true: keep running as with --follow; false (default): one run",
        "STI_BATCH_SIZE": "messages per batch, one state transaction each (default \(Defaults.batchSize))",
        "STI_MAX_MESSAGES":
            "at most this many messages per aggregation run; 0 (default): up to the log ends seen at its start",
        "STI_CONFIG": "this config file",
    ]

    public var environment: [String: String]
    public var file: [String: String]

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: String? = nil
    ) throws(SettingsError) {
        self.environment = environment
        let path = configFile ?? environment["STI_CONFIG"]
        self.file = try path.map { (p: String) throws(SettingsError) in try Self.parseFile(p) } ?? [:]
    }

    /// The value of a setting: the flag if given, else the environment, else the file.
    public func value(_ name: String, flag: String?) -> String? {
        precondition(Self.known[name] != nil, "unknown setting \(name)")
        if let flag { return flag }
        if let env = environment[name], !env.isEmpty { return env }
        return file[name]
    }

    /// A required setting; the error names the flag, the variable and the file.
    public func required(_ name: String, flag: String?, flagName: String) throws(SettingsError) -> String {
        guard let value = value(name, flag: flag), !value.isEmpty else {
            throw SettingsError(
                .missing, "missing \(flagName): give it on the command line, in \(name), or in the config file")
        }
        return value
    }

    /// An integer setting with a default, checked against its range.
    public func integer(
        _ name: String, flag: Int?, default defaultValue: Int, range: ClosedRange<Int>, flagName: String
    ) throws(SettingsError) -> Int {
        let number: Int
        if let flag {
            number = flag
        } else if let text = value(name, flag: nil) {
            guard let parsed = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw SettingsError(.malformed, "\(name)=\(text) is not a whole number")
            }
            number = parsed
        } else {
            number = defaultValue
        }
        guard range.contains(number) else {
            throw SettingsError(
                .outOfRange, "\(flagName) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// A yes/no setting: the flag if given (`--x` or `--no-x`), else `true`/`false` (also
    /// `1`/`0`, `yes`/`no`, any case) from the environment or the file, else `false`. Anything
    /// else is an error naming the setting: a typo must not silently mean "no".
    public func boolean(_ name: String, flag: Bool?) throws(SettingsError) -> Bool {
        if let flag { return flag }
        guard let text = value(name, flag: nil) else { return false }
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no", "": return false
        default: throw SettingsError(.malformed, "\(name)=\(text) is neither true nor false")
        }
    }

    /// Parses a `KEY=VALUE` file: blank lines and `#` comments skipped, optional `export `,
    /// values optionally in single or double quotes.
    public static func parseFile(_ path: String) throws(SettingsError) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError(.unreadable, "cannot read config file \(path)")
        }
        var result: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                // Not echoed: a line pasted here by mistake may hold a password.
                let name = line.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                let shown =
                    name.hasPrefix("STI_")
                    ? "a line starting with \(name) but without '='" : "\(line.count) characters without '='"
                throw SettingsError(
                    .malformed,
                    "\(path):\(index + 1): expected KEY=VALUE, got \(shown) (the line is not shown: it may hold a secret)"
                )
            }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard known[key] != nil else {
                throw SettingsError(
                    .notAllowed,
                    "\(path):\(index + 1): unknown setting \(key) (known: \(known.keys.sorted().joined(separator: ", ")))"
                )
            }
            guard key != "STI_CONFIG" else {
                throw SettingsError(.notAllowed, "\(path):\(index + 1): STI_CONFIG cannot be set inside a config file")
            }
            result[key] = value
        }
        return result
    }
}

/// A setting that is missing, malformed or out of range: which (`code`) and a sentence naming
/// the setting, its source and the rule.
public struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A required setting given nowhere.
        case missing
        /// Not a whole number, not true/false, not KEY=VALUE.
        case malformed
        /// A number outside its range.
        case outOfRange
        /// The config file cannot be read.
        case unreadable
        /// A name the config file may not set (unknown, STI_CONFIG itself, a librdkafka
        /// property sti sets from its own options).
        case notAllowed
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// The librdkafka properties passed through unchanged (`-X`, `--kafka-config`,
/// `STI_KAFKA_CONFIG`) may not set what sti sets itself from its own options: such a line was
/// silently overridden (`group.id`, `bootstrap.servers` from -X) or dropped (all three from a
/// file). `client.id` is honoured, by every client of every command.
public enum KafkaPassThrough {
    /// The properties sti owns, with the option that sets each.
    public static let owned: [String: String] = [
        "group.id": "the aggregator's consumer group is set with --group (STI_GROUP); no other command uses one",
        "bootstrap.servers": "the brokers are set with --brokers (STI_BROKERS)",
        "metadata.broker.list": "the brokers are set with --brokers (STI_BROKERS)",
    ]

    /// Fails on the first owned property; `origin` says where each key was given.
    public static func check(_ properties: [String: String], origin: [String: String] = [:]) throws(SettingsError) {
        for key in properties.keys.sorted() {
            guard let why = owned[key] else { continue }
            let place = origin[key].map { " (in \($0))" } ?? ""
            throw SettingsError(
                .notAllowed, "the librdkafka property \(key)\(place) cannot be set here: \(why); remove it")
        }
    }
}
