// Message builders for the end-to-end tests: compact JSON values in the protocol's field
// order, each with its own `submitted_at` (so every value is unique on its topic and can be
// found again by its bytes), signed on request with HMAC-SHA256 under a test key.
import Foundation
import STIProtocol
import STITestSupport

/// A small registry (protocol section 1 shape) and its keys, shared by the scenario tests:
/// two core counties, one demonstration county, one zone.
enum SmallRegistry {
    static let wuhua = "530102"  // county, core
    static let panlong = "530103"  // county, core
    static let dongchuan = "530113"  // county, demonstration
    static let zone = "KM-HTZ"  // zone: its own rows, never in a total

    static let json = """
        {"geographies": [
          {"code": "530102", "name_zh": "五华区", "name_en": "Wuhua District", "kind": "county", "area": "core", "in_total": true},
          {"code": "530103", "name_zh": "盘龙区", "name_en": "Panlong District", "kind": "county", "area": "core", "in_total": true},
          {"code": "530113", "name_zh": "东川区", "name_en": "Dongchuan District", "kind": "county", "area": "demonstration", "in_total": true},
          {"code": "KM-HTZ", "name_zh": "昆明高新技术产业开发区", "name_en": "Kunming High-tech Industrial Development Zone", "kind": "zone", "area": "core", "in_total": false}
        ]}
        """

    /// One key per geography, plus one for a code outside the registry (so a message from an
    /// unknown county can be signed correctly and fail with E_COUNTY alone).
    static let keys: [(id: String, county: String, secret: String)] = [
        ("530102-k1", "530102", String(repeating: "a1", count: 32)),
        ("530103-k1", "530103", String(repeating: "b2", count: 32)),
        ("530113-k1", "530113", String(repeating: "c3", count: 32)),
        ("KM-HTZ-k1", "KM-HTZ", String(repeating: "d4", count: 32)),
        ("530199-k1", "530199", String(repeating: "e5", count: 32)),
    ]

    static var keysJSON: String {
        "{\"keys\": ["
            + keys.map { "{\"id\": \"\($0.id)\", \"county\": \"\($0.county)\", \"secret_hex\": \"\($0.secret)\"}" }
            .joined(separator: ", ") + "]}"
    }

    static func keyId(for county: String) -> String { county + "-k1" }

    static func ring() throws -> KeyRing {
        try KeyRing(keys: keys.map { (info: KeyRing.KeyInfo(id: $0.id, county: $0.county), secretHex: $0.secret) })
    }
}

/// Builds message values and signs them.
final class Feed {
    let ring: KeyRing
    private var second = 0

    init(ring: KeyRing) { self.ring = ring }

    /// A fresh `submitted_at`, one second after the previous one.
    func stamp() -> String {
        second += 1
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "2025-01-10T\(two(9 + second / 3600)):\(two(second / 60 % 60)):\(two(second % 60))+08:00"
    }

    func rd(
        _ county: String, _ year: Int, _ performer: String, _ amount: String, revision: Int = 1, status: String? = nil,
        explanation: String? = nil
    ) -> String {
        "{\"schema\":\"sti.rd/1\",\"county\":\"\(county)\",\"year\":\(year),\"performer\":\"\(performer)\","
            + "\"expenditure_10k_cny\":\(amount),\"revision\":\(revision)"
            + (status.map { ",\"status\":\"\($0)\"" } ?? "") + ",\"submitted_at\":\"\(stamp())\""
            + (explanation.map { ",\"explanation\":\"\($0)\"" } ?? "") + "}"
    }

    func contract(
        _ county: String, _ number: String, on date: String, _ type: String, _ domain: String,
        value: String, transaction: String, buyer: String, revision: Int = 1, status: String? = nil
    ) -> String {
        "{\"schema\":\"sti.tech-contract/1\",\"county\":\"\(county)\",\"contract_no\":\"\(number)\","
            + "\"registered_on\":\"\(date)\",\"contract_type\":\"\(type)\",\"domain\":\"\(domain)\","
            + "\"contract_value_10k_cny\":\(value),\"tech_transaction_value_10k_cny\":\(transaction),"
            + "\"buyer_country\":\"\(buyer)\",\"revision\":\(revision)"
            + (status.map { ",\"status\":\"\($0)\"" } ?? "") + ",\"submitted_at\":\"\(stamp())\"}"
    }

    /// `figures`: (field, JSON literal) pairs in the order given.
    func profile(_ county: String, _ year: Int, _ figures: [(String, String)], revision: Int = 1) -> String {
        "{\"schema\":\"sti.county-profile/1\",\"county\":\"\(county)\",\"year\":\(year),"
            + figures.map { "\"\($0.0)\":\($0.1)," }.joined()
            + "\"revision\":\(revision),\"submitted_at\":\"\(stamp())\"}"
    }

    /// Headers `sti-key-id` / `sti-signature` for `value` under `keyId`.
    func signature(_ value: [UInt8], keyId: String) throws -> [(String, String)] {
        [("sti-key-id", keyId), ("sti-signature", try ring.sign(value: value, keyId: keyId))]
    }

    /// A message keyed by `county`, signed with that county's key.
    func signed(_ topic: String, _ county: String, _ json: String) throws -> Outgoing {
        let value = Array(json.utf8)
        return Outgoing(
            topic: topic, key: county, value: value,
            headers: try signature(value, keyId: SmallRegistry.keyId(for: county)))
    }

    /// A message with no signature headers at all.
    func unsigned(_ topic: String, _ county: String, _ json: String) -> Outgoing {
        Outgoing(topic: topic, key: county, json: json)
    }
}
