import Foundation
import Testing

@testable import STIProtocol

/// Section 5a and 6: a message held for warnings gets a notice with disposition `held` naming
/// each warning, both figures and the fix.
@Suite struct HeldNoticeTests {
    static let contract = IndicatorFixtures.contract(
        "530102", "HT-9", 2025, 6, 1, value: "20000", transaction: "1000", buyer: "LA")

    @Test func aHeldNoticeNamesEveryWarning() throws {
        let warnings = Plausibility.warnings(for: Self.contract, previousYear: nil)
        let payload = Array(Self.contract.canonicalJSON.utf8)
        let notice = RejectionNotice.held(
            topic: "sti.tech-contracts", partition: 1, offset: 42, county: "530102",
            warnings: warnings, heldAt: "2026-01-15T01:30:00Z", payload: payload)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(notice.encoded())) as? [String: Any])
        #expect(json["schema"] as? String == "sti.rejection/1")
        #expect(json["disposition"] as? String == "held")
        #expect(json["county"] as? String == "530102")
        #expect(json["rejected_at"] as? String == "2026-01-15T01:30:00Z")
        #expect(json["payload_base64"] as? String == Data(payload).base64EncodedString())
        let entries = try #require(json["errors"] as? [[String: String]])
        #expect(entries.map { $0["code"] } == ["W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"])
        #expect(entries.map { $0["field"] } == ["contract_value_10k_cny", "tech_transaction_value_10k_cny"])
        #expect(
            entries[1]["message"]
                == "tech_transaction_value_10k_cny 1000 is less than 10 % of contract_value_10k_cny 20000; "
                + "if it is right, send the record again with an `explanation` saying why (section 5a)")
        #expect(notice.codes.isEmpty)
        #expect(notice.codeNames == ["W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"])
        #expect(
            notice.firstMessage.hasPrefix(
                "contract_value_10k_cny: contract_value_10k_cny 20000 is 10000 万元 (1 亿元) or more; "))
    }

    @Test func aRejectedNoticeIsUnchanged() throws {
        let notice = RejectionNotice(
            topic: "sti.rd", partition: 0, offset: 7, county: nil,
            errors: [FieldError(.range, field: "year", "x"), FieldError(.range, field: "revision", "y")],
            rejectedAt: "t", payload: [0x7B, 0x7D])
        #expect(
            String(decoding: notice.encoded(), as: UTF8.self)
                == #"{"schema":"sti.rejection/1","disposition":"rejected","source":{"topic":"sti.rd","partition":0,"offset":7},"county":null,"errors":[{"code":"E_RANGE","field":"year","message":"x"},{"code":"E_RANGE","field":"revision","message":"y"}],"rejected_at":"t","payload_base64":"e30="}"#
        )
        #expect(notice.codeNames == ["E_RANGE"])
        #expect(notice.firstMessage == "year: x")
    }
}
