import Foundation
import STIProtocol
import STITestSupport
import Testing

@testable import Kafka
@testable import STIPipeline

/// Issue 5, point 5: secrets never leak. An aggregation with a keys file meets messages that
/// fail authentication in every way; then the log, the snapshot (manifest.json and every CSV),
/// the state file and the rejection notices (keys and values) are searched for every secret of
/// the keys file and for every 16-hex-digit piece of one. The texts of `KeyRing` itself
/// (description, mirror, errors) are covered by `KeyRingTests.secretsNeverAppearInTexts` and
/// its bad-file table.
@Suite(.mockCluster, .serialized, .timeLimit(.minutes(5)))
struct SecretHygieneTests {
    /// The ways a message can fail section 4, for county 530102 (`value` is the signed bytes).
    static func authFailures(keys: TestKeys) throws -> [(
        name: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]
    )] {
        let value = Wire.rd()
        let own = try #require(keys.key(for: "530102"))
        let mac = try keys.ring.sign(value: value, keyId: own.id)
        func h(_ id: String?, _ sig: String?) -> [KafkaHeader] {
            (id.map { [KafkaHeader(key: "sti-key-id", string: $0)] } ?? [])
                + (sig.map { [KafkaHeader(key: "sti-signature", string: $0)] } ?? [])
        }
        let key = Wire.b("530102")
        return [
            ("unsigned", key, value, []),
            ("key id only", key, value, h(own.id, nil)),
            ("signature only", key, value, h(nil, mac)),
            ("empty headers", key, value, h("", "")),
            ("unknown key id", key, value, h("530102-2031z", mac)),
            ("another county's key", key, value, try keys.headers(value, keyId: "530103-test")),
            ("expired key", key, value, try keys.headers(value, keyId: TestKeys.expiredId)),
            ("key not valid yet", key, value, try keys.headers(value, keyId: TestKeys.futureId)),
            (
                "signature of other bytes", key, value,
                h(own.id, try keys.ring.sign(value: Wire.rd(["revision": "2"]), keyId: own.id))
            ),
            ("upper-case signature", key, value, h(own.id, mac.uppercased())),
            ("truncated signature", key, value, h(own.id, String(mac.dropLast()))),
            ("signature one digit too long", key, value, h(own.id, mac + "0")),
            ("signature twice", key, value, h(own.id, mac + mac)),
            ("non-hex signature", key, value, h(own.id, String(repeating: "z", count: 64))),
            (
                "signed with another county's secret", key, value,
                h(own.id, try keys.ring.sign(value: value, keyId: "530103-test"))
            ),
            ("the secret as the signature", key, value, h(own.id, own.secretHex)),
            ("the secret as the key id", key, value, h(own.secretHex, mac)),
            ("the secret, upper case, as the key id", key, value, h(own.secretHex.uppercased(), mac)),
            ("the secret inside the key id", key, value, h("530102-" + own.secretHex, mac)),
            (
                "binary key id", key, value,
                [
                    KafkaHeader(key: "sti-key-id", value: [0xFF, 0x00, 0x01]),
                    KafkaHeader(key: "sti-signature", string: mac),
                ]
            ),
            ("tampered value", key, Wire.rd(["expenditure_10k_cny": "6"]), h(own.id, mac)),
            ("key mismatch and unsigned", Wire.b("530103"), value, []),
        ]
    }

    @Test func noSecretAppearsInLogsSnapshotStateOrNotices() async throws {
        let broker = try TestBroker(partitions: 2, rejectedPartitions: 2)
        defer { broker.close() }
        let dir = try TemporaryDirectory(prefix: "sti-secrets")
        defer { dir.remove() }
        let keys = try TestKeys()
        let keysPath = try keys.write(to: dir.file("keys.json"))
        // Readable by others: the run warns, and the warning must not quote the file.
        chmod(keysPath, 0o644)

        let failures = try Self.authFailures(keys: keys)
        var messages = failures.enumerated().map { n, f in
            TestMessage(topic: "sti.rd", partition: Int32(n % 2), key: f.key, value: f.value, headers: f.headers)
        }
        // One good message per county, so accepted records and indicators are in the snapshot too.
        for county in Registry.kunming.geographies.map(\.code) {
            let v = Wire.rd(["county": Wire.str(county)])
            messages.append(
                TestMessage(
                    topic: "sti.rd", partition: 0, key: Array(county.utf8), value: v,
                    headers: try keys.headers(v, keyId: "\(county)-test")))
        }
        _ = try await onDedicatedThread { [messages] in try broker.produce(messages) }

        let log = LogRecorder()
        let options = AggregateOptions(
            brokers: broker.brokers, out: URL(fileURLWithPath: dir.file("out")), statePath: dir.file("state.db"),
            keysPath: keysPath, timeout: .seconds(30))
        let summary = try await onDedicatedThread { try Aggregator(options: options, logger: log.logger()).run() }
        #expect(summary.counts.rejected == failures.count)
        #expect(summary.counts.rejectedByCode[.auth] == failures.count)
        #expect(summary.counts.accepted == Registry.kunming.geographies.count)
        #expect(log.text.contains("accessible to group or others"))

        let files = try Snapshot.files(out: options.out)
        // Section 8 (version 2) adds revisions.csv and records/; issue 14 adds report.html; issue 15
        // snapshot.xlsx (searched inflated). All are searched below.
        #expect(
            Set(files.keys.filter { !$0.hasPrefix("records/") })
                == [
                    "indicators.csv", "completeness.csv", "rejections.csv", "warnings.csv", "manifest.json",
                    "revisions.csv", "report.html",
                    "snapshot.xlsx",
                ])
        let manifest = try #require(files["manifest.json"])
        #expect(manifest.contains("\"enabled\""))
        let notices = try await onDedicatedThread { try broker.readAll(topic: "sti.rejected", partitions: 2) }
        #expect(notices.count == failures.count)
        let state = try Data(contentsOf: URL(fileURLWithPath: options.statePath))

        var places: [(String, String)] = [("log", log.text), ("summary", summary.line)]
        for (name, text) in files { places.append((name, text)) }
        for notice in notices {
            places.append(("notice \(notice.at)", String(decoding: notice.value, as: UTF8.self)))
            places.append(("notice key \(notice.at)", String(decoding: notice.key ?? [], as: UTF8.self)))
        }
        places.append(("state file", String(decoding: state, as: UTF8.self)))
        for (place, text) in places {
            if let leak = Self.leak(of: keys.secrets, in: text) {
                Issue.record("\(place) holds \(leak), a piece of a secret")
            }
        }
        // The search works: it finds a secret planted in a text.
        #expect(
            Self.leak(of: keys.secrets, in: "x" + keys.secrets[3].dropFirst(20).prefix(16).uppercased() + "y") != nil)
    }

    /// A keys file that cannot be used fails the run before anything is read; the error names
    /// the entry, never its secret.
    @Test func aBrokenKeysFileIsReportedWithoutItsSecrets() throws {
        let dir = try TemporaryDirectory(prefix: "sti-secrets-bad")
        defer { dir.remove() }
        let good = TestKeys.secret(seed: "good")
        let bad = String(TestKeys.secret(seed: "bad").dropLast())
        let cases = [
            #"{"keys":[{"id":"a","county":"530102","secret_hex":"\#(good)"},{"id":"b","county":"530102","secret_hex":"\#(bad)"}]}"#,
            #"{"keys":[{"id":"a","county":"530102","secret_hex":"\#(good)"},{"id":"a","county":"530103","secret_hex":"\#(good)"}]}"#,
            #"{"keys":[{"id":"a","county":"530102","secret_hex":"\#(good)","secret":"\#(good)"}]}"#,
            #"{"keys":[{"id":"a","county":"530102","secret_hex":"\#(good)g"}]}"#,
            #"{"keys":[{"id":"a","county":"530102","secret_hex":"\#(good)",}]}"#,
        ]
        for (n, text) in cases.enumerated() {
            let path = dir.file("keys-\(n).json")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let log = LogRecorder()
            let options = AggregateOptions(
                brokers: "127.0.0.1:1", out: URL(fileURLWithPath: dir.file("out")),
                statePath: dir.file("state-\(n).db"), keysPath: path, timeout: .seconds(2))
            let error = #expect(throws: AggregateError.self) {
                try Aggregator(options: options, logger: log.logger()).run()
            }
            let text = (error?.description ?? "") + "\n" + log.text
            #expect(error?.description.contains("--keys") == true, "case \(n): \(error?.description ?? "no error")")
            #expect(error?.code == .keysUnusable, "case \(n)")
            if let leak = Self.leak(of: [good, TestKeys.secret(seed: "bad")], in: text) {
                Issue.record("case \(n): the error holds \(leak): \(text)")
            }
        }
    }

    /// The first 16-hex-digit piece of any secret found in `text` (case-insensitive), or nil.
    static func leak(of secrets: [String], in text: String) -> String? {
        let haystack = text.lowercased()
        for secret in secrets {
            let s = Array(secret.lowercased())
            for start in 0...(s.count - 16) {
                let piece = String(s[start..<(start + 16)])
                if haystack.contains(piece) { return piece }
            }
        }
        return nil
    }
}

