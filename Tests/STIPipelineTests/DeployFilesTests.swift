// The operator files in Deploy/: the systemd units pass `systemd-analyze verify` and say what
// the README promises, every YAML parses (PyYAML) and has the facts the deployment relies on
// (no overlapping runs, persistent state, replication 3 / min ISR 2, loopback-only ports), and
// every STI_* name in them is one the tool knows, each documented in sti.env.example; the
// metrics Deploy/README.md documents and alerts on are the ones a run writes.

import Foundation
import STIProtocol
import Testing

@testable import STIPipeline

@Suite struct DeployFilesTests {
    /// Every setting the CLI reads from the environment or a config file.
    static let knownSettings: Set<String> = [
        "STI_BROKERS", "STI_OUT", "STI_STATE", "STI_KEYS", "STI_REGISTRY", "STI_GROUP", "STI_TOPIC_PREFIX",
        "STI_KAFKA_CONFIG", "STI_TIMEOUT", "STI_LOG_FORMAT", "STI_METRICS_FILE", "STI_METRICS_PORT", "STI_INTERVAL",
        "STI_FOLLOW", "STI_BATCH_SIZE", "STI_MAX_MESSAGES", "STI_METRICS_DEADLINE",
    ]
    /// Names that may appear in the files without being settings of the env file.
    static let otherNames: Set<String> = ["STI_CONFIG", "STI_DEPS_DIR"]

    static func deploy() throws -> URL { try FeedTestRepo.root().appendingPathComponent("Deploy") }

    static func read(_ relative: String) throws -> String {
        try String(contentsOf: deploy().appendingPathComponent(relative), encoding: .utf8)
    }

