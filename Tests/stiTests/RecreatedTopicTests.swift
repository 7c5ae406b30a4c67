// Issue 11 points 3 and 14 end to end: `sti aggregate` and `sti status` (child processes,
// Tansu) after a submission topic was deleted and recreated with fewer messages than the state
// had read. Before, the run waited its whole --timeout and said "no answer from the brokers",
// and `sti status` timed out the same way (or, when it got an answer, clamped the lag to 0).
// Now both name the partition and what happened, exit non-zero, and nothing is consumed.
import Foundation
import Kafka
import STIPipeline
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct RecreatedTopic {
        static func contract(_ number: String) -> Outgoing {
            Outgoing(
                topic: "sti.tech-contracts", key: "530102",
                json:
                    #"{"schema":"sti.tech-contract/1","county":"530102","revision":1,"status":"active","submitted_at":"2026-01-15T09:30:00+08:00","contract_no":"\#(number)","registered_on":"2024-03-01","contract_type":"development","domain":"biomedicine","contract_value_10k_cny":50,"tech_transaction_value_10k_cny":40,"buyer_country":"VN"}"#
            )
        }

        @Test("a recreated, shorter topic: aggregate and status name the partition and exit 1; nothing is consumed")
        func shorterRecreatedTopic() async throws {
            try await Bench.with { bench in
                let broker = try #require(bench.broker)
                try await bench.createTopics(partitions: 1)
                let out = bench.scratch.file("out")
                let state = bench.scratch.file("state.db")
                let common = ["--brokers", bench.brokers, "--out", out, "--state", state, "--timeout", "30"]
                try await bench.produce((0..<5).map { Self.contract("A-\($0)") })
                let first = try await bench.sti(["aggregate"] + common)
                #expect(first.succeeded, "\(first.stderrText)")
                let offsets = try SQLiteStateStore(readingFrom: state).offsets()
                let folders = runFolders(out: out)

                try await onDedicatedThread { try broker.deleteTopic("sti.tech-contracts") }
                let created = try await bench.sti([
                    "topics", "create", "--brokers", bench.brokers, "--partitions", "1", "--timeout", "30",
                ])
                #expect(
                    created.succeeded && created.stdoutText.contains("sti.tech-contracts: created"),
                    "\(created.stdoutText) \(created.stderrText)")
                try await bench.produce([Self.contract("B-0"), Self.contract("B-1")])

                let refused = try await bench.sti(["aggregate", "--log-format", "json"] + common)
                #expect(refused.status == 1 && !refused.timedOut)
                // The JSON log line carries the error's code as a field of its own.
                let failure = refused.stderrText.split(separator: "\n").compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                }.first { ($0["message"] as? String)?.hasPrefix("aggregate failed") == true }
                let logged = try #require(failure, "no 'aggregate failed' JSON line: \(refused.stderrText)")
                #expect(logged["error_code"] as? String == "log_replaced", "\(logged)")
                let said = logged["message"] as? String ?? ""
                #expect(
                    said.contains(
                        "sti.tech-contracts[0]: this state read up to offset 5, but the partition now ends at offset 2"),
                    "\(said)")
                #expect(
                    said.contains("deleted and recreated") && said.contains("--rebuild")
                        && said.contains("another --state"), "\(said)")
                #expect(!said.contains("no answer from the brokers"), "\(said)")
                #expect(try SQLiteStateStore(readingFrom: state).offsets() == offsets)
                #expect(runFolders(out: out) == folders)

                // sti status: the partition flagged past the end, a problem listed, exit 1.
                let status = try await bench.sti(["status", "--json"] + common)
                #expect(status.status == 1 && !status.timedOut, "\(status.stderrText)")
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(status.stdout)) as? [String: Any],
                    "\(status.stdoutText)")
                let partitions = try #require(report["partitions"] as? [[String: Any]])
                let contracts = try #require(partitions.first { $0["topic"] as? String == "sti.tech-contracts" })
                #expect(contracts["stored_offset"] as? Int == 5 && contracts["end_offset"] as? Int == 2)
                #expect(contracts["stored_beyond_end"] as? Bool == true)
                #expect(partitions.filter { $0["stored_beyond_end"] as? Bool == true }.count == 1)
                let problems = try #require(report["problems"] as? [String])
                #expect(problems.count == 1 && problems.first?.contains("sti.tech-contracts[0]") == true, "\(problems)")
                #expect(status.stderrText.contains("1 problem(s)"), "\(status.stderrText)")
            }
        }
    }
}
