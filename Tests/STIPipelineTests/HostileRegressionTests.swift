import Foundation
import STIProtocol
import Testing

/// Inputs the fuzz targets found (kept also as `Fuzz/corpus/<target>/regression-*`), and their
/// neighbours, as unit cases.
@Suite struct HostileRegressionTests {
    static let corpus: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/"
            && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path)
        {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Fuzz/corpus")
    }()

    static let validator = MessageValidator(
        registry: .kunming, keyRing: nil, today: { CalendarDate(year: 2026, month: 6, day: 30) })

    static func failure(_ value: [UInt8], on kind: RecordKind, key: String = "530102") -> ValidationFailure? {
        var key = key
        return value.withUnsafeBytes { v in
            key.withUTF8 { k in
                // The injected clock decides "today" (an offline check): a consumed message would be
                // judged on its timestamp (section 3), and 0 is 1970.
                if case .failure(let f) = validator.validate(
                    InboundMessage(
                        topicKind: kind, key: UnsafeRawBufferPointer(k), value: v,
                        timestampMillis: 0, timestampSource: .localClock))
                {
                    return f
                }
                return nil
            }
        }
    }

    /// The bound the hostile corpus holds every error to (MessageValidatorHostileTests).
    static func expectShort(_ f: ValidationFailure, _ comment: Comment) {
        for e in f.errors {
            #expect(
                e.message.utf8.count < 400, "\(comment): \(e.code.rawValue) message of \(e.message.utf8.count) bytes")
            #expect(
                (e.field?.utf8.count ?? 0) < 100,
                "\(comment): \(e.code.rawValue) field of \(e.field?.utf8.count ?? 0) bytes")
        }
    }

    /// fuzz-validator, 600 s run: a contract whose county is "5301", 91 DEL characters and "02"
    /// got a 407-byte E_KEY_MISMATCH text, every DEL escaped to six bytes (`\u{7f}`).
    @Test func aCountyOfEscapedCharactersKeepsTheErrorShort() throws {
        let value = try [UInt8](
            Data(contentsOf: Self.corpus.appendingPathComponent("validator/regression-escaped-county-error-text.json")))
        let f = try #require(Self.failure(value, on: .techContract))
        #expect(f.codes.contains(.keyMismatch))
        Self.expectShort(f, "regression input")
        let mismatch = try #require(f.errors.first { $0.code == .keyMismatch })
        #expect(mismatch.message.hasPrefix("\"5301\\u{7f}"))
        #expect(mismatch.message.contains("…\" differs from the message key \"530102\""))
    }

    /// The same for every kind of wide character, in `county` (quoted twice in one error:
    /// E_COUNTY and E_KEY_MISMATCH) and in the key of an unknown field (the error's field).
    @Test(arguments: [
        ("DEL", "\u{7F}"), ("C0 control", "\u{01}"), ("C1 control", "\u{85}"), ("CJK", "县"), ("emoji", "😀"),
        ("quote", "\""),
    ])
    func wideCharactersKeepErrorsShort(_ name: String, _ character: String) throws {
        let long = String(repeating: character, count: 200)
        let county = Wire.rd(["county": Wire.str(long)])
        let f = try #require(Self.failure(county, on: .rd, key: String(repeating: character, count: 64)))
        #expect(f.codes.contains(.county) && f.codes.contains(.keyMismatch))
        Self.expectShort(f, "county of \(name)")
        let field = try #require(Self.failure(Wire.rd(extra: [(long, "1")]), on: .rd))
        #expect(field.codes == [.fieldUnknown])
        Self.expectShort(field, "field name of \(name)")
        #expect(field.errors[0].field?.hasSuffix("…") == true)
    }
}
