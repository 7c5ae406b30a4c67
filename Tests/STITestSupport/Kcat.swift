import Foundation

/// One message as kcat consumed it, bytes exactly as stored.
public struct KcatRecord: Sendable, Hashable {
    public let partition: Int32
    public let offset: Int64
    /// nil for a message without a key.
    public let key: [UInt8]?
    /// nil for a null value.
    public let value: [UInt8]?
    /// kcat's rendering of the headers: `k1=v1,k2=v2` (empty when none).
    public let headers: String

    public init(partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: String) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// kcat, the independent Kafka client, as a test oracle: what it writes our consumer must read,
/// what our producer writes it must read back byte for byte.
public struct Kcat: Sendable {
    public let brokers: String
    /// Extra environment (librdkafka 2.16 on `LD_LIBRARY_PATH` when the broker is Tansu).
    public let environment: [String: String]

    public init(brokers: String, environment: [String: String] = [:]) {
        self.brokers = brokers
        self.environment = environment
    }

    /// kcat for a Tansu broker (run with librdkafka 2.16).
    public init(tansu: TansuBroker) {
        self.init(brokers: tansu.bootstrapServers, environment: tansu.clientEnvironment)
    }

    /// Produces one message per line. With `keyDelimiter`, each line is `key<delimiter>value`
    /// (kcat `-K`); every message gets all `headers` (kcat `-H key=value`). Keyed messages are
    /// placed by Kafka's murmur2 partitioner, as protocol section 2 requires; pass nil for
    /// kcat's own default (CRC32), which puts counties on other partitions.
    public func produce(
        topic: String, lines: [String], keyDelimiter: String? = "\t", headers: [(String, String)] = [],
        partition: Int32? = nil, partitioner: String? = "murmur2_random", extraArguments: [String] = [],
        timeout: Duration = .seconds(60)
    ) throws {
        var arguments = ["-P", "-b", brokers, "-t", topic]
        if let partitioner { arguments += ["-X", "partitioner=\(partitioner)"] }
        if let keyDelimiter { arguments += ["-K", keyDelimiter] }
        for (key, value) in headers { arguments += ["-H", "\(key)=\(value)"] }
        if let partition { arguments += ["-p", String(partition)] }
        arguments += extraArguments
        let input = Array(lines.joined(separator: "\n").utf8) + [UInt8(ascii: "\n")]
        let result = try ChildProcess.run("kcat", arguments, environment: environment, stdin: input, timeout: timeout)
        guard result.succeeded, !result.stderrText.contains("ERROR"), !result.stderrText.contains("Failed") else {
            throw TestEnvironmentError("kcat produce failed (\(result.status)): \(result.stderrText.suffix(2000))")
        }
    }

    /// Consumes every partition of `topic` from the beginning until the end (kcat `-e`).
    public func consume(
        topic: String, extraArguments: [String] = [], timeout: Duration = .seconds(60)
    ) throws -> [KcatRecord] {
        let arguments =
            ["-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-f", "%p %o %K %S\n%k%s\n%h\n"]
            + extraArguments
        let result = try ChildProcess.run("kcat", arguments, environment: environment, timeout: timeout)
        guard result.succeeded else {
            throw TestEnvironmentError("kcat consume failed (\(result.status)): \(result.stderrText.suffix(2000))")
        }
        return try Self.parse(result.stdout)
    }

    /// kcat `-L` output.
    public func metadata(timeout: Duration = .seconds(30)) throws -> String {
        let result = try ChildProcess.run("kcat", ["-L", "-b", brokers], environment: environment, timeout: timeout)
        guard result.succeeded else {
            throw TestEnvironmentError("kcat -L failed (\(result.status)): \(result.stderrText.suffix(2000))")
        }
        return result.stdoutText
    }

    /// Parses the `%p %o %K %S\n%k%s\n%h\n` format: lengths first, so any bytes survive.
    public static func parse(_ output: [UInt8]) throws -> [KcatRecord] {
        var records: [KcatRecord] = []
        var index = 0
        func line() throws -> String {
            guard let end = output[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw TestEnvironmentError("kcat output truncated at byte \(index)")
            }
            defer { index = end + 1 }
            return String(decoding: output[index..<end], as: UTF8.self)
        }
        func bytes(_ count: Int) throws -> [UInt8]? {
            guard count >= 0 else { return nil }
            guard index + count <= output.count else { throw TestEnvironmentError("kcat output truncated") }
            defer { index += count }
            return Array(output[index..<index + count])
        }
        while index < output.count {
            let fields = try line().split(separator: " ")
            guard fields.count == 4, let partition = Int32(fields[0]), let offset = Int64(fields[1]),
                let keyLength = Int(fields[2]), let valueLength = Int(fields[3])
            else { throw TestEnvironmentError("unexpected kcat record header: \(fields)") }
            let key = try bytes(keyLength)
            let value = try bytes(valueLength)
            guard index < output.count, output[index] == UInt8(ascii: "\n") else {
                throw TestEnvironmentError("kcat record not followed by a newline at byte \(index)")
            }
            index += 1
            let headers = try line()
            records.append(KcatRecord(partition: partition, offset: offset, key: key, value: value, headers: headers))
        }
        return records
    }
}
