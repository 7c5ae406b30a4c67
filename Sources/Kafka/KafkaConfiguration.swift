import CRdKafka
import Foundation

/// Everything needed to connect a producer, consumer or admin client: the few values every
/// program sets (typed) and any other librdkafka property passed through verbatim, as kcat's
/// `-X key=value` does (SASL, TLS, timeouts, ...).
///
/// Nothing is checked when values are set; `validate()` (and every client's initializer) hands
/// all of them to librdkafka's `rd_kafka_conf_set` in one place and throws
/// `KafkaConfigurationError` with librdkafka's own text for the first one it rejects.
public struct KafkaConfiguration: Sendable, CustomStringConvertible {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// `client.id`, shown in broker logs.
    public var clientId: String?
    /// `group.id`: needed by a consumer for `subscribe` and `commit`, not for `assign`.
    public var groupId: String?
    /// Any other librdkafka property. The typed fields above win over the same keys here.
    public var properties: [String: String]

    public init(
        bootstrapServers: String, clientId: String? = nil, groupId: String? = nil, properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientId = clientId
        self.groupId = groupId
        self.properties = [:]
        for (key, value) in properties { set(key, value) }
    }

    /// Sets a librdkafka property; `bootstrap.servers`, `client.id` and `group.id` go to the
    /// typed fields so the two can never disagree.
    public mutating func set(_ key: String, _ value: String) {
        switch key {
        case "bootstrap.servers", "metadata.broker.list": bootstrapServers = value
        case "client.id": clientId = value
        case "group.id": groupId = value
        default: properties[key] = value
        }
    }

    /// Sets a property given as `key=value` (kcat's `-X` syntax).
    public mutating func set(_ assignment: String) throws(KafkaConfigurationError) {
        let (key, value) = try Self.parseProperty(assignment)
        set(key, value)
    }

