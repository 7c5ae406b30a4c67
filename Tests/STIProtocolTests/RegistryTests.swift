import Foundation
import Testing

@testable import STIProtocol

/// Issue 11, point 15: a registry file is read as strictly as a message. Foundation's
/// JSONDecoder took the first of two `code` keys, ignored unknown fields and skipped a BOM.
@Suite struct RegistryFileTests {
    static let good =
        #"{"code": "530102", "name_zh": "五华区", "name_en": "Wuhua District", "kind": "county", "area": "core", "in_total": true}"#
    static let zone =
        #"{"code": "KM-HTZ", "name_zh": "高新区", "name_en": "High-tech Zone", "kind": "zone", "area": "core", "in_total": false}"#

    static func file(_ entries: [String]) -> String {
        "{\"geographies\": [\n  " + entries.joined(separator: ",\n  ") + "\n]}\n"
    }

    @Test func aGoodFileReadsAsTheRegistry() throws {
        let registry = try Registry.parse(Data(Self.file([Self.good, Self.zone]).utf8))
        #expect(
            registry.geographies == [
                Geography(
                    code: "530102", nameZh: "五华区", nameEn: "Wuhua District", kind: .county, area: .core, inTotal: true),
                Geography(
                    code: "KM-HTZ", nameZh: "高新区", nameEn: "High-tech Zone", kind: .zone, area: .core, inTotal: false),
            ])
    }

    @Test(
        arguments: [
            // Syntax, as for a message.
            ("\u{FEFF}" + file([good]), "is not strict JSON: a byte-order mark is not allowed before the object"),
            (
                file([
                    #"{"code": "530102", "code": "530103", "name_zh": "五华区", "name_en": "W", "kind": "county", "area": "core", "in_total": true}"#
                ]),
                #"is not strict JSON: duplicate key "code""#
            ),
            (
                file([
                    good,
                    #"{"code": "530103", "name_zh": "a", "name_en": "b", "kind": "county", "kind": "zone", "area": "core", "in_total": true}"#,
                ]),
                #"duplicate key "kind" (at byte"#
            ),
            (#"{"geographies": [], "geographies": []}"#, #"duplicate key "geographies""#),
            (file([good]) + ",", "only whitespace may follow the object"),
            (file([good.replacingOccurrences(of: "true}", with: "true,}")]), "trailing comma"),
            // Shape.
            (#"{"geographies": [], "version": 2}"#, #"unknown field "version"; the file holds only "geographies""#),
            (#"{"regions": []}"#, #"unknown field "regions""#),
            (#"{}"#, #"field "geographies" is missing"#),
            (#"{"geographies": {}}"#, #""geographies" must be an array, not an object"#),
            (#"{"geographies": []}"#, "the registry lists no geographies"),
            (file([good, "\"530103\""]), "entry 2 must be an object, not a string"),
            (
                file([good.replacingOccurrences(of: #""in_total": true"#, with: #""in_total": true, "population": 5"#)]
                ),
                #"entry 1 (code "530102"): unknown field "population" (allowed: code, name_zh, name_en, kind, area, in_total)"#
            ),
            (
                file([good.replacingOccurrences(of: #""name_en": "Wuhua District", "#, with: "")]),
                #"entry 1 (code "530102"): name_en is missing"#
            ),
            (
                file([good.replacingOccurrences(of: #""530102""#, with: "530102")]),
                "entry 1: code must be a string, not a number"
            ),
            (
                file([good.replacingOccurrences(of: #""code": "530102""#, with: #""code": """#)]),
                "entry 1: code must not be empty"
            ),
            (
                file([good.replacingOccurrences(of: "true", with: #""true""#)]),
                #"entry 1 (code "530102"): in_total must be true or false, not a string"#
            ),
            (
                file([good.replacingOccurrences(of: #""county""#, with: #""district""#)]),
                #"entry 1 (code "530102"): kind must be "county" or "zone", not "district""#
            ),
            (
                file([good.replacingOccurrences(of: #""core""#, with: "null")]),
                #"entry 1 (code "530102"): area must be a string, not null"#
            ),
            (
                file([good, zone, good.replacingOccurrences(of: "五华区", with: "另一个")]),
                #"entry 3 (code "530102"): code is listed twice, also in entry 1"#
            ),
            (file([zone.replacingOccurrences(of: "false", with: "true")]), "zone KM-HTZ has in_total true"),
            (file([good.replacingOccurrences(of: "530102", with: "530100")]), "code 530100 is reserved"),
        ] as [(String, String)])
    func aBadFileIsRefusedNamingTheFieldAndEntry(_ text: String, _ message: String) {
        let error = #expect(throws: RegistryError.self) {
            try Registry.parse(Data(text.utf8), source: "registry file r.json")
        }
        #expect(error?.description.hasPrefix("registry file r.json") == true, "\(error?.description ?? "no error")")
        #expect(
            error?.description.contains(message) == true, "expected \(message): \(error?.description ?? "no error")")
    }

    /// A syntax error inside an entry names the entry, found from the error's byte offset.
    @Test func aSyntaxErrorNamesItsEntry() {
        let text = Self.file([
            Self.good, Self.zone,
            #"{"code": "530103", "code": "530111", "name_zh": "a", "name_en": "b", "kind": "county", "area": "core", "in_total": true}"#,
        ])
        let error = #expect(throws: RegistryError.self) {
            try Registry.parse(Data(text.utf8), source: "registry file r.json")
        }
        #expect(error?.description.hasSuffix(", in entry 3") == true, "\(error?.description ?? "")")
    }

    // A registry or keys file that is a directory: STIPipelineTests/ProtocolFilesTests.swift.
}