    // MARK: child processes

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program found on PATH, its output captured through files (no pipe can fill up).
    static func run(_ tool: String, _ arguments: [String]) throws -> Output {
        let dir = try FeedTestRepo.temporaryDirectory("deploy-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let err = dir.appendingPathComponent("err")
        try Data().write(to: out)
        try Data().write(to: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    // MARK: systemd

    /// `systemd-analyze verify` on copies of the units in a scratch folder (the timer's
    /// `Unit=` is found beside it). ExecStart runs /usr/bin/flock, which exists; the sti binary
    /// is only flock's argument, so no stub is needed.
    static func verify(service: String, timer: String) throws -> Output {
        let dir = try FeedTestRepo.temporaryDirectory("deploy-units")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = dir.appendingPathComponent("sti-aggregate.service")
        let t = dir.appendingPathComponent("sti-aggregate.timer")
        try service.write(to: s, atomically: true, encoding: .utf8)
        try timer.write(to: t, atomically: true, encoding: .utf8)
        return try run("systemd-analyze", ["verify", "--man=no", s.path, t.path])
    }

    static func requireSystemdAnalyze() throws {
        let probe = try run("systemd-analyze", ["--version"])
        try #require(probe.status == 0, "systemd-analyze is missing: run Deploy/install-deps.sh (installs systemd)")
    }

    @Test func systemdUnitsVerifyCleanly() throws {
        try Self.requireSystemdAnalyze()
        let result = try Self.verify(
            service: Self.read("systemd/sti-aggregate.service"), timer: Self.read("systemd/sti-aggregate.timer"))
        #expect(result.status == 0, "systemd-analyze verify: \(result.stderr)")
        #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "warnings: \(result.stderr)")
    }

    /// The check itself works: a broken program path and an unknown key are both caught.
    @Test func systemdVerifyCatchesBrokenUnits() throws {
        try Self.requireSystemdAnalyze()
        let service = try Self.read("systemd/sti-aggregate.service")
        let timer = try Self.read("systemd/sti-aggregate.timer")
        let missing = try Self.verify(
            service: service.replacingOccurrences(of: "ExecStart=/usr/bin/flock", with: "ExecStart=/nonexistent/flock"),
            timer: timer)
        #expect(missing.status != 0)
        let typo = try Self.verify(
            service: service.replacingOccurrences(of: "PrivateTmp=yes", with: "PrivateTemp=yes"), timer: timer)
        #expect(typo.stderr.contains("PrivateTemp"))
    }

    /// `[Section]` → key → values (keys may repeat).
    static func unit(_ text: String) -> [String: [String: [String]]] {
        var sections: [String: [String: [String]]] = [:]
        var current = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                current = String(line.dropFirst().dropLast())
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            sections[current, default: [:]][String(line[..<eq]), default: []].append(
                String(line[line.index(after: eq)...]))
        }
        return sections
    }

    @Test func serviceRunsOnceUnderALockAsADedicatedUserInASandbox() throws {
        let service = try Self.unit(Self.read("systemd/sti-aggregate.service"))["Service"] ?? [:]
        #expect(service["Type"] == ["oneshot"])
        #expect(service["EnvironmentFile"] == ["/etc/sti/sti.env"])
        #expect(service["User"] == ["sti"])
        let exec = try #require(service["ExecStart"]?.first)
        let words = exec.split(separator: " ").map(String.init)
        #expect(words.first == "/usr/bin/flock")
        #expect(words.contains("--nonblock") || words.contains("-n"))
        #expect(words.suffix(2) == ["/usr/local/bin/sti", "aggregate"])
        if let i = words.firstIndex(of: "--conflict-exit-code") {
            #expect(service["SuccessExitStatus"]?.contains(words[i + 1]) == true, "a skipped run is not a failure")
        }
        for (key, value) in [
            ("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
            ("ProtectHome", "yes"), ("PrivateDevices", "yes"), ("RestrictSUIDSGID", "yes"),
        ] {
            #expect(service[key] == [value], "\(key)=\(value)")
        }
        #expect(service["CapabilityBoundingSet"] == [""])
        #expect(service["TimeoutStartSec"] != nil, "a hung run must end before the next is due")

        // Every path the env file writes lies under a writable path of the sandbox, and the
        // lock file lies in the state directory.
        var writable = (service["StateDirectory"] ?? []).map { "/var/lib/\($0)" }
        writable += (service["ReadWritePaths"] ?? []).flatMap { $0.split(separator: " ") }.map {
            String($0.drop(while: { $0 == "-" }))
        }
        let env = try Self.envAssignments()
        for name in ["STI_STATE", "STI_OUT", "STI_METRICS_FILE"] {
            let path = try #require(
                env.first { $0.name == name && !$0.commented }?.value, "\(name) set in sti.env.example")
            #expect(writable.contains { path == $0 || path.hasPrefix($0 + "/") }, "\(name)=\(path) outside \(writable)")
        }
        #expect(
            writable.contains { dir in words.contains { $0.hasPrefix(dir + "/") && $0.hasSuffix(".lock") } },
            "lock file in a writable path")
    }

    @Test func timerIsHourlyPersistentAndRandomized() throws {
        let units = try Self.unit(Self.read("systemd/sti-aggregate.timer"))
        let timer = units["Timer"] ?? [:]
        #expect(timer["OnCalendar"] == ["hourly"])
        #expect(timer["Persistent"] == ["true"])
        #expect(timer["RandomizedDelaySec"]?.isEmpty == false)
        #expect(timer["Unit"] == ["sti-aggregate.service"])
        #expect(units["Install"]?["WantedBy"] == ["timers.target"])
    }

    // MARK: settings

    struct Assignment {
        var name: String
        var value: String
        var commented: Bool
        var comment: [String]
    }

    /// `STI_X=value` lines of sti.env.example, active or commented out, with the comment block
    /// above each.
    static func envAssignments() throws -> [Assignment] {
        var result: [Assignment] = []
        var block: [String] = []
        for line in try read("sti.env.example").split(separator: "\n", omittingEmptySubsequences: false).map(
            String.init)
        {
            if let match = line.firstMatch(of: /^(#?)(STI_[A-Z0-9_]+)=(.*)$/) {
                result.append(
                    Assignment(
                        name: String(match.2), value: String(match.3), commented: !match.1.isEmpty, comment: block))
                block = []
            } else if line.hasPrefix("#") {
                block.append(line)
            } else {
                block = []
            }
        }
        return result
    }

    @Test func envExampleDocumentsExactlyTheKnownSettings() throws {
        let assignments = try Self.envAssignments()
        let names = assignments.map(\.name)
        #expect(
            Set(names) == Self.knownSettings,
            "missing: \(Self.knownSettings.subtracting(names)), unknown: \(Set(names).subtracting(Self.knownSettings))")
        #expect(names.count == Set(names).count, "each setting once")
        for a in assignments {
            #expect(a.comment.contains { $0.contains("Default:") }, "\(a.name) has no 'Default:' line")
            #expect(a.comment.count >= 2, "\(a.name) needs a meaning and a default")
            // systemd's EnvironmentFile= would keep quotes, spaces after '#', etc. in the value.
            #expect(a.value.firstMatch(of: /[\s"'#\\]/) == nil, "\(a.name)=\(a.value) is not a plain value")
        }
        for line in try Self.read("sti.env.example").split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.firstMatch(of: /^STI_[A-Z0-9_]+=/) != nil, "not a comment nor an assignment: \(line)")
        }
    }

    /// The operator's files (test and build scripts of the project have their own variables).
    static let operatorFiles = [
        "systemd/sti-aggregate.service", "systemd/sti-aggregate.timer", "sti.env.example", "kafka.properties.example",
        "kafka-acls.md", "kubernetes/common.yaml", "kubernetes/cronjob.yaml", "kubernetes/deployment.yaml",
        "compose/docker-compose.yml", "Dockerfile", "README.md",
    ]

    @Test func everySTINameInTheOperatorFilesIsKnown() throws {
        var seen: Set<String> = []
        for file in Self.operatorFiles {
            for match in try Self.read(file).matches(of: /STI_[A-Z0-9_]+/) {
                let name = String(match.output)
                seen.insert(name)
                #expect(Self.knownSettings.contains(name) || Self.otherNames.contains(name), "\(file): unknown \(name)")
            }
        }
        #expect(seen.isSuperset(of: Self.knownSettings))
    }

    @Test func kafkaPropertiesExampleIsSASLSSLWithSCRAM() throws {
        var properties: [String: String] = [:]
        for line in try Self.read("kafka.properties.example").split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            let parts = t.split(separator: "=", maxSplits: 1).map(String.init)
            try #require(parts.count == 2, "not key=value: \(t)")
            #expect(properties[parts[0]] == nil, "\(parts[0]) twice")
            properties[parts[0]] = parts[1]
        }
        #expect(properties["security.protocol"] == "SASL_SSL")
        #expect(properties["sasl.mechanisms"] == "SCRAM-SHA-512")
        #expect(properties["sasl.username"]?.isEmpty == false)
        #expect(properties["sasl.password"]?.isEmpty == false)
        #expect(properties["ssl.ca.location"]?.hasPrefix("/") == true)
    }

    @Test func aclGuideGrantsWhatTheTableSays() throws {
        let text = try Self.read("kafka-acls.md")
        let submission = "--topic sti.rd --topic sti.tech-contracts --topic sti.county-profiles"
        #expect(
            text.contains("--operation Write --operation Describe \\\n    \(submission)"),
            "bureaus write the submission topics")
        // DescribeConfigs: the start-up check of message.timestamp.type (section 4).
        #expect(
            text.contains(
                "--allow-principal User:sti-aggregator \\\n  --operation Read --operation Describe --operation DescribeConfigs \\\n  \(submission)"
            ))
        #expect(
            text.contains(
                "--allow-principal User:sti-aggregator \\\n  --operation Write --operation Describe --topic sti.rejected"
            ))
        #expect(text.contains("--operation Read --group sti-aggregator"))
        #expect(text.contains("allow.everyone.if.no.acl.found=false"))
        #expect(text.contains("security.protocol=SASL_SSL"))
        // The bureau loops name all 17 geographies.
        let loop =
            "530102 530103 530111 530112 530114 530115 530113 530181 \\\n            530124 530125 530126 530127 530128 530129 km-htz km-etdz km-dzna"
        #expect(text.components(separatedBy: loop).count == 3, "users and ACL loops cover every bureau")
        #expect(!text.contains("--allow-principal \"User:sti-$code\" \\\n    --operation Read"), "bureaus never read")
    }

    @Test func readmeDescribesEveryDeployFile() throws {
        let readme = try Self.read("README.md")
        for file in Self.operatorFiles.filter({ $0 != "README.md" }) + ["install-deps.sh"] {
            #expect(readme.contains("`\(file)`"), "README misses \(file)")
            #expect(
                FileManager.default.fileExists(atPath: try Self.deploy().appendingPathComponent(file).path),
                "\(file) exists")
        }
        for step in [
            "useradd", "/etc/sti/sti.env", "systemctl enable --now sti-aggregate.timer",
            "journalctl -u sti-aggregate.service",
            "node-exporter", "flock -n /var/lib/sti/aggregate.lock",
        ] {
            #expect(readme.contains(step), "README misses \(step)")
        }
        let deps = try Self.read("install-deps.sh")
        #expect(deps.contains(" systemd;") && deps.contains("pyyaml"), "install-deps.sh installs systemd and pyyaml")
    }

    // MARK: YAML

    /// A parsed YAML value (through JSON), with forgiving accessors.
    struct YAMLValue {
        var raw: Any?
        subscript(_ key: String) -> YAMLValue { YAMLValue(raw: (raw as? [String: Any])?[key]) }
        var list: [YAMLValue] { (raw as? [Any])?.map { YAMLValue(raw: $0) } ?? [] }
        var map: [String: YAMLValue] { (raw as? [String: Any])?.mapValues { YAMLValue(raw: $0) } ?? [:] }
        var string: String? {
            if let s = raw as? String { return s }
            if let n = raw as? NSNumber { return n.stringValue }
            return nil
        }
        var int: Int? { string.flatMap { Int($0) } }
        var exists: Bool { raw != nil && !(raw is NSNull) }
    }

    /// Every document of a YAML file of Deploy/, parsed by PyYAML's safe loader.
    static func yaml(_ relative: String) throws -> [YAMLValue] {
        try yaml(at: deploy().appendingPathComponent(relative))
    }

    static func yaml(at url: URL) throws -> [YAMLValue] {
        let script =
            "import sys, json, yaml\nwith open(sys.argv[1], encoding='utf-8') as f:\n"
            + "    json.dump([d for d in yaml.safe_load_all(f) if d is not None], sys.stdout)\n"
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let result = try run(python, ["-c", script, url.path])
        guard result.status == 0 else {
            throw FeedTestError(
                "\(url.lastPathComponent) does not parse (or PyYAML is missing: Deploy/install-deps.sh): \(result.stderr)"
            )
        }
        guard let docs = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Any] else {
            throw FeedTestError("\(url.lastPathComponent): PyYAML gave no list of documents")
        }
        return docs.map { YAMLValue(raw: $0) }
    }

    static func object(_ docs: [YAMLValue], kind: String, name: String? = nil) throws -> YAMLValue {
        try #require(
            docs.first { $0["kind"].string == kind && (name == nil || $0["metadata"]["name"].string == name) },
            "no \(kind) \(name ?? "")")
    }

    @Test(arguments: [
        "kubernetes/common.yaml", "kubernetes/cronjob.yaml", "kubernetes/deployment.yaml", "compose/docker-compose.yml",
    ])
    func yamlParses(file: String) throws {
        let docs = try Self.yaml(file)
        #expect(!docs.isEmpty)
        if file.hasPrefix("kubernetes/") {
            for doc in docs {
                #expect(
                    doc["apiVersion"].string != nil && doc["kind"].string != nil
                        && doc["metadata"]["name"].string != nil)
            }
        }
    }

    @Test func yamlCheckRejectsBrokenYAML() throws {
        let dir = try FeedTestRepo.temporaryDirectory("deploy-yaml")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("broken.yaml")
        try "a: [1, 2\nb: }".write(to: broken, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { _ = try Self.yaml(at: broken) }
    }

    /// Checks a pod spec against the shared objects: settings from the ConfigMap, every path
    /// setting on the right volume, secrets mounted read-only, resources set.
    static func checkPod(_ pod: YAMLValue, common: [YAMLValue]) throws -> (container: YAMLValue, env: [String: String])
    {
        let container = try #require(pod["containers"].list.first)
        let configMap = try object(common, kind: "ConfigMap", name: "sti-config")
        var env = configMap["data"].map.compactMapValues(\.string)
        #expect(Set(env.keys).isSubset(of: knownSettings), "ConfigMap keys: \(env.keys.sorted())")
        #expect(container["envFrom"].list.contains { $0["configMapRef"]["name"].string == "sti-config" })
        for item in container["env"].list {
            let name = try #require(item["name"].string)
            #expect(knownSettings.contains(name), "env \(name)")
            env[name] = item["value"].string
        }

        var mounts: [String: String] = [:]  // volume name → mount path
        for m in container["volumeMounts"].list { mounts[m["name"].string ?? ""] = m["mountPath"].string }
        var claims: [String: String] = [:]  // claim → mount path
        var secretMount: String?
        for volume in pod["volumes"].list {
            let name = volume["name"].string ?? ""
            if let claim = volume["persistentVolumeClaim"]["claimName"].string { claims[claim] = mounts[name] }
            if volume["secret"]["secretName"].string == "sti-secrets" {
                secretMount = mounts[name]
                let mode = try #require(volume["secret"]["defaultMode"].int)
                #expect(mode & 0o007 == 0, "secret files not readable by others")
            }
        }
        for claim in ["sti-state", "sti-snapshots"] {
            #expect(claims[claim] != nil, "PVC \(claim) mounted")
            _ = try object(common, kind: "PersistentVolumeClaim", name: claim)
        }
        _ = try object(common, kind: "Secret", name: "sti-secrets")
        func under(_ path: String?, _ root: String?) -> Bool {
            guard let path, let root else { return false }
            return path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
        }
        #expect(under(env["STI_STATE"], claims["sti-state"]), "state on its PVC")
        #expect(under(env["STI_OUT"], claims["sti-snapshots"]), "snapshots on their PVC")
        #expect(
            under(env["STI_METRICS_FILE"], claims["sti-snapshots"])
                || under(env["STI_METRICS_FILE"], claims["sti-state"]),
            "metrics file on a volume")
        #expect(
            under(env["STI_KEYS"], secretMount) && under(env["STI_KAFKA_CONFIG"], secretMount),
            "secrets from the Secret")
        #expect(env["STI_BROKERS"]?.isEmpty == false)
        for (kind, resource) in [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")] {
            #expect(container["resources"][kind][resource].exists, "resources.\(kind).\(resource)")
        }
        #expect(container["securityContext"]["readOnlyRootFilesystem"].raw as? Bool == true)
        #expect(pod["securityContext"]["runAsNonRoot"].raw as? Bool == true)
        return (container, env)
    }

    @Test func cronJobNeverOverlapsAndKeepsStateOnVolumes() throws {
        let common = try Self.yaml("kubernetes/common.yaml")
        let cron = try Self.object(Self.yaml("kubernetes/cronjob.yaml"), kind: "CronJob")
        #expect(cron["apiVersion"].string == "batch/v1")
        #expect(cron["spec"]["concurrencyPolicy"].string == "Forbid")
        let schedule = try #require(cron["spec"]["schedule"].string)
        #expect(schedule.split(separator: " ").count == 5, "five-field schedule: \(schedule)")
        #expect(schedule.split(separator: " ").dropFirst().allSatisfy { $0 == "*" }, "hourly: \(schedule)")
        let job = cron["spec"]["jobTemplate"]["spec"]
        let deadline = try #require(job["activeDeadlineSeconds"].int)
        #expect(deadline < 3600, "a hung run ends before the next one")
        let pod = job["template"]["spec"]
        #expect(["Never", "OnFailure"].contains(pod["restartPolicy"].string ?? ""))
        let (container, env) = try Self.checkPod(pod, common: common)
        let args = container["args"].list.compactMap(\.string)
        #expect(args.first == "aggregate" && !args.contains("--follow"))
        // The ConfigMap is shared with the follow-mode Deployment: STI_FOLLOW there would turn
        // every hourly job into a daemon that never ends.
        #expect(
            ["false", "0", "no", nil].contains(env["STI_FOLLOW"]?.lowercased()), "STI_FOLLOW=\(env["STI_FOLLOW"] ?? "")"
        )
    }

    @Test func followDeploymentIsSingleRecreatedAndScraped() throws {
        let common = try Self.yaml("kubernetes/common.yaml")
        let deployment = try Self.object(Self.yaml("kubernetes/deployment.yaml"), kind: "Deployment")
        #expect(deployment["apiVersion"].string == "apps/v1")
        #expect(deployment["spec"]["replicas"].int == 1)
        #expect(deployment["spec"]["strategy"]["type"].string == "Recreate")
        let template = deployment["spec"]["template"]
        let selector = deployment["spec"]["selector"]["matchLabels"].map.compactMapValues(\.string)
        let labels = template["metadata"]["labels"].map.compactMapValues(\.string)
        #expect(!selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value })
        let pod = template["spec"]
        let (container, env) = try Self.checkPod(pod, common: common)
        #expect(container["args"].list.compactMap(\.string) == ["aggregate", "--follow"])
        let annotations = template["metadata"]["annotations"].map.compactMapValues(\.string)
        #expect(annotations["prometheus.io/scrape"] == "true")
        let port = try #require(container["ports"].list.first { $0["name"].string == "metrics" }?["containerPort"].int)
        #expect(annotations["prometheus.io/port"] == String(port))
        // Explicitly on all of the pod's interfaces: a bare port binds 127.0.0.1, which the
        // kubelet's probes and Prometheus cannot reach.
        #expect(env["STI_METRICS_PORT"] == "0.0.0.0:\(port)")
        #expect(container["livenessProbe"].exists && container["readinessProbe"].exists)
        #expect((pod["terminationGracePeriodSeconds"].int ?? 0) >= 30)
    }

    // MARK: compose

    /// The Compose Specification's JSON schema (Deploy/install-deps.sh downloads it).
    static func composeSchema() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let path =
            environment["STI_COMPOSE_SCHEMA"]
            ?? (environment["STI_DEPS_DIR"] ?? (NSHomeDirectory() + "/.cache/sti-pipeline"))
            + "/compose-spec/compose_spec.json"
        try #require(
            FileManager.default.fileExists(atPath: path), "no compose schema at \(path): run Deploy/install-deps.sh")
        return path
    }

    /// Schema errors of a compose file, one per line (empty: valid). The schema is of May 2021;
    /// the top-level `name` came into the specification in 2022, so it is checked here by the
    /// specification's own rule (a project name: lower-case letters, digits, `-`, `_`) and
    /// removed before validating the rest.
    static func composeSchemaErrors(at url: URL) throws -> [String] {
        let script = """
            import json, re, sys, yaml, jsonschema
            schema = json.load(open(sys.argv[1], encoding="utf-8"))
            doc = yaml.safe_load(open(sys.argv[2], encoding="utf-8"))
            errors = []
            name = doc.pop("name", None)
            if name is not None and not (isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name)):
                errors.append("name: not a project name: %r" % (name,))
            validator = jsonschema.validators.validator_for(schema)(schema)
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
                errors.append("/".join(map(str, e.path)) + ": " + e.message)
            print("\\n".join(errors))
            """
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let result = try run(python, ["-c", script, try composeSchema(), url.path])
        guard result.status == 0 else {
            throw FeedTestError(
                "schema check of \(url.lastPathComponent) did not run (jsonschema missing? Deploy/install-deps.sh): \(result.stderr)"
            )
        }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func composeFileMatchesTheComposeSchema() throws {
        let errors = try Self.composeSchemaErrors(
            at: Self.deploy().appendingPathComponent("compose/docker-compose.yml"))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func composeSchemaCheckCatchesMistakes() throws {
        let dir = try FeedTestRepo.temporaryDirectory("deploy-compose")
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Self.read("compose/docker-compose.yml")
        // A misspelt service key and a bad project name, each alone.
        let cases = [
            ("restart: unless-stopped", "restart_policy: unless-stopped", "restart_policy"),
            ("name: sti-kafka", "name: STI Kafka", "name"),
        ]
        for (from, to, expected) in cases {
            #expect(original.contains(from))
            let broken = dir.appendingPathComponent("\(expected).yml")
            try original.replacingOccurrences(of: from, with: to).write(to: broken, atomically: true, encoding: .utf8)
            let errors = try Self.composeSchemaErrors(at: broken)
            #expect(errors.contains { $0.contains(expected) }, "\(expected): \(errors)")
        }
    }

    @Test func composeIsAThreeNodeKRaftClusterWithDurableTopics() throws {
        let compose = try #require(try Self.yaml("compose/docker-compose.yml").first)
        let services = compose["services"].map
        let brokers = services.filter { $0.value["image"].string?.hasPrefix("apache/kafka:") == true }
        #expect(brokers.count == 3)

        var clusterIds: Set<String> = []
        var nodeIds: Set<Int> = []
        var controllerIds: Set<Int> = []
        var voterSets: Set<String> = []
        for (name, broker) in brokers {
            let env = broker["environment"].map.compactMapValues(\.string)
            let roles = Set((env["KAFKA_PROCESS_ROLES"] ?? "").split(separator: ",").map(String.init))
            #expect(roles.contains("broker"), "\(name) is a broker")
            let id = try #require(env["KAFKA_NODE_ID"].flatMap { Int($0) })
            nodeIds.insert(id)
            if roles.contains("controller") { controllerIds.insert(id) }
            clusterIds.insert(env["CLUSTER_ID"] ?? "")
            voterSets.insert(env["KAFKA_CONTROLLER_QUORUM_VOTERS"] ?? "")
            #expect(env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER")
            #expect(env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3")
            #expect(env["KAFKA_MIN_INSYNC_REPLICAS"] == "2")
            #expect(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3")
            #expect(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3")
            #expect(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2")
            #expect(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false")
            #expect(broker["healthcheck"]["test"].exists, "\(name) has a health check")

            // Listeners: every one has a protocol; the published port is loopback-only and is
            // what the EXTERNAL listener advertises.
            let listeners = (env["KAFKA_LISTENERS"] ?? "").split(separator: ",").map {
                $0.split(separator: ":").first.map(String.init) ?? ""
            }
            let protocols = Set(
                (env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] ?? "").split(separator: ",").map {
                    String($0.split(separator: ":")[0])
                })
            #expect(Set(listeners).isSubset(of: protocols), "\(name) listeners \(listeners) vs map \(protocols)")
            let ports = broker["ports"].list.compactMap(\.string)
            #expect(
                !ports.isEmpty && ports.allSatisfy { $0.hasPrefix("127.0.0.1:") },
                "\(name) publishes on loopback only: \(ports)")
            for port in ports {
                let hostPort = port.split(separator: ":")[1]
                #expect(
                    env["KAFKA_ADVERTISED_LISTENERS"]?.contains("EXTERNAL://127.0.0.1:\(hostPort)") == true,
                    "\(name) advertises \(port)")
            }
        }
        #expect(nodeIds == [1, 2, 3])
        #expect(clusterIds.count == 1)
        let clusterId = try #require(clusterIds.first)
        let padded = clusterId.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=="
        #expect(Data(base64Encoded: padded)?.count == 16, "CLUSTER_ID is a base64url UUID: \(clusterId)")
        #expect(voterSets.count == 1)
        let voters = try #require(voterSets.first).split(separator: ",")
        #expect(voters.count == 3)
        #expect(Set(voters.compactMap { Int($0.split(separator: "@")[0]) }) == controllerIds)
        for voter in voters {
            let host = voter.split(separator: "@")[1].split(separator: ":")[0]
            #expect(brokers[String(host)] != nil, "voter \(voter) is a service")
        }

        // The one-shot topic creation: after all brokers are healthy, RF 3, min ISR 2, never restarted.
        let oneShot = try #require(
            services.first { $0.value["command"].list.compactMap(\.string).starts(with: ["topics", "create"]) })
        let command = oneShot.value["command"].list.compactMap(\.string).joined(separator: " ")
        #expect(command.contains("--replication-factor 3"))
        #expect(command.contains("--min-insync-replicas 2"))
        let brokerList = try #require(command.firstMatch(of: /--brokers (\S+)/)).1.split(separator: ",")
        #expect(Set(brokerList.map { String($0.split(separator: ":")[0]) }) == Set(brokers.keys))
        #expect(oneShot.value["restart"].string == "no")
        for name in brokers.keys {
            #expect(oneShot.value["depends_on"][name]["condition"].string == "service_healthy", "waits for \(name)")
        }
    }

    // MARK: metrics documentation

    /// Deploy/README.md's metrics section: the table's metric names, and every `sti_` name in
    /// the section (alert rules included).
    static func documentedMetrics() throws -> (table: Set<String>, mentioned: Set<String>) {
        let readme = try read("README.md")
        let start = try #require(readme.range(of: "## Metrics with node-exporter"))
        let end = readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex)?.lowerBound ?? readme.endIndex
        let section = readme[start.lowerBound..<end]
        let table = Set(
            section.split(separator: "\n").filter { $0.hasPrefix("| `sti_") }
                .flatMap { $0.matches(of: /`(sti_[a-z_]+)/).map { String($0.1) } })
        let mentioned = Set(section.matches(of: /\b(sti_[a-z_]+)/).map { String($0.1) })
        return (table, mentioned)
    }

    /// The metric families of a textfile after a successful run with every context filled in.
    static func writtenMetrics() -> Set<String> {
        let summary = AggregateSummary(
            runId: "r", snapshotPath: "/s",
            counts: RunCounts(read: 3, accepted: 2, rejected: 1, rejectedByCode: [.range: 1]),
            authenticationEnabled: true, indicators: [], stoppedEarly: false)
        let lag = [StatusReport.Partition(topic: "sti.rd", partition: 0, storedOffset: 3, endOffset: 4, lag: 1)]
        let text = MetricsFile.render(
            summary: summary, duration: .seconds(1),
            context: .init(snapshotAgeSeconds: 5, recordsPerGeography: ["530102": 2], consumerLag: lag))
        return Set(
            text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
    }

    @Test func documentedMetricsAreTheWrittenOnes() throws {
        let (table, mentioned) = try Self.documentedMetrics()
        let written = Self.writtenMetrics()
        #expect(written.count >= 10)
        #expect(
            table == written,
            "documented only: \(table.subtracting(written).sorted()), written only: \(written.subtracting(table).sorted())"
        )
        #expect(
            mentioned.isSubset(of: written),
            "named in Deploy/README.md but never written: \(mentioned.subtracting(written).sorted())")
    }
}