/// Issue 11, point 11: a librdkafka property that cannot be read, a keys file with `id` and
/// `secret_hex` swapped, and librdkafka's own error texts never show a secret.
@Suite struct SecretHygieneConfigurationTests {
    static let secret = "Hunter2-TopSecret-" + TestKeys.secret(seed: "kafka").prefix(20)

    @Test(
        arguments: [
            // (file, line in the error, key part the error may name)
            (
                "bootstrap.servers=127.0.0.1:9092\n# SASL\nsasl.mechanism=PLAIN\nsasl.password: \(secret)\n", 4,
                "sasl.password"
            ),
            ("sasl.password \(secret)\n", 1, "sasl.password"),
            ("sasl.password:\(secret)=x\n", 1, "sasl.password"),
            ("\(secret)\n", 1, nil),
            ("=\(secret)\n", 1, nil),
            ("sasl.username=u\r\nsasl.password\t:\t\(secret)\r\n", 2, "sasl.password"),
        ] as [(String, Int, String?)])
    func aMalformedKafkaConfigLineIsNotEchoed(_ text: String, _ line: Int, _ key: String?) throws {
        let dir = try TemporaryDirectory(prefix: "sti-kafka-config")
        defer { dir.remove() }
        let path = dir.file("kafka.properties")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var config = KafkaConfiguration(bootstrapServers: "")
        let error = #expect(throws: KafkaConfigurationError.self) { try config.loadProperties(fromFile: path) }
        let shown = error?.description ?? ""
        #expect(!shown.contains(Self.secret) && !shown.contains("Hunter2"), "\(shown)")
        #expect(shown.contains("\(path): line \(line): expected key=value"), "\(shown)")
        if let key { #expect(shown.contains(key), "\(shown)") }
        // The same text as a -X argument.
        let assignment = String(text.split(whereSeparator: \.isNewline).last ?? "")
        let flag = #expect(throws: KafkaConfigurationError.self) { try KafkaConfiguration.parseProperty(assignment) }
        #expect(flag?.description.contains("Hunter2") == false, "\(flag?.description ?? "")")
    }

    /// The sti config file (`--config`, KEY=VALUE) does not echo a line it cannot read either.
    @Test func aMalformedStiConfigLineIsNotEchoed() throws {
        let dir = try TemporaryDirectory(prefix: "sti-config")
        defer { dir.remove() }
        let path = dir.file("sti.env")
        try Data("STI_BROKERS=127.0.0.1:9092\nsasl.password: \(Self.secret)\n".utf8).write(
            to: URL(fileURLWithPath: path))
        let error = #expect(throws: SettingsError.self) { try Settings.parseFile(path) }
        #expect(error?.description.contains("\(path):2: expected KEY=VALUE") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("Hunter2") == false, "\(error?.description ?? "")")
    }

    /// librdkafka quotes values in its errors (`Invalid value "…" for configuration property
    /// "…"`, rdkafka_conf.c): masked for every secret-looking property.
    @Test(arguments: [
        "sasl.password", "ssl.key.password", "ssl.keystore.password", "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config", "ssl.key.pem", "sasl.jaas.config",
    ])
    func librdkafkaTextQuotingASecretIsMasked(property: String) {
        for value in [Self.secret, "x", "a \"quoted\" secret"] {
            let message = "Invalid value \"\(value)\" for configuration property \"\(property)\""
            let masked = KafkaConfiguration.redacted(message, key: property, properties: [property: value])
            #expect(!masked.contains(value), "\(masked)")
            #expect(masked == "Invalid value \"***\" for configuration property \"\(property)\"", "\(masked)")
        }
        // In a text about another property, the secret's value is masked where it appears.
        let other = KafkaConfiguration.redacted(
            "Invalid value \"\(Self.secret)\" for configuration property \"security.protocol\"",
            key: "security.protocol", properties: [property: Self.secret])
        #expect(other == "Invalid value \"***\" for configuration property \"security.protocol\"", "\(other)")
    }

    /// Through librdkafka itself: the password pasted into a property librdkafka checks (its
    /// refusal quotes the value) is masked, in the configuration error and in a client's.
    @Test func aRealLibrdkafkaRefusalDoesNotShowTheSecret() throws {
        let config = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1",
            properties: ["sasl.password": Self.secret, "security.protocol": Self.secret])
        let error = #expect(throws: KafkaConfigurationError.self) { try config.validate() }
        #expect(error?.key == "security.protocol")
        #expect(error?.description.contains("security.protocol") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("Hunter2") == false, "\(error?.description ?? "")")
        #expect(
            error?.description.contains("***") == true,
            "librdkafka no longer quotes the value: \(error?.description ?? "")")
        let client = #expect(throws: (any Error).self) { _ = try KafkaAdmin(configuration: config) }
        let clientText = client.map { "\($0)" } ?? ""
        #expect(!clientText.contains("Hunter2"), "\(clientText)")
    }

    /// A keys file entry with `id` and `secret_hex` swapped: the error names the entry but never
    /// shows the 64-hex secret that sits in its `id`.
    @Test func swappedIdAndSecretAreNotEchoed() throws {
        let secret = TestKeys.secret(seed: "swapped")
        let text = #"{"keys":[{"id":"\#(secret)","county":"530102","secret_hex":"530102-2026"}]}"#
        let error = #expect(throws: KeyRingError.self) {
            try KeyRing.parse(Data(text.utf8), source: "keys file k.json")
        }
        let shown = error?.description ?? ""
        #expect(
            shown.contains("keys file k.json: entry 1") && shown.contains("secret_hex must be exactly 64 hex digits"),
            "\(shown)")
        #expect(SecretHygieneTests.leak(of: [secret], in: shown) == nil, "\(shown)")
        // A ring built directly, and signing with the secret given as the key id, say no more.
        let direct = #expect(throws: KeyRingError.self) {
            try KeyRing(keys: [(KeyRing.KeyInfo(id: secret, county: "530102"), "zz")])
        }
        #expect(
            SecretHygieneTests.leak(of: [secret], in: direct?.description ?? "") == nil, "\(direct?.description ?? "")")
        let ring = try KeyRing(keys: [(KeyRing.KeyInfo(id: "530102-a", county: "530102"), secret)])
        let sign = #expect(throws: KeyRingError.self) { try ring.sign(value: [1, 2], keyId: secret) }
        #expect(SecretHygieneTests.leak(of: [secret], in: sign?.description ?? "") == nil, "\(sign?.description ?? "")")
    }
}