    /// Splits `key=value` at the first `=`; surrounding blanks are dropped, the key must not be empty.
    /// A malformed assignment is never echoed (it may hold a password, as in the Java
    /// properties form `sasl.password: secret`): the error shows at most its key part.
    public static func parseProperty(_ text: String) throws(KafkaConfigurationError) -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "=") else {
            throw KafkaConfigurationError(
                key: nil,
                message: "expected key=value, \(describeMalformed(text)) (the text is not shown: it may hold a secret)")
        }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else {
            throw KafkaConfigurationError(
                key: nil,
                message:
                    "expected key=value, got an empty key before '=' (the value is not shown: it may hold a secret)")
        }
        // `sasl.password: secret=x` would otherwise become a property named after the secret.
        guard !key.contains(where: { $0 == ":" || $0.isWhitespace }) else {
            throw KafkaConfigurationError(
                key: nil,
                message:
                    "expected key=value, \(describeMalformed(String(key))) (the text is not shown: it may hold a secret)"
            )
        }
        return (key, value)
    }

    /// What may be said about a line that is not `key=value`: its key part (up to the first
    /// `:`, blank or `=`) when that looks like a property name (`sasl.password`), else only
    /// its length, since a line without a separator may be a pasted secret.
    static func describeMalformed(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let keyPart = trimmed.prefix { $0 != ":" && $0 != "=" && !$0.isWhitespace }
        let looksLikeName =
            keyPart.count <= 64 && keyPart.contains(".") && keyPart.first?.isLetter == true
            && keyPart.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
            }
        guard looksLikeName else { return "got \(trimmed.count) characters without '='" }
        let rest = trimmed.dropFirst(keyPart.count).drop { $0.isWhitespace }
        if rest.isEmpty { return "got \(keyPart) without '=' and a value" }
        let hint = rest.first == ":" ? "; write \(keyPart)=… (the ':' of Java properties files is not read here)" : ""
        return "got a line starting with \(keyPart) but without '='\(hint)"
    }

    /// Parses a properties file's text: one `key=value` per line; blank lines and lines whose
    /// first non-blank character is `#` are ignored. Errors name the line.
    public static func parseProperties(fileContents: String) throws(KafkaConfigurationError) -> [String: String] {
        var result: [String: String] = [:]
        var lineNumber = 0
        // `isNewline` also matches "\r\n", which Swift treats as one Character.
        for rawLine in fileContents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                let (key, value) = try parseProperty(line)
                result[key] = value
            } catch {
                throw KafkaConfigurationError(key: nil, message: "line \(lineNumber): \(error.message)")
            }
        }
        return result
    }

    /// Adds the properties of a file of `key=value` lines (for SASL/TLS settings kept out of
    /// command lines). Later files and later lines win.
    public mutating func loadProperties(fromFile path: String) throws(KafkaConfigurationError) {
        for (key, value) in try Self.properties(fromFile: path).sorted(by: { $0.key < $1.key }) { set(key, value) }
    }

    /// The properties of a file of `key=value` lines, every key as written (`client.id`,
    /// `group.id` and `bootstrap.servers` included). Errors name the file and line.
    public static func properties(fromFile path: String) throws(KafkaConfigurationError) -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KafkaConfigurationError(
                key: nil, message: "cannot read properties file \(path): \(error.localizedDescription)")
        }
        let parsed: [String: String]
        do {
            parsed = try Self.parseProperties(fileContents: text)
        } catch {
            throw KafkaConfigurationError(key: nil, message: "\(path): \(error.message)")
        }
        return parsed
    }

    /// Every property as librdkafka will receive it, typed fields included.
    public var allProperties: [String: String] {
        var all = properties
        all["bootstrap.servers"] = bootstrapServers
        if let clientId { all["client.id"] = clientId }
        if let groupId { all["group.id"] = groupId }
        return all
    }

    /// Checks every property with librdkafka without connecting anywhere.
    public func validate() throws(KafkaConfigurationError) {
        let conf = try makeNative()
        rd_kafka_conf_destroy(conf)
    }

    /// The properties with secrets (anything whose key mentions password, secret or key
    /// material) masked, safe to log.
    public var description: String {
        let shown = allProperties.sorted(by: { $0.key < $1.key }).map { key, value in
            Self.isSecret(key) ? "\(key)=***" : "\(key)=\(value)"
        }
        return "KafkaConfiguration(\(shown.joined(separator: ", ")))"
    }

    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret") || lowered.hasSuffix(".key.pem")
            || lowered.contains("sasl.oauthbearer.config") || lowered.hasSuffix("jaas.config")
    }

    /// librdkafka's text with the values of secret properties masked: its errors quote values
    /// (`Invalid value "…" for configuration property "sasl.password"`). For an error about
    /// a secret property `key`, every quoted part but the property's name is masked too, in
    /// case librdkafka quoted the value shortened or escaped.
    static func redacted(_ message: String, key: String?, properties: [String: String]) -> String {
        var text = message
        for (name, value) in properties where isSecret(name) && !value.isEmpty {
            text = text.replacingOccurrences(of: "\"\(value)\"", with: "\"***\"")
            if value.count >= 4 { text = text.replacingOccurrences(of: value, with: "***") }
        }
        guard let key, isSecret(key) else { return text }
        var out = ""
        var quoted: String?
        for character in text {
            if character == "\"" {
                if let inside = quoted {
                    out += inside == key ? "\"\(key)\"" : "\"***\""
                    quoted = nil
                } else {
                    quoted = ""
                }
            } else if quoted != nil {
                quoted!.append(character)
            } else {
                out.append(character)
            }
        }
        if quoted != nil { out += "\"***" }
        return out
    }

    /// Builds an `rd_kafka_conf_t` (caller owns it).
    ///
    /// - Parameters:
    ///   - defaults: applied first; the caller's own properties override them.
    ///   - required: properties this library depends on. A caller value that differs is
    ///     rejected rather than silently replaced, so nobody believes a setting took effect.
    func makeNative(
        defaults: [String: String] = [:], required: [String: String] = [:]
    ) throws(KafkaConfigurationError) -> OpaquePointer {
        let mine = allProperties
        for (key, value) in required.sorted(by: { $0.key < $1.key }) {
            if let given = mine[key], given.lowercased() != value.lowercased() {
                throw KafkaConfigurationError(
                    key: key,
                    message: "must be \(value) here: this client stores and commits offsets only when told to")
            }
        }
        var merged = defaults
        for (key, value) in mine { merged[key] = value }
        for (key, value) in required { merged[key] = value }

        guard let conf = rd_kafka_conf_new() else {
            throw KafkaConfigurationError(key: nil, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        // Sorted so that any order-dependent interaction is at least reproducible.
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaConfigurationError(
                    key: key, message: Self.redacted(string(fromNullTerminated: errstr), key: key, properties: merged))
            }
        }
        return conf
    }
}

/// Creates an `rd_kafka_t` from a configuration it takes ownership of (librdkafka frees it on
/// success; this function frees it on failure), turning librdkafka's refusal into a
/// `KafkaConfigurationError` with its text.
func makeClient(
    type: rd_kafka_type_t, configuration conf: OpaquePointer,
    properties: [String: String] = [:]
) throws(KafkaConfigurationError) -> OpaquePointer {
    var errstr = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
        let message = KafkaConfiguration.redacted(string(fromNullTerminated: errstr), key: nil, properties: properties)
        rd_kafka_conf_destroy(conf)
        throw KafkaConfigurationError(key: nil, message: message)
    }
    return handle
}
