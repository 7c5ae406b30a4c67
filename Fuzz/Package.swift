// swift-tools-version: 6.1
// libFuzzer targets for sti-pipeline (run them with Deploy/fuzz.sh).
//
// A package of its own so that the root package's `swift build` and `swift test` never see
// these targets: they only link with `-sanitize=fuzzer`. Build:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//
// Each target has its own `@main`, which hands over to libFuzzer's `LLVMFuzzerRunDriver`
// (declared by CLibFuzzer). libFuzzer's usual `main` cannot be used: on Linux SwiftPM links an
// executable with `--defsym main=<module>_main`, which `-parse-as-library` alone never
// defines (swiftlang/swift-package-manager#8731).
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sti-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sti-pipeline", path: ".."),
        // The CSV reader FeedReader used before its own: the feed target's oracle.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        .target(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        // Message decoder and validator on all three topics, with authentication, and the
        // canonical JSON round trip of every record it accepts.
        .executableTarget(
            name: "fuzz-validator",
            dependencies: [
                "CLibFuzzer", .product(name: "STIProtocol", package: "sti-pipeline"),
                // StoredRecord, the state's binary record form, lives beside the state store.
                .product(name: "STIPipeline", package: "sti-pipeline"),
            ],
            path: "Sources/FuzzValidator",
            swiftSettings: strict
        ),
        // The feed reader and row checks of `sti submit` / `sti validate` on CSV and JSONL files,
        // and the CSV rows against the reader FeedReader used before (CSV.swift).
        .executableTarget(
            name: "fuzz-feed",
            dependencies: [
                "CLibFuzzer",
                .product(name: "STIPipeline", package: "sti-pipeline"),
                .product(name: "STIProtocol", package: "sti-pipeline"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            path: "Sources/FuzzFeedReader",
            swiftSettings: strict
        ),
        // .xlsx workbooks (issue 15): the whole file, and the input as the first sheet's XML of
        // a valid workbook; errors name file, sheet and row, passed rows pass the validator.
        .executableTarget(
            name: "fuzz-xlsx",
            dependencies: [
                "CLibFuzzer",
                .product(name: "STIPipeline", package: "sti-pipeline"),
                .product(name: "STIProtocol", package: "sti-pipeline"),
            ],
            path: "Sources/FuzzXLSX",
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
