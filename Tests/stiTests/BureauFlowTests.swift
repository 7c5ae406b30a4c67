// The county bureaus' side, end to end on a real broker (Tansu): every file of Samples/
// submitted with `sti submit`, signed by each bureau with its own key, aggregated with
// signature checks on, and the city's R&D expenditure compared with a sum the test computes
// itself from the CSV files. Also: a file with bad rows sends nothing, a GBK export is refused
// with the line and the iconv command, and kcat-signed messages are judged like any other.
import Foundation
import STIProtocol
import STITestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .timeLimit(.minutes(5)))
    struct BureauFlows {
        static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Samples").path

        /// The 14 counties of protocol section 1; the zones are the other submitters.
        static let counties: Set<String> = [
            "530102", "530103", "530111", "530112", "530114", "530115", "530113",
            "530181", "530124", "530125", "530126", "530127", "530128", "530129",
        ]

        @Test(
            "Samples/ submitted per bureau with its key, aggregated with --keys: the city's R&D matches an independent sum"
        )
        func samplesThroughTheBroker() async throws {
            try await Bench.with { bench in try await Self.submitSamples(bench) }
        }

        @Test(
            "a file with invalid rows sends nothing and lists every bad row; a GBK export names the line and the iconv command"
        )
        func badFilesSendNothing() async throws {
            try await Bench.with { bench in try await Self.badFiles(bench) }
        }

        @Test("sti demo --brokers runs the whole job on a real broker")
        func demoOnTansu() async throws {
            try await Bench.with { bench in
                let out = bench.scratch.file("demo-out")
                let result = try await bench.sti([
                    "demo", "--brokers", bench.brokers, "--out", out, "--samples", Self.samples,
                ])
                #expect(result.succeeded, "sti demo failed (\(result.status)): \(result.stderrText)")
                let rows = try Self.sampleRows()
                #expect(result.stdoutText.contains("submitted \(rows.count) signed records"), "\(result.stdoutText)")
                let snapshot = try Snapshot.latest(out: out)
                // Section 5a: the Samples' unexplained figures that trip a rule are held, not accepted.
                let manifest = try snapshot.manifest()
                // The Samples leave exactly one figure unexplained (Samples/README.md): a ≥ 1 亿元 contract
                // of the high-tech zone, which the demo names with where to read about it.
                let held = heldCount(manifest)
                #expect(held == 1)
                #expect(
                    manifestCounts(manifest) == [
                        "read": rows.count, "accepted": rows.count - held, "duplicates": 0, "rejected": 0,
                    ])
                #expect(
                    result.stdoutText.contains(
                        "held 1 record until the bureau sends it again with an explanation (section 5a): "
                            + "KM-HTZ tech-contract KM-HTZ-2025-00147 (W_LARGE_CONTRACT)"), "\(result.stdoutText)")
                #expect(
                    result.stdoutText.contains("warnings.csv (disposition held)")
                        && result.stdoutText.contains("notice on sti.rejected"))
                let expected = Self.cityRD(rows)
                for year in ["2024", "2025"] {
                    let row = try snapshot.rows("indicators.csv").first {
                        $0[0] == year && $0[1] == "530100" && $0[4] == "rd_expenditure"
                    }
                    #expect(row?[5] == expected[Int(year)!], "\(year): \(row ?? [])")
                }

                // A scheduled run on its own state, as the timer starts it: the textfile for
                // node-exporter, with the consumer lag of every partition that `sti status` sees.
                let state = bench.scratch.file("timer-state.db")
                let metrics = bench.scratch.file("sti.prom")
                let run = try await bench.sti([
                    "aggregate", "--brokers", bench.brokers, "--state", state, "--out", bench.scratch.file("timer-out"),
                    "--keys", Self.samples + "/keys.demo.json", "--metrics-file", metrics,
                ])
                #expect(run.succeeded, "sti aggregate failed (\(run.status)): \(run.stderrText)")
                let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map(String.init)
                #expect(
                    lines.contains("sti_aggregate_last_run_success 1.0")
                        || lines.contains("sti_aggregate_last_run_success 1"))
                #expect(
                    lines.contains("sti_messages_read \(rows.count).0")
                        || lines.contains("sti_messages_read \(rows.count)"))
                let lag = lines.filter { $0.hasPrefix("sti_consumer_lag{") }
                let status = try await bench.sti([
                    "status", "--brokers", bench.brokers, "--state", state, "--out", bench.scratch.file("timer-out"),
                    "--json",
                ])
                #expect(status.succeeded, "sti status failed: \(status.stderrText)")
                let report = try jsonObject(Array(status.stdoutText.utf8))
                let partitions = report["partitions"] as? [[String: Any]] ?? []
                #expect(
                    !partitions.isEmpty && lag.count == partitions.count,
                    "lag lines \(lag) vs status partitions \(partitions.count)")
                for partition in partitions {
                    let line =
                        "sti_consumer_lag{topic=\"\(partition["topic"] ?? "")\",partition=\"\(partition["partition"] ?? "")\"}"
                    #expect(
                        lag.contains(line + " 0.0") || lag.contains(line + " 0"), "\(line) missing or not 0 in \(lag)")
                }
                #expect(report["total_lag"] as? Int == 0)
                let ends = partitions.compactMap { $0["end_offset"] as? Int }.reduce(0, +)
                #expect(ends == rows.count, "the log ends add up to what the demo sent")

                // Two more messages (kcat, not sti) wait on one partition: the human table says so.
                try await bench.produce([
                    Outgoing(topic: "sti.rd", key: "530102", json: "{}"),
                    Outgoing(topic: "sti.rd", key: "530102", json: "[]"),
                ])
                let table = try await bench.sti([
                    "status", "--brokers", bench.brokers, "--state", state, "--out", bench.scratch.file("timer-out"),
                ])
                #expect(table.succeeded, "sti status failed: \(table.stderrText)")
                #expect(table.stdoutText.contains("total lag 2"), "\(table.stdoutText)")
                let waiting = table.stdoutText.split(separator: "\n").filter {
                    $0.hasPrefix("sti.rd") && $0.hasSuffix(" 2")
                }
                #expect(waiting.count == 1, "one sti.rd partition has lag 2: \(table.stdoutText)")
                #expect(table.stdoutText.contains("completeness 2025"), "\(table.stdoutText)")
            }
        }

        // MARK: Samples through the broker

        static func submitSamples(_ bench: Bench) async throws {
            try await bench.createTopics(partitions: 3)
            let keysText = try String(contentsOfFile: samples + "/keys.demo.json", encoding: .utf8)
            let keys = try bench.write("keys.demo.json", keysText, mode: 0o600)
            let ring = try KeyRing.load(contentsOf: URL(fileURLWithPath: keys))
            var rows = try sampleRows()

            // Each bureau sends its own rows, signed with its own key: split every sample file
            // by county, keeping the file names (the record kind comes from them).
            let files = try FileManager.default.contentsOfDirectory(atPath: samples).filter { $0.hasSuffix(".csv") }
                .sorted()
            #expect(files.count == 7, "six English files and the Chinese one (Samples/README.md)")
            let submitters = Set(rows.map(\.county)).sorted()
            #expect(submitters.count == 17)
            var sent = 0
            for county in submitters {
                let dir = bench.scratch.file("bureau-\(county)")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                var paths: [String] = []
                for file in files {
                    let lines = try csvLines(samples + "/" + file)
                    let own = lines.dropFirst().filter { $0.hasPrefix(county + ",") }
                    guard !own.isEmpty else { continue }
                    let path = dir + "/" + file
                    try ([lines[0]] + own).map { $0 + "\r\n" }.joined().write(
                        toFile: path, atomically: true, encoding: .utf8)
                    paths.append(path)
                }
                // --send-held: the Samples carry figures that trip section 5a without an
                // explanation on purpose, so that the demo shows a held record.
                let result = try await bench.sti(
                    [
                        "submit", "--brokers", bench.brokers, "--keys", keys, "--key-id", "\(county)-demo",
                        "--timeout", "30", "--send-held",
                    ] + paths)
                #expect(result.succeeded, "sti submit for \(county) failed (\(result.status)): \(result.stderrText)")
                let count = rows.filter { $0.county == county }.count
                #expect(result.stdoutText.contains("sent \(count), failed 0"), "\(county): \(result.stdoutText)")
                sent += count
            }
            #expect(sent == rows.count)

            // A bureau using kcat instead: a correctly signed record (Xundian's 2025 university
            // R&D, which the samples lack) is accepted; a tampered one (the signature was made
            // over 500, the value says 5000) is refused with E_AUTH.
            #expect(!rows.contains { $0.county == "530129" && $0.year == 2025 && $0.performer == "higher_education" })
            let genuineText =
                "{\"schema\":\"sti.rd/1\",\"county\":\"530129\",\"year\":2025,\"performer\":\"higher_education\","
                + "\"expenditure_10k_cny\":1234.5678,\"revision\":1,\"submitted_at\":\"2026-01-15T09:30:00+08:00\"}"
            let genuine = Array(genuineText.utf8)
            let signedByKcat = Outgoing(
                topic: "sti.rd", key: "530129", value: genuine,
                headers: [
                    ("sti-key-id", "530129-demo"),
                    ("sti-signature", try ring.sign(value: genuine, keyId: "530129-demo")),
                ])
            let signedOver = Array(
                ("{\"schema\":\"sti.rd/1\",\"county\":\"530128\",\"year\":2025,\"performer\":\"higher_education\","
                    + "\"expenditure_10k_cny\":500,\"revision\":1,\"submitted_at\":\"2026-01-15T09:31:00+08:00\"}").utf8
            )
            let tamperedValue = Array(
                String(decoding: signedOver, as: UTF8.self).replacingOccurrences(of: ":500,", with: ":5000,").utf8)
            let tampered = Outgoing(
                topic: "sti.rd", key: "530128", value: tamperedValue,
                headers: [
                    ("sti-key-id", "530128-demo"),
                    ("sti-signature", try ring.sign(value: signedOver, keyId: "530128-demo")),
                ])
            try await bench.produce([signedByKcat, tampered])
            rows.append(
                SampleRow(
                    county: "530129", year: 2025, performer: "higher_education", revision: 1, withdrawn: false,
                    scaled: 12_345_678))

            let out = bench.scratch.file("out")
            let result = try await bench.sti([
                "aggregate", "--brokers", bench.brokers, "--out", out, "--state", bench.scratch.file("state.db"),
                "--keys", keys, "--timeout", "30",
            ])
            #expect(result.succeeded, "sti aggregate failed (\(result.status)): \(result.stderrText)")
            let snapshot = try Snapshot.latest(out: out)
            let allMessages = try Self.sampleRowCount() + 2
            // Section 5a: the Samples' unexplained figures that trip a rule are held, and listed in
            // rejections.csv with their W_ codes; the only E_ code is the tampered message's.
            let manifest = try snapshot.manifest()
            let held = heldCount(manifest)
            #expect(held == 1, "the Samples leave one figure unexplained (Samples/README.md)")
            #expect(
                manifestCounts(manifest)
                    == [
                        "read": allMessages, "accepted": allMessages - 1 - held, "duplicates": 0, "rejected": 1,
                        "rejected.E_AUTH": 1,
                    ])
            let tamperedPlace = try await bench.placements(of: [tampered])[0]
            let listed = Array(try snapshot.rows("rejections.csv").dropFirst())
            #expect(
                listed.filter { !$0[4].hasPrefix("W_") }.map { Array($0.prefix(5)) }
                    == [["sti.rd", String(tamperedPlace.partition), String(tamperedPlace.offset), "530128", "E_AUTH"]])
            #expect(listed.count(where: { $0[4].hasPrefix("W_") }) == held)

            // The city's R&D expenditure, year by year, against the independent sum.
            let expected = cityRD(rows)
            #expect(expected.keys.sorted() == [2024, 2025])
            let indicators = try snapshot.rows("indicators.csv")
            for (year, text) in expected {
                let row = indicators.first { $0[0] == String(year) && $0[1] == "530100" && $0[4] == "rd_expenditure" }
                #expect(row?[5] == text, "530100 rd_expenditure \(year): \(row ?? []) vs \(text)")
                #expect(row?[7] == "ok")
            }
            // The README's figure for 2024 (no kcat record that year) agrees with the parser here.
            #expect(expected[2024] == "122.92614")
        }

        // MARK: Independent computation from the CSV files

        /// One row of an `rd-*.csv` sample file, amounts as integers of 1/10,000 万元 (= yuan).
        struct SampleRow {
            var county: String
            var year: Int
            var performer: String
            var revision: Int
            var withdrawn: Bool
            var scaled: Int
        }

        /// The non-empty lines of a CSV file, without line ends.
        static func csvLines(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\r\n", with: "\n")
                .split(separator: "\n").map(String.init)
        }

        /// Every data row of every sample file (all kinds): what `sti submit` sends.
        static func sampleRowCount() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: samples).filter { $0.hasSuffix(".csv") }
                .reduce(0) { $0 + (try csvLines(samples + "/" + $1).count - 1) }
        }

        /// Every row of every sample file, with the R&D fields read for the rd files (the
        /// other kinds only count and carry their county).
        static func sampleRows() throws -> [SampleRow] {
            var rows: [SampleRow] = []
            for file in try FileManager.default.contentsOfDirectory(atPath: samples).filter({ $0.hasSuffix(".csv") })
                .sorted()
            {
                let lines = try csvLines(samples + "/" + file)
                // The Chinese sample (rd_zh_2023.csv) names its county column 县区代码.
                let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map {
                    $0 == "县区代码" ? "county" : String($0)
                }
                for line in lines.dropFirst() {
                    let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    var field: [String: String] = [:]
                    for (name, cell) in zip(header, cells) { field[name] = cell }
                    let isRD = file.hasPrefix("rd-")
                    rows.append(
                        SampleRow(
                            county: field["county"] ?? "", year: isRD ? Int(field["year"] ?? "") ?? 0 : 0,
                            performer: isRD ? field["performer"] ?? "" : "",
                            revision: Int(field["revision"] ?? "1") ?? 1, withdrawn: field["status"] == "withdrawn",
                            scaled: isRD ? scaledAmount(field["expenditure_10k_cny"] ?? "") : 0))
                }
            }
            return rows
        }

        /// `"110716.9"` → 1107169000: the decimal text as an integer of 1/10,000.
        static func scaledAmount(_ text: String) -> Int {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            return Int(parts[0])! * 10_000 + Int((fraction + "0000").prefix(4))!
        }

        /// The city's `rd_expenditure` per year: for each (county, year, performer) the highest
        /// revision wins, a withdrawn one contributes nothing, zones are left out; summed as
        /// integers of yuan and written in 亿元 (÷ 10^8, trailing zeros dropped).
        static func cityRD(_ rows: [SampleRow]) -> [Int: String] {
            var current: [String: SampleRow] = [:]
            for row in rows where !row.performer.isEmpty {
                let identity = "\(row.county)|\(row.year)|\(row.performer)"
                if let existing = current[identity], existing.revision >= row.revision { continue }
                current[identity] = row
            }
            var yuan: [Int: Int] = [:]
            for row in current.values where counties.contains(row.county) && !row.withdrawn {
                yuan[row.year, default: 0] += row.scaled
            }
            return yuan.mapValues { total in
                var fraction = String(total % 100_000_000)
                fraction = String(repeating: "0", count: 8 - fraction.count) + fraction
                while fraction.hasSuffix("0") { fraction.removeLast() }
                return "\(total / 100_000_000)" + (fraction.isEmpty ? "" : "." + fraction)
            }
        }

        // MARK: Files that must send nothing

        static func badFiles(_ bench: Bench) async throws {
            try await bench.createTopics(prefix: "blocked", partitions: 2)

            // Two bad rows among good ones: nothing is sent, both are listed with their lines.
            let bad = try bench.write(
                "rd-bad.csv",
                crlf(
                    """
                    county,year,performer,expenditure_10k_cny,revision
                    530102,2024,enterprise_above_scale,100,1
                    530102,2024,government,100,1
                    530102,2024,medical,1.23456,1
                    530102,2024,other,5,1
                    """))
            let submitted = try await bench.sti([
                "submit", "--brokers", bench.brokers, "--topic-prefix", "blocked", "--timeout", "30", bad,
            ])
            #expect(submitted.status != 0 && !submitted.timedOut)
            #expect(submitted.stderrText.contains("\(bad):3: E_ENUM performer"), "\(submitted.stderrText)")
            #expect(
                submitted.stderrText.contains("\(bad):4: E_PRECISION expenditure_10k_cny"), "\(submitted.stderrText)")
            #expect(!submitted.stderrText.contains("\(bad):2:") && !submitted.stderrText.contains("\(bad):5:"))
            #expect(
                submitted.stderrText.contains("2 invalid row(s)") && submitted.stderrText.contains("nothing was sent"))

            // A GBK spreadsheet export: 规模以上企业 on line 3 is GBK, not UTF-8.
            let gbkPerformer: [UInt8] = [0xB9, 0xE6, 0xC4, 0xA3, 0xD2, 0xD4, 0xC9, 0xCF, 0xC6, 0xF3, 0xD2, 0xB5]
            let gbk = try bench.write(
                "rd-gbk.csv",
                Array(
                    "county,year,performer,expenditure_10k_cny,revision\r\n530103,2024,other,7,1\r\n530103,2024,".utf8)
                    + gbkPerformer + Array(",8,1\r\n".utf8))
            for command in ["submit", "validate"] {
                let arguments =
                    command == "submit"
                    ? ["submit", "--brokers", bench.brokers, "--topic-prefix", "blocked", "--timeout", "30", gbk]
                    : ["validate", gbk]
                let result = try await bench.sti(arguments)
                #expect(result.status != 0 && !result.timedOut, "\(command)")
                #expect(result.stderrText.contains("\(gbk):3: is not valid UTF-8"), "\(command): \(result.stderrText)")
                #expect(
                    result.stderrText.contains("iconv -f GB18030 -t UTF-8 '\(gbk)'"), "\(command): \(result.stderrText)"
                )
            }
            // Read as GB18030 the file decodes, and the row is judged on its content instead:
            // 规模以上企业 is the Chinese label of enterprise_above_scale (issue 15), so it is valid.
            let decoded = try await bench.sti(["validate", "--encoding", "gb18030", gbk])
            #expect(decoded.succeeded, "\(decoded.stderrText)")
            #expect(decoded.stdoutText.contains("2 row(s) in 1 file(s): all valid"), "\(decoded.stdoutText)")

            // Malformed CSV quoting: `sti validate` names the line and column, and says
            // "unterminated quote" (with the line it opened on) for a quote that never closes.
            let quoting = try bench.write(
                "rd-quoting.csv",
                crlf(
                    """
                    county,year,performer,expenditure_10k_cny,revision
                    530102,2024,other,1,1
                    530102,2024,med"ical,2,1
                    """))
            let stray = try await bench.sti(["validate", quoting])
            #expect(stray.status != 0 && !stray.timedOut)
            #expect(
                stray.stderrText.contains("\(quoting):3: malformed quoting at column 16, field 3 (performer)"),
                "\(stray.stderrText)")
            let open = try bench.write(
                "rd-open.csv",
                crlf(
                    """
                    county,year,performer,expenditure_10k_cny,revision
                    530102,2024,other,1,1
                    "530102,2025,medical,12.5,1
                    530103,2025,other,1,1
                    """))
            let unterminated = try await bench.sti(["validate", open])
            #expect(unterminated.status != 0 && !unterminated.timedOut)
            #expect(
                unterminated.stderrText.contains(
                    "\(open):3: unterminated quote: the quoted field 1 (county) opened at column 1 of line 3"),
                "\(unterminated.stderrText)")
            #expect(
                !unterminated.stderrText.contains("E_MISSING"), "reported as missing fields: \(unterminated.stderrText)"
            )

            // One bureau's key over a file holding another county's rows: refused before sending.
            let keys = try bench.write(
                "keys.demo.json", try String(contentsOfFile: samples + "/keys.demo.json", encoding: .utf8), mode: 0o600)
            let foreign = try await bench.sti([
                "submit", "--brokers", bench.brokers, "--topic-prefix", "blocked", "--timeout", "30",
                "--keys", keys, "--key-id", "530102-demo", samples + "/rd-2024.csv",
            ])
            #expect(foreign.status != 0 && !foreign.timedOut)
            #expect(
                foreign.stderrText.contains("key 530102-demo belongs to 530102, but rows are for 530103"),
                "\(foreign.stderrText)")
            #expect(foreign.stderrText.contains("nothing was sent"))

            // Nothing arrived on any topic of the prefix.
            for topic in ["blocked.rd", "blocked.tech-contracts", "blocked.county-profiles", "blocked.rejected"] {
                #expect(try await bench.consume(topic).isEmpty, "\(topic) is not empty")
            }
            // A good file through the same path does arrive (the check above can fail).
            let good = try bench.write(
                "rd-good.csv",
                crlf(
                    """
                    county,year,performer,expenditure_10k_cny,revision
                    530102,2024,enterprise_above_scale,100,1
                    """))
            let sent = try await bench.sti([
                "submit", "--brokers", bench.brokers, "--topic-prefix", "blocked", "--timeout", "30", good,
            ])
            #expect(sent.succeeded, "\(sent.stderrText)")
            #expect(try await bench.consume("blocked.rd").map(\.keyText) == ["530102"])
        }
    }
}
