// Section 5a before sending (issue 13, item 6): `sti validate` and `sti submit` name the rows
// the aggregator would hold, with line, field, both figures and the fix; `sti submit` sends
// nothing while such a row has no explanation, unless --send-held.
import Foundation
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct OfflineWarnings {
        static let hangGuard: Duration = .seconds(120)

        /// Line 3 doubles 2024's figure and more (W_YOY_CHANGE between rows of the file), line 4
        /// is explained; the contracts file has a 1 亿元 contract (line 2) and one of 100 万元
        /// with 9.9999 of transactions (line 3, W_LOW_TRANSACTION_SHARE), and one just inside
        /// both bounds (line 4).
        static func feeds(_ bench: Bench) throws -> (rd: String, contracts: String) {
            let rd = try bench.write(
                "rd-2025.csv",
                crlf(
                    """
                    county,year,performer,expenditure_10k_cny,explanation
                    530102,2024,medical,100,
                    530102,2025,medical,200.0001,
                    530102,2025,other,5000,新建研发中心投产
                    530102,2024,other,1,
                    """))
            let contracts = try bench.write(
                "tech-contracts-2025.csv",
                crlf(
                    """
                    county,contract_no,registered_on,contract_type,domain,contract_value_10k_cny,tech_transaction_value_10k_cny,buyer_country
                    530102,A-1,2025-01-02,transfer,other,10000,5000,CN
                    530102,A-2,2025-01-03,service,other,100,9.9999,TH
                    530102,A-3,2025-01-04,service,other,9999.9999,1000,CN
                    """))
            return (rd, contracts)
        }

        @Test func validateNamesEveryRowTheAggregatorWouldHold() async throws {
            try await Bench.offline { bench in
                let (rd, contracts) = try Self.feeds(bench)
                let result = try await bench.sti(["validate", rd, contracts], timeout: Self.hangGuard)
                #expect(result.status == 0, "\(result.stderrText)")
                let lines = result.stderrText.split(separator: "\n").map(String.init).filter {
                    $0.contains(": warning W_")
                }
                #expect(lines.count == 3, "\(result.stderrText)")
                #expect(
                    lines.contains {
                        $0.hasPrefix("\(rd):3: warning W_YOY_CHANGE expenditure_10k_cny:") && $0.contains("200.0001")
                            && $0.contains("100") && $0.contains("add an `explanation` column")
                    })
                #expect(
                    lines.contains { $0.hasPrefix("\(contracts):2: warning W_LARGE_CONTRACT contract_value_10k_cny:") })
                #expect(
                    lines.contains {
                        $0.hasPrefix("\(contracts):3: warning W_LOW_TRANSACTION_SHARE tech_transaction_value_10k_cny:")
                            && $0.contains("9.9999")
                    })
                // The explained row (line 4) and the rows inside the bounds are not listed.
                #expect(!result.stderrText.contains("\(rd):4:") && !result.stderrText.contains("\(contracts):4:"))
                #expect(
                    result.stdoutText.contains("3 row(s) with plausibility warnings and no explanation would be held"),
                    "\(result.stdoutText)")
            }
        }

        /// Nothing is sent while a row would be held: the refusal comes before any broker is
        /// contacted (the brokers here are a closed port).
        @Test func submitSendsNothingWhileARowWouldBeHeld() async throws {
            try await Bench.offline { bench in
                let (rd, _) = try Self.feeds(bench)
                let result = try await bench.sti(
                    ["submit", "--brokers", bench.brokers, "--timeout", "5", rd], timeout: Self.hangGuard)
                #expect(result.status == 1)
                #expect(
                    result.stderrText.contains("1 row(s) would be held by the aggregator until explained"),
                    "\(result.stderrText)")
                #expect(result.stderrText.contains("--send-held"))
                #expect(!result.stderrText.contains(bench.brokers), "the brokers were contacted: \(result.stderrText)")
            }
        }

        /// With --send-held the rows go, and the aggregator holds exactly the announced ones.
        @Test func sendHeldSendsAndTheAggregatorHoldsThem() async throws {
            try await Bench.with { bench in
                try await bench.createTopics(partitions: 1)
                let (rd, contracts) = try Self.feeds(bench)
                let sent = try await bench.sti(
                    ["submit", "--brokers", bench.brokers, "--send-held", rd, contracts], timeout: Self.hangGuard)
                #expect(sent.succeeded, "\(sent.stderrText)")
                #expect(
                    sent.stderrText.contains("sending 3 row(s) that the aggregator will hold"), "\(sent.stderrText)")
                let run = try await bench.sti(
                    [
                        "aggregate", "--brokers", bench.brokers, "--out", bench.scratch.file("out"),
                        "--state", bench.scratch.file("state.db"), "--timeout", "30",
                    ], timeout: Self.hangGuard)
                #expect(run.succeeded, "\(run.stderrText)")
                let snapshot = try Snapshot.latest(out: bench.scratch.file("out"))
                let manifest = try snapshot.manifest()
                #expect(heldCount(manifest) == 3, "\(manifest)")
                #expect(manifestCounts(manifest)["accepted"] == 4, "\(manifest)")
            }
        }
    }
}
