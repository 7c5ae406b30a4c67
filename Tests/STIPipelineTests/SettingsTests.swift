import Foundation
import Testing
@testable import STIPipeline

@Suite struct SettingsTests {
    func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "sti-settings-\(UUID().uuidString).env"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let path = try writeConfig("""
            # comment
            STI_BROKERS=file:9092
            export STI_OUT="/srv/file-out"
            STI_GROUP='file-group'
            STI_TIMEOUT=45
            """)
        let settings = try Settings(environment: ["STI_BROKERS": "env:9092", "STI_OUT": "/srv/env-out"], configFile: path)
        #expect(settings.value("STI_BROKERS", flag: "flag:9092") == "flag:9092")
        #expect(settings.value("STI_BROKERS", flag: nil) == "env:9092")
        #expect(settings.value("STI_OUT", flag: nil) == "/srv/env-out")
        #expect(settings.value("STI_GROUP", flag: nil) == "file-group")
        #expect(settings.value("STI_KEYS", flag: nil) == nil)
        #expect(try settings.integer("STI_TIMEOUT", flag: nil, default: 30, range: 1...3600, flagName: "--timeout") == 45)
        #expect(try settings.integer("STI_TIMEOUT", flag: 5, default: 30, range: 1...3600, flagName: "--timeout") == 5)
        #expect(try settings.integer("STI_INTERVAL", flag: nil, default: 60, range: 1...86400, flagName: "--interval") == 60)
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
    }

    @Test func lineWithoutEqualsIsAnError() throws {
        let path = try writeConfig("STI_BROKERS\n")
        let error = #expect(throws: SettingsError.self) { try Settings(environment: [:], configFile: path) }
        #expect(error?.description.contains(":1: expected KEY=VALUE") == true)
    }

    @Test func missingFileIsAnError() {
        let error = #expect(throws: SettingsError.self) { try Settings(environment: [:], configFile: "/nonexistent/sti.env") }
        #expect(error?.description.contains("cannot read config file /nonexistent/sti.env") == true)
    }

    @Test func requiredNamesEveryPlace() throws {
        let settings = try Settings(environment: [:])
        let error = #expect(throws: SettingsError.self) { try settings.required("STI_BROKERS", flag: nil, flagName: "--brokers") }
        #expect(error?.description == "missing --brokers: give it on the command line, in STI_BROKERS, or in the config file")
    }

    @Test func integerOutOfRangeOrMalformed() throws {
        let settings = try Settings(environment: ["STI_TIMEOUT": "abc", "STI_INTERVAL": "0"])
        #expect(throws: SettingsError.self) { try settings.integer("STI_TIMEOUT", flag: nil, default: 30, range: 1...3600, flagName: "--timeout") }
        let error = #expect(throws: SettingsError.self) { try settings.integer("STI_INTERVAL", flag: nil, default: 60, range: 1...86400, flagName: "--interval") }
        #expect(error?.description == "--interval must be between 1 and 86400, got 0")
    }
}
