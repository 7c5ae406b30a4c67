// Section 5a end to end: messages produced with kcat into a real broker (Tansu), each `W_`
// code tripped, `sti aggregate` run as a child process. The unexplained ones are held (a
// notice with disposition `held` on sti.rejected, counted in the manifest, listed in
// rejections.csv and warnings.csv); sent again with an explanation they are accepted and
// listed as explained; `--rebuild` writes the same warnings.csv, indicators.csv and
// completeness.csv byte for byte.
import Foundation
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct HeldEndToEnd {
        @Test(
            "each W_ code from a kcat message through Tansu: held with its notice, then explained, then rebuilt alike")
        func heldExplainedRebuilt() async throws {
            try await Bench.with { bench in try await Self.run(bench) }
        }

        static func explained(_ json: String, _ text: String) -> String {
            String(json.dropLast()) + ",\"explanation\":\"\(text)\"}"
        }

        static func run(_ bench: Bench) async throws {
            try await bench.createTopics(partitions: 3)
            let registry = try bench.write("registry.json", SmallRegistry.json)
            let keys = try bench.write("keys.json", SmallRegistry.keysJSON, mode: 0o600)
            let out = bench.scratch.file("out")
            let state = bench.scratch.file("state.db")
            let feed = Feed(ring: try SmallRegistry.ring())
            let a = SmallRegistry.wuhua
            let (rd, contracts, profiles) = ("sti.rd", "sti.tech-contracts", "sti.county-profiles")
            func aggregate(_ extra: [String] = [], out: String = out) async throws -> ProcessResult {
                let result = try await bench.sti(
                    [
                        "aggregate", "--brokers", bench.brokers, "--out", out, "--state", state,
                        "--keys", keys, "--registry", registry, "--timeout", "30",
                    ] + extra)
                #expect(result.succeeded, "sti aggregate failed (\(result.status)): \(result.stderrText)")
                return result
            }

            let rd2025 = feed.rd(a, 2025, "enterprise_above_scale", "300")
            let contract = feed.contract(
                a, "530102-2025-001", on: "2025-03-01", "transfer", "new_materials",
                value: "20000", transaction: "1", buyer: "CN")
            let profile2025 = feed.profile(a, 2025, [("gdp_100m_cny", "1400"), ("resident_population_10k", "100")])
            let held: [Outgoing] = [
                try feed.signed(rd, a, feed.rd(a, 2024, "enterprise_above_scale", "100")),
                try feed.signed(
                    profiles, a, feed.profile(a, 2024, [("gdp_100m_cny", "1000"), ("resident_population_10k", "100")])),
                try feed.signed(rd, a, rd2025),
                try feed.signed(contracts, a, contract),
                try feed.signed(profiles, a, profile2025),
            ]
            try await bench.produce(held)
            let run1 = try await aggregate()
            #expect(
                (run1.stdoutText + run1.stderrText).contains(
                    "held 3 (W_YOY_CHANGE=2 W_LARGE_CONTRACT=1 W_LOW_TRANSACTION_SHARE=1)"),
                "summary: \(run1.stderrText)")
            let snapshot1 = try Snapshot.latest(out: out)
            let manifest1 = try snapshot1.manifest()
            #expect(manifestCounts(manifest1) == ["read": 5, "accepted": 2, "duplicates": 0, "rejected": 0])
            let counts1 = try #require(manifest1["counts"] as? [String: Any])
            #expect(counts1["held"] as? Int == 3)
            #expect(
                counts1["held_by_code"] as? [String: Int]
                    == ["W_YOY_CHANGE": 2, "W_LARGE_CONTRACT": 1, "W_LOW_TRANSACTION_SHARE": 1])

            let placements = try await bench.placements(of: held)
            let (rdPlace, contractPlace, profilePlace) = (placements[2], placements[3], placements[4])
            // One notice per held message, disposition `held`, its W_ codes, the original bytes.
            let records = try await bench.consume("sti.rejected")
            #expect(records.count == 3)
            var byCodes: [Placement: [String]] = [:]
            for record in records {
                let summary = try NoticeSummary(record)
                #expect(try jsonObject(record.value ?? [])["disposition"] as? String == "held")
                #expect(summary.county == a && summary.key == a)
                byCodes[summary.source] = summary.codes
            }
            #expect(
                byCodes == [
                    rdPlace: ["W_YOY_CHANGE"], contractPlace: ["W_LARGE_CONTRACT", "W_LOW_TRANSACTION_SHARE"],
                    profilePlace: ["W_YOY_CHANGE"],
                ])
            #expect(
                Array(try snapshot1.rows("rejections.csv").dropFirst()).map { [$0[0], $0[4]] }.sorted {
                    $0.lexicographicallyPrecedes($1)
                }
                    == [
                        [profiles, "W_YOY_CHANGE"], [rd, "W_YOY_CHANGE"],
                        [contracts, "W_LARGE_CONTRACT;W_LOW_TRANSACTION_SHARE"],
                    ])
            func cells(_ p: Placement) -> [String] { [p.topic, String(p.partition), String(p.offset)] }
            #expect(
                Array(try snapshot1.rows("warnings.csv").dropFirst()) == [
                    [
                        "2025", a, "rd", "enterprise_above_scale", "W_YOY_CHANGE", "expenditure_10k_cny", "300", "100",
                        "held", "",
                    ] + cells(rdPlace),
                    [
                        "2025", a, "tech-contract", "530102-2025-001", "W_LARGE_CONTRACT", "contract_value_10k_cny",
                        "20000", "", "held", "",
                    ]
                        + cells(contractPlace),
                    [
                        "2025", a, "tech-contract", "530102-2025-001", "W_LOW_TRANSACTION_SHARE",
                        "tech_transaction_value_10k_cny", "1", "20000",
                        "held", "",
                    ] + cells(contractPlace),
                    ["2025", a, "county-profile", "", "W_YOY_CHANGE", "gdp_100m_cny", "1400", "1000", "held", ""]
                        + cells(profilePlace),
                ])

            // The three again with an explanation (Chinese text, as a bureau writes it): accepted.
            let again: [Outgoing] = [
                try feed.signed(rd, a, explained(rd2025, "新建研发中心投产")),
                try feed.signed(contracts, a, explained(contract, "引进重大技术转让项目")),
                try feed.signed(profiles, a, explained(profile2025, "行政区划调整")),
            ]
            try await bench.produce(again)
            _ = try await aggregate()
            let snapshot2 = try Snapshot.latest(out: out)
            #expect(
                manifestCounts(try snapshot2.manifest()) == ["read": 3, "accepted": 3, "duplicates": 0, "rejected": 0])
            let placed = try await bench.placements(of: again)
            #expect(
                Array(try snapshot2.rows("warnings.csv").dropFirst()).map { Array($0[4...9]) + [$0[12]] } == [
                    [
                        "W_YOY_CHANGE", "expenditure_10k_cny", "300", "100", "explained", "新建研发中心投产",
                        String(placed[0].offset),
                    ],
                    [
                        "W_LARGE_CONTRACT", "contract_value_10k_cny", "20000", "", "explained", "引进重大技术转让项目",
                        String(placed[1].offset),
                    ],
                    [
                        "W_LOW_TRANSACTION_SHARE", "tech_transaction_value_10k_cny", "1", "20000", "explained",
                        "引进重大技术转让项目",
                        String(placed[1].offset),
                    ],
                    ["W_YOY_CHANGE", "gdp_100m_cny", "1400", "1000", "explained", "行政区划调整", String(placed[2].offset)],
                ])
            #expect(try snapshot2.rows("rejections.csv").count == 1)

            let rebuiltOut = bench.scratch.file("rebuilt")
            _ = try await aggregate(["--rebuild"], out: rebuiltOut)
            let rebuilt = try Snapshot.latest(out: rebuiltOut)
            for name in ["indicators.csv", "completeness.csv", "warnings.csv"] {
                #expect(try rebuilt.bytes(name) == snapshot2.bytes(name), "\(name) differs after --rebuild")
            }
            let rebuiltCounts = try #require(try rebuilt.manifest()["counts"] as? [String: Any])
            #expect(rebuiltCounts["held"] as? Int == 3)
            #expect(rebuiltCounts["accepted"] as? Int == 5)
        }
    }
}
