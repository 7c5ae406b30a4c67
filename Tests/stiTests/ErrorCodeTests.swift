// Every validation code of protocol section 6, each carried by a real message that kcat put
// on a real broker (Tansu), and refused by `sti aggregate` with that code: listed in
// `rejections.csv` and announced by a notice on `sti.rejected`.
import Foundation
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct EveryErrorCode {
        /// One refused message and what the aggregator must say about it.
        struct Case {
            var name: String
            var message: Outgoing
            var codes: [String]
            /// The notice's `county`: the record's county when it was a string, nil before the
            /// JSON could be read.
            var county: String?
        }

        @Test("each of the 18 codes, from a message produced with kcat, in rejections.csv and on sti.rejected")
        func everyCode() async throws {
            try await Bench.with { bench in try await Self.run(bench) }
        }

        /// The same message sent with kcat's default partitioner instead of murmur2.
        static func crc32Placed(_ message: Outgoing) -> Outgoing {
            var copy = message
            copy.partitioner = nil
            return copy
        }

        /// The same message (signed for its county) under another key, or none.
        static func rekeyed(_ message: Outgoing, _ key: String?) -> Outgoing {
            var copy = message
            copy.key = key
            return copy
        }

        static func run(_ bench: Bench) async throws {
            try await bench.createTopics(partitions: 2)
            let registry = try bench.write("registry.json", SmallRegistry.json)
            let keys = try bench.write("keys.json", SmallRegistry.keysJSON, mode: 0o600)
            let feed = Feed(ring: try SmallRegistry.ring())
            let (a, b) = (SmallRegistry.wuhua, SmallRegistry.panlong)
            let (rd, contracts, profiles) = ("sti.rd", "sti.tech-contracts", "sti.county-profiles")
            let stamp = { feed.stamp() }

            // Messages that must be accepted: the size limit is inclusive, and the first
            // revisions the revision cases are judged against.
            var exactlyMax = feed.rd(a, 2024, "other", "1")
            exactlyMax.removeLast()  // the closing brace; whitespace pads the object to the limit
            exactlyMax +=
                String(repeating: " ", count: MessageValidator.maxValueBytes - exactlyMax.utf8.count - 1) + "}"
            #expect(exactlyMax.utf8.count == 65_536)
            var oneOver = feed.rd(a, 2024, "enterprise_other", "1")
            oneOver.removeLast()
            oneOver += String(repeating: " ", count: MessageValidator.maxValueBytes - oneOver.utf8.count) + "}"
            #expect(oneOver.utf8.count == 65_537)
            let accepted: [Outgoing] = [
                try feed.signed(rd, a, exactlyMax),
                try feed.signed(rd, a, feed.rd(a, 2024, "medical", "20", revision: 2)),
                try feed.signed(rd, a, feed.rd(a, 2024, "research_institute", "10")),
            ]

            // Invalid UTF-8 inside a string: `C3 28` is a lead byte followed by a non-continuation.
            var badBytes = Array(feed.rd(a, 2024, "higher_education", "1").utf8)
            let at = badBytes.firstIndex(of: UInt8(ascii: "h"))!
            badBytes.replaceSubrange(at..<at + 2, with: [0xC3, 0x28])
            #expect(String(validating: badBytes, as: UTF8.self) == nil)

            let cases: [Case] = [
                Case(
                    name: "invalid UTF-8",
                    message: Outgoing(
                        topic: rd, key: a, value: badBytes,
                        headers: try feed.signature(badBytes, keyId: SmallRegistry.keyId(for: a))),
                    codes: ["E_ENCODING"], county: nil),
                Case(name: "65,537 bytes", message: try feed.signed(rd, a, oneOver), codes: ["E_SIZE"], county: nil),
                Case(
                    name: "duplicate key",
                    message: try feed.signed(
                        rd, a,
                        "{\"schema\":\"sti.rd/1\",\"county\":\"\(a)\",\"county\":\"\(a)\",\"year\":2024,\"performer\":\"other\","
                            + "\"expenditure_10k_cny\":1,\"revision\":1,\"submitted_at\":\"\(stamp())\"}"),
                    codes: ["E_JSON"], county: nil),
                Case(
                    name: "not an object", message: try feed.signed(rd, a, "[\"\(stamp())\"]"), codes: ["E_JSON"],
                    county: nil),
                Case(
                    name: "a contract on sti.rd",
                    message: try feed.signed(
                        rd, a,
                        feed.contract(
                            a, "X-1", on: "2024-01-02", "service", "other",
                            value: "1", transaction: "1", buyer: "CN")),
                    codes: ["E_SCHEMA"], county: a),
                Case(
                    name: "no performer",
                    message: try feed.signed(
                        rd, a,
                        "{\"schema\":\"sti.rd/1\",\"county\":\"\(a)\",\"year\":2024,\"expenditure_10k_cny\":1,\"revision\":1,\"submitted_at\":\"\(stamp())\"}"
                    ),
                    codes: ["E_FIELD_MISSING"], county: a),
                Case(
                    name: "misspelt field",
                    message: try feed.signed(
                        rd, a,
                        feed.rd(a, 2024, "other", "1").replacingOccurrences(
                            of: "\"revision\":1", with: "\"revision\":1,\"remark\":\"typo\"")),
                    codes: ["E_FIELD_UNKNOWN"], county: a),
                Case(
                    name: "year as a string",
                    message: try feed.signed(
                        rd, a,
                        feed.rd(a, 2024, "other", "1").replacingOccurrences(
                            of: "\"year\":2024", with: "\"year\":\"2024\"")),
                    codes: ["E_TYPE"], county: a),
                Case(
                    name: "county not in the registry (correctly signed)",
                    message: try feed.signed(rd, "530199", feed.rd("530199", 2024, "other", "1")),
                    codes: ["E_COUNTY"], county: "530199"),
                Case(
                    name: "no message key",
                    message: rekeyed(try feed.signed(rd, a, feed.rd(a, 2024, "other", "2")), nil),
                    codes: ["E_KEY_MISMATCH"], county: a),
                Case(
                    name: "key of another county",
                    message: rekeyed(try feed.signed(rd, a, feed.rd(a, 2024, "other", "3")), b),
                    codes: ["E_KEY_MISMATCH"], county: a),
                // kcat's default partitioner (CRC32) puts 530102 on partition 0 of 2; murmur2 on 1.
                Case(
                    name: "kcat's default partitioner",
                    message: crc32Placed(try feed.signed(rd, a, feed.rd(a, 2024, "other", "4"))),
                    codes: ["E_PARTITION"], county: a),
                Case(
                    name: "year 1999", message: try feed.signed(rd, a, feed.rd(a, 1999, "other", "1")),
                    codes: ["E_PERIOD"], county: a),
                Case(
                    name: "30 February",
                    message: try feed.signed(
                        contracts, a,
                        feed.contract(
                            a, "X-2", on: "2024-02-30", "service", "other",
                            value: "1", transaction: "1", buyer: "CN")),
                    codes: ["E_PERIOD"], county: a),
                Case(
                    name: "negative expenditure", message: try feed.signed(rd, a, feed.rd(a, 2024, "other", "-5")),
                    codes: ["E_RANGE"], county: a),
                Case(
                    name: "five fractional digits",
                    message: try feed.signed(rd, a, feed.rd(a, 2024, "other", "1.23456")),
                    codes: ["E_PRECISION"], county: a),
                Case(
                    name: "exponent form", message: try feed.signed(rd, a, feed.rd(a, 2024, "other", "1e3")),
                    codes: ["E_PRECISION"], county: a),
                Case(
                    name: "unknown performer", message: try feed.signed(rd, a, feed.rd(a, 2024, "government", "1")),
                    codes: ["E_ENUM"], county: a),
                Case(
                    name: "transactions above the contract value",
                    message: try feed.signed(
                        contracts, a,
                        feed.contract(
                            a, "X-3", on: "2024-01-02", "service", "other", value: "50", transaction: "100", buyer: "TH"
                        )),
                    codes: ["E_INCONSISTENT"], county: a),
                Case(
                    name: "high-tech output above industrial output",
                    message: try feed.signed(
                        profiles, a,
                        feed.profile(
                            a, 2024,
                            [("industrial_output_100m_cny", "10"), ("high_tech_industrial_output_100m_cny", "10.0001")])
                    ),
                    codes: ["E_INCONSISTENT"], county: a),
                Case(
                    name: "unsigned", message: feed.unsigned(rd, a, feed.rd(a, 2024, "enterprise_above_scale", "1")),
                    codes: ["E_AUTH"], county: a),
                Case(
                    name: "revision 1 after revision 2",
                    message: try feed.signed(rd, a, feed.rd(a, 2024, "medical", "20")),
                    codes: ["E_STALE_REVISION"], county: a),
                Case(
                    name: "revision 1 again with another value",
                    message: try feed.signed(rd, a, feed.rd(a, 2024, "research_institute", "11")),
                    codes: ["E_REVISION_CONFLICT"], county: a),
                // Several rules broken at once: every one is reported, authentication included.
                Case(
                    name: "many errors",
                    message: feed.unsigned(
                        rd, a,
                        feed.rd(a, 1999, "government", "1.23456").replacingOccurrences(
                            of: "\"revision\":1", with: "\"revision\":1,\"remark\":1")),
                    codes: ["E_FIELD_UNKNOWN", "E_PERIOD", "E_PRECISION", "E_ENUM", "E_AUTH"], county: a),
            ]
            #expect(Set(cases.flatMap(\.codes)) == Set(ErrorCode.allCases.map(\.rawValue)), "every code has a case")

            let messages = accepted + cases.map(\.message)
            try await bench.produce(messages)
            let out = bench.scratch.file("out")
            let result = try await bench.sti([
                "aggregate", "--brokers", bench.brokers, "--out", out, "--state", bench.scratch.file("state.db"),
                "--keys", keys, "--registry", registry, "--timeout", "30",
            ])
            #expect(result.succeeded, "sti aggregate failed (\(result.status)): \(result.stderrText)")
            let placements = try await bench.placements(of: messages)
            let casePlacements = Array(placements.dropFirst(accepted.count))

            let snapshot = try Snapshot.latest(out: out)
            var byCode: [String: Int] = [:]
            for c in cases { for code in c.codes { byCode["rejected.\(code)", default: 0] += 1 } }
            #expect(
                manifestCounts(try snapshot.manifest())
                    == ["read": messages.count, "accepted": accepted.count, "duplicates": 0, "rejected": cases.count]
                    .merging(byCode) { $1 })

            let rows = Array(try snapshot.rows("rejections.csv").dropFirst())
            let notices = try await bench.consume("sti.rejected").map(NoticeSummary.init)
            #expect(rows.count == cases.count)
            #expect(notices.count == cases.count)
            for (c, place) in zip(cases, casePlacements) {
                let row = rows.filter {
                    $0[0] == place.topic && $0[1] == String(place.partition) && $0[2] == String(place.offset)
                }
                #expect(row.count == 1, "\(c.name): no single rejections.csv row for \(place)")
                if let row = row.first {
                    #expect(row[3] == (c.county ?? ""), "\(c.name): county")
                    #expect(row[4] == c.codes.joined(separator: ";"), "\(c.name): codes")
                    #expect(!row[5].isEmpty, "\(c.name): first_message")
                }
                let notice = notices.filter { $0.source == place }
                #expect(notice.count == 1, "\(c.name): no single notice for \(place)")
                if let notice = notice.first {
                    #expect(notice.codes == c.codes, "\(c.name): notice codes")
                    #expect(notice.county == c.county, "\(c.name): notice county")
                    #expect(notice.key == c.message.key, "\(c.name): notice key")
                    // The original value, cut at the protocol's size limit (the product's choice,
                    // so that a notice about an oversized value is never itself too large):
                    // only the E_SIZE case is cut.
                    let payload = Array(c.message.value.prefix(MessageValidator.maxValueBytes))
                    #expect(notice.payload == payload, "\(c.name): notice payload")
                    #expect((payload.count < c.message.value.count) == (c.codes == ["E_SIZE"]))
                }
            }
            // The accepted 65,536-byte record counts: Wuhua's `other` is 1 万元 = 0.0001 亿元,
            // with medical 20 and research_institute 10: 31 万元 → 0.0031.
            let wuhua = try snapshot.rows("indicators.csv").first {
                $0[0] == "2024" && $0[1] == a && $0[4] == "rd_expenditure"
            }
            #expect(wuhua?[5] == "0.0031")
        }
    }
}
