import Foundation
import STITestSupport
import Testing

@testable import STIPipeline

@Suite struct SettingsTests {
    func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "sti-settings-\(UUID().uuidString).env"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let path = try writeConfig(
            """
            # comment
            STI_BROKERS=file:9092
            export STI_OUT="/srv/file-out"
            STI_GROUP='file-group'
            STI_TIMEOUT=45
            """)
        let settings = try Settings(
            environment: ["STI_BROKERS": "env:9092", "STI_OUT": "/srv/env-out"], configFile: path)
        #expect(settings.value("STI_BROKERS", flag: "flag:9092") == "flag:9092")
        #expect(settings.value("STI_BROKERS", flag: nil) == "env:9092")
        #expect(settings.value("STI_OUT", flag: nil) == "/srv/env-out")
        #expect(settings.value("STI_GROUP", flag: nil) == "file-group")
        #expect(settings.value("STI_KEYS", flag: nil) == nil)
        #expect(
            try settings.integer("STI_TIMEOUT", flag: nil, default: 30, range: 1...3600, flagName: "--timeout") == 45)
        #expect(try settings.integer("STI_TIMEOUT", flag: 5, default: 30, range: 1...3600, flagName: "--timeout") == 5)
        #expect(
            try settings.integer("STI_INTERVAL", flag: nil, default: 60, range: 1...86400, flagName: "--interval") == 60
        )
    }

    @Test func configFileComesFromEnvironmentToo() throws {
        let path = try writeConfig("STI_STATE=/var/lib/sti/state.db\n")
        let settings = try Settings(environment: ["STI_CONFIG": path])
        #expect(settings.value("STI_STATE", flag: nil) == "/var/lib/sti/state.db")
    }

    @Test func emptyEnvironmentValueFallsThroughToFile() throws {
        let path = try writeConfig("STI_BROKERS=file:9092\n")
        let settings = try Settings(environment: ["STI_BROKERS": ""], configFile: path)
        #expect(settings.value("STI_BROKERS", flag: nil) == "file:9092")
    }

    @Test func unknownKeyInFileNamesLine() throws {
        let path = try writeConfig("STI_BROKERS=a:1\nSTI_BROKER=typo:1\n")
        let error = #expect(throws: SettingsError.self) { try Settings(environment: [:], configFile: path) }
        #expect(error?.description.contains(":2: unknown setting STI_BROKER") == true)
        #expect(error?.code == .notAllowed)
    }

    @Test func lineWithoutEqualsIsAnError() throws {
        let path = try writeConfig("STI_BROKERS\n")
        let error = #expect(throws: SettingsError.self) { try Settings(environment: [:], configFile: path) }
        #expect(error?.description.contains(":1: expected KEY=VALUE") == true)
        #expect(error?.code == .malformed)
    }

    @Test func missingFileIsAnError() {
        let error = #expect(throws: SettingsError.self) {
            try Settings(environment: [:], configFile: "/nonexistent/sti.env")
        }
        #expect(error?.description.contains("cannot read config file /nonexistent/sti.env") == true)
        #expect(error?.code == .unreadable)
    }

    @Test func requiredNamesEveryPlace() throws {
        let settings = try Settings(environment: [:])
        let error = #expect(throws: SettingsError.self) {
            try settings.required("STI_BROKERS", flag: nil, flagName: "--brokers")
        }
        #expect(
            error?.description
                == "missing --brokers: give it on the command line, in STI_BROKERS, or in the config file")
        #expect(error?.code == .missing)
    }

    @Test func integerOutOfRangeOrMalformed() throws {
        let settings = try Settings(environment: ["STI_TIMEOUT": "abc", "STI_INTERVAL": "0"])
        #expect(throws: SettingsError.self) {
            try settings.integer("STI_TIMEOUT", flag: nil, default: 30, range: 1...3600, flagName: "--timeout")
        }
        let error = #expect(throws: SettingsError.self) {
            try settings.integer("STI_INTERVAL", flag: nil, default: 60, range: 1...86400, flagName: "--interval")
        }
        #expect(error?.description == "--interval must be between 1 and 86400, got 0")
        #expect(error?.code == .outOfRange)
    }

    @Test func booleanFlagThenEnvironmentThenFileThenFalse() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("sti.env")
        try "STI_FOLLOW=yes\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Settings(environment: [:]).boolean("STI_FOLLOW", flag: nil) == false)
        #expect(try Settings(environment: [:], configFile: file).boolean("STI_FOLLOW", flag: nil) == true)
        #expect(
            try Settings(environment: ["STI_FOLLOW": "FALSE"], configFile: file).boolean("STI_FOLLOW", flag: nil)
                == false)
        #expect(try Settings(environment: ["STI_FOLLOW": "1"]).boolean("STI_FOLLOW", flag: nil) == true)
        #expect(
            try Settings(environment: ["STI_FOLLOW": "true"]).boolean("STI_FOLLOW", flag: false) == false,
            "--no-follow wins")
        #expect(
            try Settings(environment: ["STI_FOLLOW": "no"]).boolean("STI_FOLLOW", flag: true) == true, "--follow wins")
    }

    @Test func booleanTypoIsAnError() throws {
        let settings = try Settings(environment: ["STI_FOLLOW": "ture"])
        let error = #expect(throws: SettingsError.self) { try settings.boolean("STI_FOLLOW", flag: nil) }
        #expect(error?.description == "STI_FOLLOW=ture is neither true nor false")
        #expect(error?.code == .malformed)
    }

    @Test func batchSizeFromTheEnvironmentIsChecked() throws {
        #expect(
            try Settings(environment: ["STI_BATCH_SIZE": "500"])
                .integer("STI_BATCH_SIZE", flag: nil, default: 10_000, range: 1...1_000_000, flagName: "--batch-size")
                == 500)
        let error = #expect(throws: SettingsError.self) {
            try Settings(environment: ["STI_BATCH_SIZE": "0"])
                .integer("STI_BATCH_SIZE", flag: nil, default: 10_000, range: 1...1_000_000, flagName: "--batch-size")
        }
        #expect(error?.description == "--batch-size must be between 1 and 1000000, got 0")
        #expect(error?.code == .outOfRange)
    }
}
