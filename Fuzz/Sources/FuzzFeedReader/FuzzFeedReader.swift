// libFuzzer target: the input is a bureau's feed file. It is written as `<kind>.csv` and
// `<kind>.jsonl` into a private temporary folder and checked by `Submitter.check`, exactly as
// `sti validate` and `sti submit` do (FeedReader over CSV.swift, then the validator); when the
// file is refused as not UTF-8 it is checked again with `--encoding gb18030`, as the error
// message tells a bureau to do.
//
// The kind is guessed from the bytes (a contract number column means contracts, a county-profile
// figure means profiles, else R&D) so that seed feeds reach the deep checks of their own schema.
//
// Findings: a crash or sanitizer report, or a broken invariant (`fatalError`):
// 1. A problem's line number lies inside the file (1 ... number of line ends + 1; LF, CRLF
//    and a lone CR each end a line).
// 2. A row the check passed is accepted by the validator on its own, and its record survives
//    the canonical JSON round trip unchanged.
// 3. The CSV file reads exactly as it did with CSV.swift before FeedReader got its own reader
//    (`CSVOracle`): the same rows (line, key, value bytes), or a failure on the same line;
//    malformed quoting, which CSV.swift read its own way, is refused by both on the same line.
import CLibFuzzer
import Foundation
import STIPipeline
import STIProtocol

/// `<tmp>/sti-fuzz-feed-<pid>`, made once per process and removed at exit.
private let folder: String = {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
        "sti-fuzz-feed-\(ProcessInfo.processInfo.processIdentifier)")
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        fatalError("cannot create \(path): \(error)")
    }
    return path
}()

private let submittedAt = "2026-01-15T09:30:00+08:00"
/// A fixed clock (2026-06-30 UTC+8), so a finding replays the same on any day.
private let now = Date(timeIntervalSince1970: 1_782_748_800)
private let validator = MessageValidator(registry: .kunming, keyRing: nil, now: { now })

/// The entry point: libFuzzer's driver, with `fuzz` as the per-input callback.
@main
enum FuzzFeedMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        atexit { try? FileManager.default.removeItem(atPath: folder) }
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
                return fuzz(data, size)
            })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let kind = guessKind(bytes)
    // Lines as an editor counts them: LF, CRLF and a lone CR each end one.
    var lines = 1
    for (i, b) in bytes.enumerated() where b == 0x0A || (b == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A)) {
        lines += 1
    }
    var paths: [String] = []
    for ext in ["csv", "jsonl"] {
        let path = "\(folder)/\(kind.rawValue).\(ext)"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("cannot write \(path)")
        }
        paths.append(path)
    }
    let utf8 = Submitter(options: .init())
    let result = utf8.check(paths: paths, submittedAt: submittedAt, now: now)
    inspect(result, lines: lines)
    compareWithOracle(bytes, path: paths[0], kind: kind)
    if result.problems.contains(where: { $0.fileError?.message.contains("not valid UTF-8") == true }) {
        let gb = Submitter(options: .init(encoding: .gb18030))
        inspect(gb.check(paths: [paths[0]], submittedAt: submittedAt, now: now), lines: nil)
    }
    return 0
}

private func guessKind(_ bytes: [UInt8]) -> RecordKind {
    let text = String(decoding: bytes.prefix(4_096), as: UTF8.self)
    if text.contains(MessageField.contractNo.name) { return .techContract }
    if [MessageField.gdp, .residentPopulation, .highTechEnterprises].contains(where: { text.contains($0.name) }) {
        return .countyProfile
    }
    return .rd
}

