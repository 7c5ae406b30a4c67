// swift-tools-version: 6.1
// sti-pipeline: Kunming science-and-technology statistics over Kafka.
//
// `section N` in code comments means section N of docs/protocol.md, the contract as issued.
//
// Module map (each depends only on those above it):
//   CRdKafka     system library over Debian's librdkafka-dev (pkg-config `rdkafka`)
//   Kafka        a small, safe Swift API over librdkafka; knows nothing about statistics
//   STIProtocol  the contract (docs/protocol.md, version 2), pure: the record catalogue (one
//                description per kind and field), registry, records, exact amounts, validation,
//                revisions, indicators, CSV and manifest writing. No Kafka, no file I/O of its own.
// docs/architecture.md tells the path of one message and where to add a field, rule or kind.
//   STIPipeline  the runs: submit, aggregate, status; the SQLite state store; every file the
//                protocol core does not touch (keys, registry, snapshots): the one module with I/O
//   STIFeedGenerator  synthetic feeds for `sti generate` and `sti demo`, with its own oracle
//                aggregator; used by the CLI and the tests, never by a run
//   sti          the command-line tool
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sti-pipeline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sti", targets: ["sti"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "STIProtocol", targets: ["STIProtocol"]),
        // For the libFuzzer package in Fuzz/ (feed reader target).
        .library(name: "STIPipeline", targets: ["STIPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // NIOHTTP1 for the --metrics-port endpoint (hostile review #2, #9): about a minute more of
        // a clean debug build on 2 cores (45-75 s CPU); why NIO and not FlyingFox or Hummingbird:
        // Sources/STIPipeline/MetricsServer.swift.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // ZIPFoundation for .xlsx feeds in and workbooks out (issue 15): the zip container only;
        // the XML inside is read with Foundation's own XMLParser (FoundationXML, shipped with the
        // toolchain: no build cost). A small pure-Swift target (zlib from the system): about 15 s of
        // CPU (30 s wall on the shared 2 cores) of a clean debug build. SWXMLHash and XMLCoder were
        // not taken: both sit on the same XMLParser, SWXMLHash builds a tree of the whole part
        // (memory grows with the sheet) and XMLCoder decodes Codable types (more build time, and
        // neither gives the streaming, depth-capped reading the hostile inputs need).
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka"],
            swiftSettings: strict
        ),
        .target(
            name: "STIProtocol",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: strict
        ),
        .target(
            name: "STIPipeline",
            dependencies: [
                "Kafka", "STIProtocol",
                // SHA-256 of the last message consumed per partition (already built for STIProtocol).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the state store's per-message statements.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "STIFeedGenerator",
            dependencies: ["STIProtocol"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "sti",
            dependencies: [
                "STIPipeline", "Kafka", "STIProtocol", "STIFeedGenerator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Shared by the test targets: brokers (mock cluster, Tansu), temp dirs, child processes.
        .target(
            name: "STITestSupport",
            dependencies: ["Kafka"],
            path: "Tests/STITestSupport",
            swiftSettings: strict
        ),
        // A tiny kcat-like client over the Kafka module, run as a child process by the tests
        // (SIGKILL mid-stream, and the in-process library version differing from the child's).
        .executableTarget(
            name: "kafka-probe", dependencies: ["Kafka"], path: "Tests/KafkaProbe", swiftSettings: strict),
        .testTarget(
            name: "KafkaTests", dependencies: ["Kafka", "STITestSupport", "kafka-probe"], swiftSettings: strict),
        .testTarget(name: "STIProtocolTests", dependencies: ["STIProtocol"], swiftSettings: strict),
        .testTarget(
            name: "STIPipelineTests",
            dependencies: [
                "STIPipeline", "STIProtocol", "STIFeedGenerator", "Kafka", "STITestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                // hostile workbooks, zipped part by part
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ], swiftSettings: strict),
        .testTarget(
            name: "stiTests",
            dependencies: ["sti", "STIPipeline", "STIProtocol", "STIFeedGenerator", "Kafka", "STITestSupport"],
            // run by LibreOffice's own python (python3-uno) in LibreOfficeTests
            exclude: ["LibreOffice/fill_template.py"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
