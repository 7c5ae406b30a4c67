// End-to-end support: the built `sti` run as a child process against a real broker (Tansu),
// messages produced and read back with kcat, and the small parsers the checks need.
//
// Everything here is an independent oracle: kcat is another Kafka client, the CSV and JSON
// parsers are the test's own, and expected figures are computed by the tests, not by the
// product's code.
import Foundation
import Kafka
import STITestSupport
import Testing

/// Parent of every end-to-end suite: they run one at a time, because each starts a broker and
/// several child processes on a 2-core machine, and a crowded machine would turn the tools'
/// own timeouts into false failures.
@Suite(.serialized, .normalRun)
struct EndToEnd {}

/// One message for kcat to produce: bytes exactly as given.
struct Outgoing: Sendable {
    var topic: String
    /// nil: the message has no key.
    var key: String?
    var value: [UInt8]
    var headers: [(String, String)] = []
    /// kcat's `-X partitioner=`: murmur2, as section 2 asks; nil for kcat's own default
    /// (CRC32), which puts some counties on other partitions.
    var partitioner: String? = "murmur2_random"

    init(topic: String, key: String?, value: [UInt8], headers: [(String, String)] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    init(topic: String, key: String?, json: String, headers: [(String, String)] = []) {
        self.init(topic: topic, key: key, value: Array(json.utf8), headers: headers)
    }
}

/// Where a produced message landed.
struct Placement: Hashable, Sendable, CustomStringConvertible {
    var topic: String
    var partition: Int32
    var offset: Int64
    var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// One broker with the tools around it: `sti` and kcat as child processes (with librdkafka
/// 2.16 on `LD_LIBRARY_PATH`, the only version that talks to Tansu), and a scratch folder.
///
/// Every blocking step (a broker starting, a child process) is awaited on a thread of its own,
/// while the test body stays in its task: Swift Testing attributes an `#expect` to a test
/// through the task, so checks must not run on those threads.
final class Bench: @unchecked Sendable {
    /// nil for an offline bench, whose `brokers` is a closed loopback port.
    let broker: TansuBroker?
    let brokers: String
    let stiPath: String
    let environment: [String: String]
    let scratch: TemporaryDirectory
    let kcat: Kcat
    private var counter = 0

    init(broker: TansuBroker?) throws {
        self.broker = broker
        brokers = try broker?.bootstrapServers ?? "127.0.0.1:\(FreePort.allocate())"
        stiPath = try KafkaTestEnvironment.builtProduct(named: "sti")
        environment = try KafkaTestEnvironment.tansuClientEnvironment()
        scratch = try TemporaryDirectory(prefix: "sti-e2e")
        kcat = Kcat(brokers: brokers, environment: environment)
    }

    /// Runs `body` with a fresh broker and bench; the broker is stopped and the scratch folder
    /// removed afterwards, whatever happens.
    static func with<T>(_ body: (Bench) async throws -> T) async throws -> T {
        let broker = try await onDedicatedThread { try TansuBroker() }
        return try await run(broker: broker, body)
    }

    /// Runs `body` with a bench whose brokers are a loopback port nobody listens on.
    static func offline<T>(_ body: (Bench) async throws -> T) async throws -> T {
        try await run(broker: nil, body)
    }

    private static func run<T>(broker: TansuBroker?, _ body: (Bench) async throws -> T) async throws -> T {
        let bench: Bench
        do { bench = try Bench(broker: broker) } catch {
            if let broker { _ = try? await onDedicatedThread { broker.stop() } }
            throw error
        }
        do {
            let result = try await body(bench)
            await bench.close()
            return result
        } catch {
            await bench.close()
            throw error
        }
    }

    private func close() async {
        scratch.remove()
        if let broker { _ = try? await onDedicatedThread { broker.stop() } }
    }

    /// Runs the built `sti` with the Tansu client environment; never hangs past `timeout`.
    func sti(_ arguments: [String], timeout: Duration = .seconds(180)) async throws -> ProcessResult {
        let (path, environment) = (stiPath, self.environment)
        return try await onDedicatedThread {
            try ChildProcess.run(path, arguments, environment: environment, timeout: timeout)
        }
    }

    /// `sti topics create` for the protocol's four topics.
    func createTopics(prefix: String = "sti", partitions: Int = 3) async throws {
        let result = try await sti([
            "topics", "create", "--brokers", brokers, "--topic-prefix", prefix,
            "--partitions", String(partitions), "--timeout", "30",
        ])
        guard result.succeeded else {
            throw TestEnvironmentError("sti topics create failed (\(result.status)): \(result.stderrText)")
        }
        for suffix in ["rd", "tech-contracts", "county-profiles", "rejected"] {
            guard result.stdoutText.contains("\(prefix).\(suffix): created") else {
                throw TestEnvironmentError("sti topics create did not report \(prefix).\(suffix): \(result.stdoutText)")
            }
        }
    }