/// `lines`: the file's line count when its bytes are the ones read (nil after conversion).
private func inspect(_ result: Submitter.CheckResult, lines: Int?) {
    var bad = Set<String>()
    for problem in result.problems {
        if let line = problem.line {
            if line < 1 || (lines.map { line > $0 } ?? false) {
                fatalError("\(problem.path): a problem on line \(line) of a file of \(lines ?? -1) lines: \(problem)")
            }
            bad.insert("\(problem.path):\(line)")
        }
        if problem.fileError == nil && problem.errors.isEmpty {
            fatalError("a row problem without errors: \(problem.path)")
        }
    }
    for file in result.files {
        for row in file.rows where !bad.contains("\(file.path):\(row.line)") {
            if let lines, row.line < 1 || row.line > lines {
                fatalError("\(file.path): row on line \(row.line) of \(lines)")
            }
            let outcome: Result<Record, ValidationFailure> = row.value.withUnsafeBytes { value in
                var key = row.key ?? ""
                return key.withUTF8 { k in
                    validator.validate(
                        InboundMessage(
                            topicKind: file.kind, key: row.key == nil ? nil : UnsafeRawBufferPointer(k),
                            value: value, timestampMillis: Int64(now.timeIntervalSince1970 * 1000)))
                }
            }
            guard case .success(let record) = outcome else {
                fatalError("\(file.path):\(row.line) passed the check but not the validator: \(outcome)")
            }
            let json = RecordJSON.encode(record)
            let again: Result<Record, ValidationFailure> = Array(json.utf8).withUnsafeBytes { value in
                var key = record.county
                return key.withUTF8 { k in
                    validator.validate(
                        InboundMessage(
                            topicKind: file.kind, key: UnsafeRawBufferPointer(k), value: value,
                            timestampMillis: Int64(now.timeIntervalSince1970 * 1000)))
                }
            }
            guard case .success(let back) = again, back == record else {
                fatalError("\(file.path):\(row.line): the round trip changed the record: \(json)")
            }
        }
    }
}

/// 3. FeedReader's CSV rows against the pre-rewrite reader, for a file that is UTF-8 (both
/// readers share the decoding step, which is not compared here).
private func compareWithOracle(_ bytes: [UInt8], path: String, kind: RecordKind) {
    let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    guard let text = String(validating: body, as: UTF8.self) else { return }
    for county in [nil, "530102"] as [String?] {
        let reader = FeedReader(kind: kind, county: county, submittedAt: submittedAt)
        let new: Result<[FeedReader.Row], FeedError>
        do { new = .success(try reader.read(path: path)) } catch { new = .failure(error) }
        let old: Result<[CSVOracle.Row], CSVOracle.Failure>
        do { old = .success(try CSVOracle.rows(text, kind: kind, county: county, submittedAt: submittedAt)) } catch {
            old = .failure(error)
        }
        switch (new, old) {
        case (.success(let n), .success(let o)):
            let mapped = n.map { CSVOracle.Row(line: $0.line, key: $0.key, value: $0.value) }
            guard mapped != o else { continue }
            let k =
                zip(mapped, o).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(mapped.count, o.count)
            fatalError(
                """
                CSV rows differ from the CSV.swift reader (county option \(county ?? "none")): \(mapped.count) vs \(o.count) rows; \
                first difference at row \(k): \(k < mapped.count ? describe(mapped[k]) : "none") vs \(k < o.count ? describe(o[k]) : "none")
                """)
        case (.failure(let n), .failure(let o)):
            guard n.line == o.line else {
                fatalError(
                    "both readers refuse the file, on lines \(n.line ?? -1) and \(o.line ?? -1): \(n) / \(o.message)")
            }
        case (.success(let n), .failure(let o)):
            fatalError(
                "FeedReader reads \(n.count) rows where the CSV.swift reader failed: line \(o.line ?? -1): \(o.message)"
            )
        case (.failure(let n), .success(let o)):
            fatalError("FeedReader fails (\(n)) where the CSV.swift reader read \(o.count) rows")
        }
    }
}

private func describe(_ row: CSVOracle.Row) -> String {
    "line \(row.line) key \(row.key.map { String(reflecting: $0) } ?? "nil") value \(String(reflecting: String(decoding: row.value, as: UTF8.self)))"
}
