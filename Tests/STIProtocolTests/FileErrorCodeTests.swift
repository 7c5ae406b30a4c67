import Foundation
import Testing

@testable import STIProtocol

/// Registry and keys-file errors carry a code a caller can branch on (issue 12 point 3); the
/// texts are pinned by RegistryTests and KeyRingTests.
@Suite struct FileErrorCodeTests {
    private func registryCode(_ text: String) -> RegistryError.Code? {
        do {
            _ = try Registry.parse(Data(text.utf8))
            return nil
        } catch { return error.code }
    }

    private func keysCode(_ text: String) -> KeyRingError.Code? {
        do {
            _ = try KeyRing.parse(Data(text.utf8))
            return nil
        } catch { return error.code }
    }

    @Test func registryCodes() {
        let good =
            #"{"code": "530102", "name_zh": "五华区", "name_en": "Wuhua District", "kind": "county", "area": "core", "in_total": true}"#
        let zone =
            #"{"code": "KM-X", "name_zh": "区", "name_en": "Zone", "kind": "zone", "area": "core", "in_total": true}"#
        #expect(registryCode(#"{"geographies": [\#(good)]}"#) == nil)
        #expect(registryCode("{") == .syntax)
        #expect(registryCode(#"{"geographies": {}}"#) == .invalid)
        #expect(registryCode(#"{"geographies": [\#(good), \#(good)]}"#) == .duplicate)
        #expect(registryCode(#"{"geographies": [\#(good), \#(zone)]}"#) == .rule)
    }

    @Test func keyRingCodes() {
        let secret = String(repeating: "ab", count: 32)
        func entry(_ id: String, _ secretHex: String, extra: String = "") -> String {
            #"{"id":"\#(id)","county":"530102","secret_hex":"\#(secretHex)"\#(extra)}"#
        }
        #expect(keysCode(#"{"keys":[\#(entry("k1", secret))]}"#) == nil)
        #expect(keysCode("[") == .syntax)
        #expect(keysCode(#"{"keys":[]}"#) == .invalid)
        #expect(keysCode(#"{"keys":[\#(entry("k1", secret)),\#(entry("k1", secret))]}"#) == .duplicate)
        #expect(keysCode(#"{"keys":[\#(entry("k1", "abc"))]}"#) == .badSecret)
        #expect(keysCode(#"{"keys":[\#(entry("k1", secret, extra: #","not_before":"2026-01-01""#))]}"#) == .badValidity)
        let ring = try? KeyRing.parse(Data(#"{"keys":[\#(entry("k1", secret))]}"#.utf8))
        #expect(throws: KeyRingError(.unknownKey, "unknown key \"k2\"")) {
            _ = try ring?.sign(value: Data("x".utf8), keyId: "k2")
        }
    }
}