    /// Produces one message with kcat: the value is a file, so any bytes (invalid UTF-8,
    /// newlines, 70 KB) travel unchanged as one message.
    func produce(_ message: Outgoing) async throws {
        counter += 1
        let file = scratch.file("message-\(counter).bin")
        guard FileManager.default.createFile(atPath: file, contents: Data(message.value)) else {
            throw TestEnvironmentError("cannot write \(file)")
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        var arguments = ["-P", "-b", brokers, "-t", message.topic, "-X", "message.max.bytes=1000000"]
        if let key = message.key { arguments += ["-k", key] }
        if let partitioner = message.partitioner { arguments += ["-X", "partitioner=\(partitioner)"] }
        for (name, value) in message.headers { arguments += ["-H", "\(name)=\(value)"] }
        arguments.append(file)
        let (kcatArguments, environment) = (arguments, self.environment)
        let result = try await onDedicatedThread {
            try ChildProcess.run("kcat", kcatArguments, environment: environment, timeout: .seconds(60))
        }
        guard result.succeeded, !result.stderrText.contains("ERROR"), !result.stderrText.contains("Failed") else {
            throw TestEnvironmentError(
                "kcat produce to \(message.topic) failed (\(result.status)): \(result.stderrText.suffix(2000))")
        }
    }

    func produce(_ messages: [Outgoing]) async throws {
        for message in messages { try await produce(message) }
    }

    /// Every message of `topic`, read with kcat from the beginning to the end.
    func consume(_ topic: String) async throws -> [KcatRecord] {
        let kcat = self.kcat
        return try await onDedicatedThread { try kcat.consume(topic: topic) }
    }

    /// Where each message landed, found by reading the topics back with kcat and matching the
    /// value bytes (the tests make every value unique).
    func placements(of messages: [Outgoing]) async throws -> [Placement] {
        var byTopic: [String: [KcatRecord]] = [:]
        for topic in Set(messages.map(\.topic)) { byTopic[topic] = try await consume(topic) }
        return try messages.map { message in
            let matches = (byTopic[message.topic] ?? []).filter { $0.value == message.value }
            guard matches.count == 1, let record = matches.first else {
                throw TestEnvironmentError(
                    "expected exactly one message with this value on \(message.topic), found \(matches.count): \(String(decoding: message.value.prefix(200), as: UTF8.self))"
                )
            }
            return Placement(topic: message.topic, partition: record.partition, offset: record.offset)
        }
    }

    /// Writes `text` to a file in the scratch folder with the given mode; returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws -> String {
        let path = scratch.file(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode])
        else {
            throw TestEnvironmentError("cannot write \(path)")
        }
        return path
    }

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        try write(name, Array(text.utf8), mode: mode)
    }
}

// MARK: Snapshot folders

/// A snapshot folder as the tests read it: bytes of each file, parsed where needed.
struct Snapshot {
    let directory: String

    /// `<out>/latest`, resolved.
    static func latest(out: String) throws -> Snapshot {
        let link = out + "/latest"
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        return Snapshot(directory: out + "/" + target)
    }

    var runId: String { (directory as NSString).lastPathComponent }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
    }

    func text(_ name: String) throws -> String { String(decoding: try bytes(name), as: UTF8.self) }

    func rows(_ name: String) throws -> [[String]] { try CSVText.parse(text(name)) }

    func manifest() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes("manifest.json")))
        guard let manifest = object as? [String: Any] else {
            throw TestEnvironmentError("manifest.json is not an object")
        }
        return manifest
    }
}

/// The run folders under `<out>/runs`, sorted.
func runFolders(out: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: out + "/runs")) ?? []).filter { !$0.hasPrefix(".") }.sorted()
}

/// The manifest's `counts` as plain integers (rejected_by_code flattened to `rejected.CODE`).
func manifestCounts(_ manifest: [String: Any]) -> [String: Int] {
    guard let counts = manifest["counts"] as? [String: Any] else { return [:] }
    var result: [String: Int] = [:]
    for key in ["read", "accepted", "duplicates", "rejected"] { result[key] = counts[key] as? Int }
    for (code, n) in (counts["rejected_by_code"] as? [String: Any]) ?? [:] { result["rejected.\(code)"] = n as? Int }
    return result
}

/// The manifest's `held` count (section 8), 0 when absent.
func heldCount(_ manifest: [String: Any]) -> Int {
    ((manifest["counts"] as? [String: Any])?["held"] as? Int) ?? 0
}

// MARK: Small independent parsers (the CSV one is STITestSupport.CSVText)

/// `text` with every LF turned into CRLF, and a final CRLF: expected CSV is written in the
/// tests as a multi-line literal (whose line ends Swift normalises to LF).
func crlf(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n") + "\r\n"
}

/// A JSON object from bytes, for rejection notices.
func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
        throw TestEnvironmentError("not a JSON object: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
    }
    return object
}

/// A rejection notice read back from `sti.rejected`, reduced to what the tests compare.
struct NoticeSummary: Hashable, CustomStringConvertible {
    var source: Placement
    var key: String?
    var county: String?
    var codes: [String]
    var payload: [UInt8]
    var description: String { "\(source) key=\(key ?? "nil") county=\(county ?? "null") \(codes)" }

    init(_ record: KcatRecord) throws {
        let notice = try jsonObject(record.value ?? [])
        guard notice["schema"] as? String == "sti.rejection/1",
            let source = notice["source"] as? [String: Any],
            let topic = source["topic"] as? String, let partition = source["partition"] as? Int,
            let offset = source["offset"] as? Int, let errors = notice["errors"] as? [[String: Any]],
            let payloadText = notice["payload_base64"] as? String, let payload = Data(base64Encoded: payloadText),
            let rejectedAt = notice["rejected_at"] as? String, rejectedAt.hasSuffix("Z") || rejectedAt.contains("+")
        else { throw TestEnvironmentError("malformed rejection notice: \(record.valueText ?? "nil")") }
        self.source = Placement(topic: topic, partition: Int32(partition), offset: Int64(offset))
        self.key = record.keyText
        self.county = notice["county"] as? String
        self.codes = errors.compactMap { $0["code"] as? String }
        self.payload = Array(payload)
    }
}

/// Lower-case hex of bytes.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
