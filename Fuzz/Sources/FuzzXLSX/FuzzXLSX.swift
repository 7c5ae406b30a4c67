// libFuzzer target: a bureau's .xlsx workbook. The input is used twice: as the whole file
// (`rd.xlsx`: the zip container, the format checks, the caps) and, wrapped by
// `XLSXWriter.zip`, as the first sheet's XML of an otherwise valid workbook (so that mutations
// reach the sheet parser, the shared cells, dates and formulas without first having to make a
// valid zip). Both are checked by `Submitter.check`, exactly as `sti validate` does.
//
// Findings: a crash or sanitizer report, or a broken invariant (`fatalError`):
// 1. A refused file's error names the file; a refused row names its sheet and row (and the
//    cell when the error has a field).
// 2. A row the check passed is accepted by the validator on its own (its line is a sheet row
//    number, at least 2: row 1 or the first non-empty row is the header).
// Memory stays bounded by XLSXLimits (run with -rss_limit_mb, as Deploy/fuzz.sh does).
import CLibFuzzer
import Foundation
import STIPipeline
import STIProtocol

private let folder: String = {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
        "sti-fuzz-xlsx-\(ProcessInfo.processInfo.processIdentifier)")
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        fatalError("cannot create \(path): \(error)")
    }
    return path
}()

private let submittedAt = "2026-01-15T09:30:00+08:00"
private let now = Date(timeIntervalSince1970: 1_782_748_800)
private let validator = MessageValidator(registry: .kunming, keyRing: nil, now: { now })

private let contentTypes = Data(
    #"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#
        .utf8)
private let workbook = Data(
    #"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        .utf8)
private let rels = Data(
    #"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>"#
        .utf8)
private let styles = Data(
    #"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="170" formatCode="yyyy/m/d"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="170"/></cellXfs></styleSheet>"#
        .utf8)
private let shared = Data(
    #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>county</t></si><si><t>执行部门</t></si><si><t>规模以上企业</t></si><si><t>expenditure_10k_cny</t></si></sst>"#
        .utf8)

@main
enum FuzzXLSXMain {
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
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let whole = "\(folder)/rd.xlsx"
    guard FileManager.default.createFile(atPath: whole, contents: bytes) else { fatalError("cannot write \(whole)") }
    check(whole)
    let wrapped = "\(folder)/rd-sheet.xlsx"
    let parts: [(String, Data)] = [
        ("[Content_Types].xml", contentTypes), ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels), ("xl/styles.xml", styles),
        ("xl/sharedStrings.xml", shared), ("xl/worksheets/sheet1.xml", bytes),
    ]
    guard let package = try? XLSXWriter.zip(parts),
        FileManager.default.createFile(atPath: wrapped, contents: package)
    else { fatalError("cannot write \(wrapped)") }
    check(wrapped)
    return 0
}

private func check(_ path: String) {
    let result = Submitter(options: .init(kind: .rd)).check(paths: [path], submittedAt: submittedAt, now: now)
    for problem in result.problems {
        let text = problem.description
        guard text.hasPrefix(path) else { fatalError("a problem does not name the file: \(text)") }
        if problem.fileError == nil {
            guard text.contains(": sheet "), let line = problem.line, line >= 2 else {
                fatalError("a row problem does not name sheet and row: \(text)")
            }
        }
    }
    let millis = Int64(now.timeIntervalSince1970 * 1000)
    for file in result.files {
        let failed = Set(result.problems.compactMap(\.line))
        for row in file.rows where !failed.contains(row.line) {
            guard row.line >= 2 else { fatalError("row \(row.line) cannot be a data row") }
            let outcome = row.value.withUnsafeBytes { value in
                var key = row.key ?? ""
                return key.withUTF8 { k in
                    validator.validate(
                        InboundMessage(
                            topicKind: .rd, key: row.key == nil ? nil : UnsafeRawBufferPointer(k), value: value,
                            timestampMillis: millis, timestampSource: .localClock))
                }
            }
            if case .failure(let failure) = outcome {
                fatalError("row \(row.line) passed the check but not the validator: \(failure.errors)")
            }
        }
    }
}
