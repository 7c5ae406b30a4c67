// The worked scenario, end to end: county bureaus' messages produced with kcat (signed with
// HMAC-SHA256 headers) into a real broker (Tansu), `sti aggregate` run three times as the
// messages arrive, then once with nothing new, then `--rebuild` into another folder. The
// snapshot tables must equal, byte for byte, the text computed by hand below.
import Foundation
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct WorkedScenario {
        @Test("incremental runs, a run with nothing new and a rebuild give the hand-computed snapshot")
        func workedScenario() async throws {
            try await Bench.with { bench in try await Self.run(bench) }
        }

        static func run(_ bench: Bench) async throws {
            try await bench.createTopics(partitions: 3)
            let registry = try bench.write("registry.json", SmallRegistry.json)
            let keys = try bench.write("keys.json", SmallRegistry.keysJSON, mode: 0o600)
            let out = bench.scratch.file("out")
            let state = bench.scratch.file("state.db")
            let feed = Feed(ring: try SmallRegistry.ring())
            let (a, b, d, z) = (SmallRegistry.wuhua, SmallRegistry.panlong, SmallRegistry.dongchuan, SmallRegistry.zone)
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
            /// The value of one row of the latest `indicators.csv`.
            func value(_ year: String, _ geo: String, _ indicator: String) throws -> String? {
                try Snapshot.latest(out: out).rows("indicators.csv").first {
                    $0[0] == year && $0[1] == geo && $0[4] == indicator
                }?[5]
            }

            // Step 1: first returns of every geography for 2024, and a 2023 figure of Wuhua.
            let step1: [Outgoing] = [
                try feed.signed(rd, a, feed.rd(a, 2024, "enterprise_above_scale", "6000")),
                try feed.signed(rd, a, feed.rd(a, 2024, "research_institute", "3000.5")),
                try feed.signed(rd, a, feed.rd(a, 2024, "higher_education", "1500")),
                try feed.signed(rd, b, feed.rd(b, 2024, "enterprise_above_scale", "0")),
                try feed.signed(rd, b, feed.rd(b, 2024, "enterprise_other", "0")),
                try feed.signed(rd, d, feed.rd(d, 2024, "enterprise_above_scale", "400")),
                try feed.signed(rd, d, feed.rd(d, 2024, "medical", "100.1")),
                try feed.signed(rd, z, feed.rd(z, 2024, "enterprise_above_scale", "9999")),
                try feed.signed(rd, a, feed.rd(a, 2023, "enterprise_above_scale", "2500")),
                try feed.signed(
                    contracts, a,
                    feed.contract(
                        a, "530102-2024-001", on: "2024-03-01", "development", "electronic_information",
                        value: "200", transaction: "150", buyer: "CN")),
                try feed.signed(
                    contracts, a,
                    feed.contract(
                        a, "530102-2024-002", on: "2024-04-02", "transfer", "new_materials",
                        value: "80.5", transaction: "80.5", buyer: "LA")),
                try feed.signed(
                    contracts, b,
                    feed.contract(
                        b, "530103-2024-001", on: "2024-05-03", "service", "biomedicine",
                        value: "50", transaction: "40", buyer: "MM")),
                try feed.signed(
                    contracts, z,
                    feed.contract(
                        z, "KM-HTZ-2024-001", on: "2024-06-04", "development", "advanced_manufacturing",
                        value: "1000", transaction: "900", buyer: "SG")),
                try feed.signed(
                    profiles, a,
                    feed.profile(
                        a, 2024,
                        [
                            ("gdp_100m_cny", "1000"), ("resident_population_10k", "100"),
                            ("high_tech_enterprises", "50"), ("invention_patents_held", "2000"),
                            ("industrial_output_100m_cny", "200"),
                            ("high_tech_industrial_output_100m_cny", "80"),
                        ])),
                try feed.signed(
                    profiles, b,
                    feed.profile(
                        b, 2024,
                        [
                            ("gdp_100m_cny", "500"), ("resident_population_10k", "50"),
                            ("high_tech_enterprises", "20"), ("invention_patents_held", "500"),
                            ("industrial_output_100m_cny", "100"),
                            ("high_tech_industrial_output_100m_cny", "30"),
                        ])),
                // Dongchuan reports no GDP, and an industrial output of zero.
                try feed.signed(
                    profiles, d,
                    feed.profile(
                        d, 2024,
                        [
                            ("resident_population_10k", "20"), ("high_tech_enterprises", "5"),
                            ("invention_patents_held", "40"), ("industrial_output_100m_cny", "0"),
                            ("high_tech_industrial_output_100m_cny", "0"),
                        ])),
                try feed.signed(
                    profiles, z,
                    feed.profile(
                        z, 2024,
                        [
                            ("gdp_100m_cny", "300"), ("resident_population_10k", "10"),
                            ("high_tech_enterprises", "100"), ("invention_patents_held", "3000"),
                            ("industrial_output_100m_cny", "500"),
                            ("high_tech_industrial_output_100m_cny", "400"),
                        ])),
            ]
            try await bench.produce(step1)
            let run1 = try await aggregate()
            let snapshot1 = try Snapshot.latest(out: out)
            let manifest1 = try snapshot1.manifest()
            #expect(manifestCounts(manifest1) == ["read": 17, "accepted": 17, "duplicates": 0, "rejected": 0])
            #expect(manifest1["authentication"] as? String == "enabled")
            #expect(manifest1["previous_run_id"] is NSNull)
            #expect(
                try snapshot1.rows("rejections.csv") == [
                    ["topic", "partition", "offset", "county", "codes", "first_message"]
                ])
            #expect(run1.stdoutText.contains("snapshot \(snapshot1.runId)"))
            #expect(try value("2023", a, "rd_expenditure") == "0.25")  // 2500 万元, active for now
            #expect(try value("2024", a, "tech_contracts") == "2")

            // Step 2: a revision, a duplicate written differently, a conflict, two withdrawals.
            // 6500.25 is more than twice 2023's 2500 (current and active until the withdrawal
            // below): section 5a would hold it without the explanation it carries.
            let revision = try feed.signed(
                rd, a,
                feed.rd(
                    a, 2024, "enterprise_above_scale", "6500.25", revision: 2,
                    explanation: "新建研发中心投产"))
            // Same identity, revision and value as step 1's `3000.5`, keys in another order and
            // the number written `3000.50`: a duplicate (counted), not a conflict.
            let duplicate = try feed.signed(
                rd, a,
                "{\"revision\":1,\"performer\":\"research_institute\",\"year\":2024,"
                    + "\"submitted_at\":\"\(feed.stamp())\",\"expenditure_10k_cny\":3000.50,\"county\":\"\(a)\",\"schema\":\"sti.rd/1\"}"
            )
            let conflict = try feed.signed(rd, a, feed.rd(a, 2024, "higher_education", "1600"))
            let step2: [Outgoing] = [
                revision, duplicate, conflict,
                try feed.signed(
                    rd, a, feed.rd(a, 2023, "enterprise_above_scale", "2500", revision: 2, status: "withdrawn")),
                try feed.signed(
                    contracts, a,
                    feed.contract(
                        a, "530102-2024-002", on: "2024-04-02", "transfer", "new_materials",
                        value: "80.5", transaction: "80.5", buyer: "LA", revision: 2, status: "withdrawn")),
            ]
            try await bench.produce(step2)
            _ = try await aggregate()
            let snapshot2 = try Snapshot.latest(out: out)
            let manifest2 = try snapshot2.manifest()
            #expect(snapshot2.runId != snapshot1.runId)
            #expect(
                manifestCounts(manifest2) == [
                    "read": 5, "accepted": 3, "duplicates": 1, "rejected": 1, "rejected.E_REVISION_CONFLICT": 1,
                ])
            #expect(manifest2["previous_run_id"] as? String == snapshot1.runId)
            #expect(try value("2023", a, "rd_expenditure") == "")  // withdrawn: contributes nothing
            #expect(try value("2024", a, "tech_contracts") == "1")  // 530102-2024-002 withdrawn

            // revisions.csv (section 8): the first snapshot has only the header; the second lists
            // exactly the indicator rows whose value or status moved, old and new side by side.
            let revisionsHeader = [
                "year", "geo_code", "indicator", "previous_value", "previous_status", "value", "status",
            ]
            #expect(try snapshot1.rows("revisions.csv") == [revisionsHeader])
            func changes(from old: Snapshot, to new: Snapshot) throws -> [[String]] {
                let before = Dictionary(
                    uniqueKeysWithValues: try old.rows("indicators.csv").dropFirst().map {
                        ("\($0[0])|\($0[1])|\($0[4])", $0)
                    })
                return try new.rows("indicators.csv").dropFirst().compactMap { row -> [String]? in
                    let was = before["\(row[0])|\(row[1])|\(row[4])"]!
                    return was[5] == row[5] && was[7] == row[7]
                        ? nil : [row[0], row[1], row[4], was[5], was[7], row[5], row[7]]
                }
            }
            let revisions2 = Array(try snapshot2.rows("revisions.csv").dropFirst())
            #expect(revisions2 == (try changes(from: snapshot1, to: snapshot2)))
            // By hand: the revised enterprise figure (6000 + 3000.5 + 1500 → 6500.25 + 3000.5 + 1500 万元),
            // the withdrawn 2023 figure, the withdrawn contract.
            #expect(revisions2.contains(["2024", a, "rd_expenditure", "1.05005", "ok", "1.100075", "ok"]))
            #expect(revisions2.contains(["2023", a, "rd_expenditure", "0.25", "ok", "", "missing"]))
            #expect(revisions2.contains(["2024", a, "tech_contracts", "2", "ok", "1", "ok"]))
            #expect(!revisions2.contains { $0[1] == d }, "Dongchuan sent nothing in step 2: \(revisions2)")

            // Step 3: a stale revision, a revival, a new contract, and three messages that fail
            // authentication (each would otherwise be valid and change a figure).
            let stale = try feed.signed(rd, a, feed.rd(a, 2024, "enterprise_above_scale", "6000"))
            let unsignedValue = feed.rd(b, 2024, "research_institute", "77")
            let unsignedMessage = feed.unsigned(rd, b, unsignedValue)
            let foreignValue = Array(feed.rd(b, 2024, "medical", "12").utf8)
            let foreignKey = Outgoing(
                topic: rd, key: b, value: foreignValue,
                headers: try feed.signature(foreignValue, keyId: SmallRegistry.keyId(for: a)))
            let genuine = feed.rd(d, 2024, "other", "400")
            let tamperedValue = Array(
                genuine.replacingOccurrences(of: "\"expenditure_10k_cny\":400,", with: "\"expenditure_10k_cny\":4000,")
                    .utf8)
            #expect(tamperedValue != Array(genuine.utf8))
            let tampered = Outgoing(
                topic: rd, key: d, value: tamperedValue,
                headers: try feed.signature(Array(genuine.utf8), keyId: SmallRegistry.keyId(for: d)))
            let step3: [Outgoing] = [
                stale, unsignedMessage, foreignKey, tampered,
                try feed.signed(
                    contracts, a,
                    feed.contract(
                        a, "530102-2024-002", on: "2024-04-02", "transfer", "new_materials",
                        value: "90", transaction: "85", buyer: "LA", revision: 3)),
                try feed.signed(
                    contracts, a,
                    feed.contract(
                        a, "530102-2024-003", on: "2024-07-05", "consulting", "other",
                        value: "30.1234", transaction: "30", buyer: "VN")),
            ]
            try await bench.produce(step3)
            _ = try await aggregate()
            let snapshot3 = try Snapshot.latest(out: out)
            let manifest3 = try snapshot3.manifest()
            #expect(
                manifestCounts(manifest3) == [
                    "read": 6, "accepted": 2, "duplicates": 0, "rejected": 4,
                    "rejected.E_STALE_REVISION": 1, "rejected.E_AUTH": 3,
                ])
            #expect(manifest3["previous_run_id"] as? String == snapshot2.runId)
            #expect(
                Array(try snapshot3.rows("revisions.csv").dropFirst()) == (try changes(from: snapshot2, to: snapshot3)))
            #expect(try snapshot3.rows("revisions.csv").count > 1)
            for manifest in [manifest1, manifest2, manifest3] {
                let ranges = (manifest["offsets"] as? [[String: Any]]) ?? []
                let consumed = ranges.reduce(0) {
                    $0 + (($1["end_offset"] as? Int ?? 0) - ($1["first_offset"] as? Int ?? 0))
                }
                #expect(
                    consumed == manifestCounts(manifest)["read"],
                    "offset ranges \(ranges) do not add up to the messages read")
            }

            // Where every message landed, read back with kcat.
            let all = step1 + step2 + step3
            let placements = try await bench.placements(of: all)
            func place(_ message: Outgoing) -> Placement { placements[all.firstIndex { $0.value == message.value }!] }

            // rejections.csv: each run lists its own rejections, ordered by topic, partition, offset.
            func rejections(_ snapshot: Snapshot) throws -> [[String]] {
                Array(try snapshot.rows("rejections.csv").dropFirst())
            }
            func row(_ message: Outgoing, county: String, codes: String) -> [String] {
                let p = place(message)
                return [p.topic, String(p.partition), String(p.offset), county, codes]
            }
            #expect(
                try rejections(snapshot2).map { Array($0.prefix(5)) } == [
                    row(conflict, county: a, codes: "E_REVISION_CONFLICT")
                ])
            // warnings.csv (section 8): the explained revision, with its warning as it was when
            // applied, stays listed while it is current (the later withdrawal of 2023 aside).
            let explained = [
                [
                    "2024", a, "rd", "enterprise_above_scale", "W_YOY_CHANGE", "expenditure_10k_cny", "6500.25", "2500",
                    "explained", "新建研发中心投产", place(revision).topic, String(place(revision).partition),
                    String(place(revision).offset),
                ]
            ]
            #expect(Array(try snapshot1.rows("warnings.csv").dropFirst()) == [])
            #expect(Array(try snapshot2.rows("warnings.csv").dropFirst()) == explained)
            #expect(Array(try snapshot3.rows("warnings.csv").dropFirst()) == explained)
            let expected3 = [
                (stale, a, "E_STALE_REVISION", "revision: "),
                (unsignedMessage, b, "E_AUTH", "the message is unsigned"),
                (foreignKey, b, "E_AUTH", "sti-key-id: "),
                (tampered, d, "E_AUTH", "sti-signature: "),
            ].sorted { (place($0.0).partition, place($0.0).offset) < (place($1.0).partition, place($1.0).offset) }
            let rows3 = try rejections(snapshot3)
            #expect(rows3.map { Array($0.prefix(5)) } == expected3.map { row($0.0, county: $0.1, codes: $0.2) })
            for (row, expected) in zip(rows3, expected3) {
                #expect(
                    row.count == 6 && row[5].hasPrefix(expected.3),
                    "first_message \(row) should start with \(expected.3)")
            }

            // Run 4: nothing new. It says so, succeeds, and writes no run folder.
            let foldersBefore = runFolders(out: out)
            let idle = try await aggregate()
            #expect(idle.stderrText.contains("nothing new"), "stderr: \(idle.stderrText)")
            #expect(runFolders(out: out) == foldersBefore)
            #expect(try Snapshot.latest(out: out).runId == snapshot3.runId)
            #expect(foldersBefore.count == 3)

            // sti.rejected: one notice per rejected offset, keyed like the original, carrying
            // its codes, its county and the original bytes.
            let notices = try await bench.consume("sti.rejected").map(NoticeSummary.init)
            let rejectedMessages: [(Outgoing, String, String)] =
                [(conflict, a, "E_REVISION_CONFLICT")] + expected3.map { ($0.0, $0.1, $0.2) }
            #expect(notices.count == rejectedMessages.count, "notices: \(notices)")
            for (message, county, code) in rejectedMessages {
                let found = notices.filter { $0.source == place(message) }
                #expect(found.count == 1, "notices for \(place(message)): \(found)")
                guard let notice = found.first else { continue }
                #expect(notice.codes == [code])
                #expect(notice.key == message.key)
                #expect(notice.county == county)
                #expect(notice.payload == message.value)
            }

            // The end state of the incremental runs, then a rebuild from offset zero elsewhere.
            let incrementalIndicators = try snapshot3.bytes("indicators.csv")
            let incrementalCompleteness = try snapshot3.bytes("completeness.csv")
            let rebuiltOut = bench.scratch.file("rebuilt")
            _ = try await aggregate(["--rebuild"], out: rebuiltOut)
            let rebuilt = try Snapshot.latest(out: rebuiltOut)
            #expect(try rebuilt.bytes("indicators.csv") == incrementalIndicators)
            #expect(try rebuilt.bytes("completeness.csv") == incrementalCompleteness)
            #expect(try rebuilt.bytes("warnings.csv") == snapshot3.bytes("warnings.csv"))
            #expect(
                manifestCounts(try rebuilt.manifest()) == [
                    "read": 28, "accepted": 22, "duplicates": 1, "rejected": 5,
                    "rejected.E_REVISION_CONFLICT": 1, "rejected.E_STALE_REVISION": 1,
                    "rejected.E_AUTH": 3,
                ])
            #expect(
                try rejections(rebuilt).map { Array($0.prefix(5)) }.sorted { $0.lexicographicallyPrecedes($1) }
                    == ([row(conflict, county: a, codes: "E_REVISION_CONFLICT")]
                    + expected3.map { row($0.0, county: $0.1, codes: $0.2) })
                    .sorted { $0.lexicographicallyPrecedes($1) })

            // And both equal the hand-computed tables.
            #expect(String(decoding: incrementalIndicators, as: UTF8.self) == expectedIndicators)
            #expect(String(decoding: incrementalCompleteness, as: UTF8.self) == expectedCompleteness)
            #expect(try snapshot3.rows("indicators.csv").count == 1 + 2 * 7 * 10)
        }

        // MARK: The expected tables, computed by hand
        //
        // 2023: Wuhua's only 2023 record was withdrawn in step 2. A year counts when any current
        // record belongs to it, withdrawn ones too, so 2023 has rows, all `missing`.
        //
        // 2024, current active records after step 3 (万元 unless said; 1 万元 = 10^4 yuan and
        // 1 亿元 = 10^8 yuan, so 万元 ÷ 10^4 = 亿元):
        // - 530102 Wuhua: R&D 6500.25 (revision 2; the stale revision 1 changed nothing) +
        //   3000.5 (the `3000.50` duplicate changed nothing) + 1500 (the conflicting 1600 was
        //   refused) = 11000.75 → 1.100075. Enterprise share 6500.25 / 11000.75 × 100 =
        //   59.08915… → 59.0892. Intensity 11000.75 万元 / 1000 亿元 × 100 = 0.1100075 → 0.11.
        //   Contracts: 001 (200 / 150, CN), 002 revived by revision 3 (90 / 85, LA), 003
        //   (30.1234 / 30, VN): 3 contracts, value 320.1234 → 0.03201234, transactions 265 →
        //   0.0265, South/Southeast Asia (LA, VN) 120.1234 → 0.01201234. Patents 2000 / 100 万人
        //   = 20; high-tech output 80 / 200 = 40 %.
        // - 530103 Panlong: R&D 0 + 0 = 0 → `0` ok; enterprise share 0 / 0 → undefined;
        //   intensity 0 / 500 = 0 → `0` ok (a zero numerator is a value). The unsigned
        //   (research_institute 77) and foreign-key (medical 12) messages changed nothing.
        //   One contract 50 / 40, MM → 0.005 / 0.004 / 0.005. Patents 500 / 50 = 10; 30 / 100 = 30 %.
        // - 530113 Dongchuan: R&D 400 + 100.1 = 500.1 → 0.05001 (the tampered `other` 4000
        //   changed nothing); share 400 / 500.1 = 79.98400… → 79.984. No GDP → intensity missing;
        //   no contracts → four contract indicators missing. Patents 40 / 20 = 2; output 0 / 0 →
        //   undefined.
        // - KM-HTZ (zone, own rows only): R&D 9999 → 0.9999, share 100; intensity 9999 万元 /
        //   300 亿元 × 100 = 0.3333; one contract 1000 / 900, SG → 0.1 / 0.09 / 0.1; 100
        //   enterprises; patents 3000 / 10 = 300; 400 / 500 = 80 %. The zone's large figures
        //   appear in no total below.
        // - KM-CORE = 530102 + 530103 (2 counties): R&D 11000.75 → 1.100075; share 6500.25 /
        //   11000.75 = 59.0892 (both report R&D, Panlong's 0/0 adds nothing); intensity
        //   11000.75 万元 / 1500 亿元 × 100 = 0.07333… → 0.0733; 4 contracts, 370.1234 →
        //   0.03701234, 305 → 0.0305, 170.1234 (LA, VN, MM) → 0.01701234; 70 enterprises;
        //   patents 2500 / 150 = 16.6666… → 16.6667; output 110 / 300 = 36.6666… → 36.6667.
        // - KM-DEMO = 530113 alone: its figures; ratios from one county; intensity and contract
        //   indicators missing (0 of 1 reports), output share undefined (0 / 0).
        // - 530100 = the three counties: R&D 11500.85 → 1.150085; share (6500.25 + 0 + 400) /
        //   11500.85 = 59.99774… → 59.9977; intensity: Dongchuan has no GDP, so the ratio is
        //   not formed: empty, partial, 2 of 3; contracts: Dongchuan reports none, so the sums
        //   over Wuhua and Panlong with status partial, 2 of 3; 75 enterprises; patents 2540 /
        //   170 = 14.94117… → 14.9412; output (80 + 30 + 0) / (200 + 100 + 0) = 36.6667.
        static let expectedIndicators = crlf(
            """
            year,geo_code,geo_name_zh,geo_name_en,indicator,value,unit,status,counties_reporting,counties_expected
            2023,530102,五华区,Wuhua District,rd_expenditure,,100m_cny,missing,0,1
            2023,530102,五华区,Wuhua District,enterprise_rd_share,,percent,missing,0,1
            2023,530102,五华区,Wuhua District,rd_intensity,,percent,missing,0,1
            2023,530102,五华区,Wuhua District,tech_contracts,,count,missing,0,1
            2023,530102,五华区,Wuhua District,tech_contract_value,,100m_cny,missing,0,1
            2023,530102,五华区,Wuhua District,tech_transaction_value,,100m_cny,missing,0,1
            2023,530102,五华区,Wuhua District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2023,530102,五华区,Wuhua District,high_tech_enterprises,,count,missing,0,1
            2023,530102,五华区,Wuhua District,invention_patents_per_10k,,per_10k_residents,missing,0,1
            2023,530102,五华区,Wuhua District,high_tech_output_share,,percent,missing,0,1
            2023,530103,盘龙区,Panlong District,rd_expenditure,,100m_cny,missing,0,1
            2023,530103,盘龙区,Panlong District,enterprise_rd_share,,percent,missing,0,1
            2023,530103,盘龙区,Panlong District,rd_intensity,,percent,missing,0,1
            2023,530103,盘龙区,Panlong District,tech_contracts,,count,missing,0,1
            2023,530103,盘龙区,Panlong District,tech_contract_value,,100m_cny,missing,0,1
            2023,530103,盘龙区,Panlong District,tech_transaction_value,,100m_cny,missing,0,1
            2023,530103,盘龙区,Panlong District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2023,530103,盘龙区,Panlong District,high_tech_enterprises,,count,missing,0,1
            2023,530103,盘龙区,Panlong District,invention_patents_per_10k,,per_10k_residents,missing,0,1
            2023,530103,盘龙区,Panlong District,high_tech_output_share,,percent,missing,0,1
            2023,530113,东川区,Dongchuan District,rd_expenditure,,100m_cny,missing,0,1
            2023,530113,东川区,Dongchuan District,enterprise_rd_share,,percent,missing,0,1
            2023,530113,东川区,Dongchuan District,rd_intensity,,percent,missing,0,1
            2023,530113,东川区,Dongchuan District,tech_contracts,,count,missing,0,1
            2023,530113,东川区,Dongchuan District,tech_contract_value,,100m_cny,missing,0,1
            2023,530113,东川区,Dongchuan District,tech_transaction_value,,100m_cny,missing,0,1
            2023,530113,东川区,Dongchuan District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2023,530113,东川区,Dongchuan District,high_tech_enterprises,,count,missing,0,1
            2023,530113,东川区,Dongchuan District,invention_patents_per_10k,,per_10k_residents,missing,0,1
            2023,530113,东川区,Dongchuan District,high_tech_output_share,,percent,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_expenditure,,100m_cny,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,enterprise_rd_share,,percent,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_intensity,,percent,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contracts,,count,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value,,100m_cny,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_transaction_value,,100m_cny,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_enterprises,,count,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,invention_patents_per_10k,,per_10k_residents,missing,0,1
            2023,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_output_share,,percent,missing,0,1
            2023,KM-CORE,科技创新核心区,Core area,rd_expenditure,,100m_cny,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,enterprise_rd_share,,percent,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,rd_intensity,,percent,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,tech_contracts,,count,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,tech_contract_value,,100m_cny,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,tech_transaction_value,,100m_cny,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,tech_contract_value_s_se_asia,,100m_cny,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,high_tech_enterprises,,count,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,invention_patents_per_10k,,per_10k_residents,missing,0,2
            2023,KM-CORE,科技创新核心区,Core area,high_tech_output_share,,percent,missing,0,2
            2023,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,,100m_cny,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,enterprise_rd_share,,percent,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,rd_intensity,,percent,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contracts,,count,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value,,100m_cny,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,tech_transaction_value,,100m_cny,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,high_tech_enterprises,,count,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,invention_patents_per_10k,,per_10k_residents,missing,0,1
            2023,KM-DEMO,科技创新示范区,Demonstration area,high_tech_output_share,,percent,missing,0,1
            2023,530100,昆明市,Kunming,rd_expenditure,,100m_cny,missing,0,3
            2023,530100,昆明市,Kunming,enterprise_rd_share,,percent,missing,0,3
            2023,530100,昆明市,Kunming,rd_intensity,,percent,missing,0,3
            2023,530100,昆明市,Kunming,tech_contracts,,count,missing,0,3
            2023,530100,昆明市,Kunming,tech_contract_value,,100m_cny,missing,0,3
            2023,530100,昆明市,Kunming,tech_transaction_value,,100m_cny,missing,0,3
            2023,530100,昆明市,Kunming,tech_contract_value_s_se_asia,,100m_cny,missing,0,3
            2023,530100,昆明市,Kunming,high_tech_enterprises,,count,missing,0,3
            2023,530100,昆明市,Kunming,invention_patents_per_10k,,per_10k_residents,missing,0,3
            2023,530100,昆明市,Kunming,high_tech_output_share,,percent,missing,0,3
            2024,530102,五华区,Wuhua District,rd_expenditure,1.100075,100m_cny,ok,1,1
            2024,530102,五华区,Wuhua District,enterprise_rd_share,59.0892,percent,ok,1,1
            2024,530102,五华区,Wuhua District,rd_intensity,0.11,percent,ok,1,1
            2024,530102,五华区,Wuhua District,tech_contracts,3,count,ok,1,1
            2024,530102,五华区,Wuhua District,tech_contract_value,0.03201234,100m_cny,ok,1,1
            2024,530102,五华区,Wuhua District,tech_transaction_value,0.0265,100m_cny,ok,1,1
            2024,530102,五华区,Wuhua District,tech_contract_value_s_se_asia,0.01201234,100m_cny,ok,1,1
            2024,530102,五华区,Wuhua District,high_tech_enterprises,50,count,ok,1,1
            2024,530102,五华区,Wuhua District,invention_patents_per_10k,20,per_10k_residents,ok,1,1
            2024,530102,五华区,Wuhua District,high_tech_output_share,40,percent,ok,1,1
            2024,530103,盘龙区,Panlong District,rd_expenditure,0,100m_cny,ok,1,1
            2024,530103,盘龙区,Panlong District,enterprise_rd_share,,percent,undefined,1,1
            2024,530103,盘龙区,Panlong District,rd_intensity,0,percent,ok,1,1
            2024,530103,盘龙区,Panlong District,tech_contracts,1,count,ok,1,1
            2024,530103,盘龙区,Panlong District,tech_contract_value,0.005,100m_cny,ok,1,1
            2024,530103,盘龙区,Panlong District,tech_transaction_value,0.004,100m_cny,ok,1,1
            2024,530103,盘龙区,Panlong District,tech_contract_value_s_se_asia,0.005,100m_cny,ok,1,1
            2024,530103,盘龙区,Panlong District,high_tech_enterprises,20,count,ok,1,1
            2024,530103,盘龙区,Panlong District,invention_patents_per_10k,10,per_10k_residents,ok,1,1
            2024,530103,盘龙区,Panlong District,high_tech_output_share,30,percent,ok,1,1
            2024,530113,东川区,Dongchuan District,rd_expenditure,0.05001,100m_cny,ok,1,1
            2024,530113,东川区,Dongchuan District,enterprise_rd_share,79.984,percent,ok,1,1
            2024,530113,东川区,Dongchuan District,rd_intensity,,percent,missing,0,1
            2024,530113,东川区,Dongchuan District,tech_contracts,,count,missing,0,1
            2024,530113,东川区,Dongchuan District,tech_contract_value,,100m_cny,missing,0,1
            2024,530113,东川区,Dongchuan District,tech_transaction_value,,100m_cny,missing,0,1
            2024,530113,东川区,Dongchuan District,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2024,530113,东川区,Dongchuan District,high_tech_enterprises,5,count,ok,1,1
            2024,530113,东川区,Dongchuan District,invention_patents_per_10k,2,per_10k_residents,ok,1,1
            2024,530113,东川区,Dongchuan District,high_tech_output_share,,percent,undefined,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_expenditure,0.9999,100m_cny,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,enterprise_rd_share,100,percent,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,rd_intensity,0.3333,percent,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contracts,1,count,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value,0.1,100m_cny,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_transaction_value,0.09,100m_cny,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,tech_contract_value_s_se_asia,0.1,100m_cny,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_enterprises,100,count,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,invention_patents_per_10k,300,per_10k_residents,ok,1,1
            2024,KM-HTZ,昆明高新技术产业开发区,Kunming High-tech Industrial Development Zone,high_tech_output_share,80,percent,ok,1,1
            2024,KM-CORE,科技创新核心区,Core area,rd_expenditure,1.100075,100m_cny,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,enterprise_rd_share,59.0892,percent,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,rd_intensity,0.0733,percent,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,tech_contracts,4,count,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,tech_contract_value,0.03701234,100m_cny,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,tech_transaction_value,0.0305,100m_cny,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,tech_contract_value_s_se_asia,0.01701234,100m_cny,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,high_tech_enterprises,70,count,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,invention_patents_per_10k,16.6667,per_10k_residents,ok,2,2
            2024,KM-CORE,科技创新核心区,Core area,high_tech_output_share,36.6667,percent,ok,2,2
            2024,KM-DEMO,科技创新示范区,Demonstration area,rd_expenditure,0.05001,100m_cny,ok,1,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,enterprise_rd_share,79.984,percent,ok,1,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,rd_intensity,,percent,missing,0,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contracts,,count,missing,0,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value,,100m_cny,missing,0,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,tech_transaction_value,,100m_cny,missing,0,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,tech_contract_value_s_se_asia,,100m_cny,missing,0,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,high_tech_enterprises,5,count,ok,1,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,invention_patents_per_10k,2,per_10k_residents,ok,1,1
            2024,KM-DEMO,科技创新示范区,Demonstration area,high_tech_output_share,,percent,undefined,1,1
            2024,530100,昆明市,Kunming,rd_expenditure,1.150085,100m_cny,ok,3,3
            2024,530100,昆明市,Kunming,enterprise_rd_share,59.9977,percent,ok,3,3
            2024,530100,昆明市,Kunming,rd_intensity,,percent,partial,2,3
            2024,530100,昆明市,Kunming,tech_contracts,4,count,partial,2,3
            2024,530100,昆明市,Kunming,tech_contract_value,0.03701234,100m_cny,partial,2,3
            2024,530100,昆明市,Kunming,tech_transaction_value,0.0305,100m_cny,partial,2,3
            2024,530100,昆明市,Kunming,tech_contract_value_s_se_asia,0.01701234,100m_cny,partial,2,3
            2024,530100,昆明市,Kunming,high_tech_enterprises,75,count,ok,3,3
            2024,530100,昆明市,Kunming,invention_patents_per_10k,14.9412,per_10k_residents,ok,3,3
            2024,530100,昆明市,Kunming,high_tech_output_share,36.6667,percent,ok,3,3
            """)

        // Current active records per geography and kind. 2023: Wuhua's one record is withdrawn,
        // so it counts for nothing. 2024: Wuhua 3 R&D (three performers), 3 contracts (002
        // revived), 1 profile; Panlong 2 R&D (the unsigned and foreign-key ones were refused),
        // 1 contract; Dongchuan 2 R&D (the tampered one refused), no contracts; the zone 1 each.
        static let expectedCompleteness = crlf(
            """
            year,geo_code,geo_name_zh,kind,records,status
            2023,530102,五华区,rd,0,missing
            2023,530102,五华区,tech-contract,0,missing
            2023,530102,五华区,county-profile,0,missing
            2023,530103,盘龙区,rd,0,missing
            2023,530103,盘龙区,tech-contract,0,missing
            2023,530103,盘龙区,county-profile,0,missing
            2023,530113,东川区,rd,0,missing
            2023,530113,东川区,tech-contract,0,missing
            2023,530113,东川区,county-profile,0,missing
            2023,KM-HTZ,昆明高新技术产业开发区,rd,0,missing
            2023,KM-HTZ,昆明高新技术产业开发区,tech-contract,0,missing
            2023,KM-HTZ,昆明高新技术产业开发区,county-profile,0,missing
            2024,530102,五华区,rd,3,received
            2024,530102,五华区,tech-contract,3,received
            2024,530102,五华区,county-profile,1,received
            2024,530103,盘龙区,rd,2,received
            2024,530103,盘龙区,tech-contract,1,received
            2024,530103,盘龙区,county-profile,1,received
            2024,530113,东川区,rd,2,received
            2024,530113,东川区,tech-contract,0,missing
            2024,530113,东川区,county-profile,1,received
            2024,KM-HTZ,昆明高新技术产业开发区,rd,1,received
            2024,KM-HTZ,昆明高新技术产业开发区,tech-contract,1,received
            2024,KM-HTZ,昆明高新技术产业开发区,county-profile,1,received
            """)
    }
}
