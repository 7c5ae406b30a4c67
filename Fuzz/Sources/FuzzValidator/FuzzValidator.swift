// libFuzzer target: the input is the value of a message on each of the three submission
// topics, key `530102`, validated with a key ring of one test key (protocol sections 3, 4, 6).
//
// A crash or sanitizer report is a finding; so is any broken invariant below, which stops the
// process with `fatalError` so libFuzzer keeps the input:
// 1. Signed with the right key, an accepted record survives the canonical round trip
//    `StoredRecord.encode` -> `StoredRecord.decode` unchanged, and its canonical JSON, signed
//    and sent again, is accepted as the same record.
// 2. Unsigned, the same value gets the same errors except that authentication now says
//    "unsigned" (past the size/encoding/JSON/schema checks), or the same single error (before).
// 3. Signed with an expired key, the value gets E_AUTH exactly when it got past those checks.
// 4. Every rejection names at least one error, and error texts stay short whatever the input.
import CLibFuzzer
import Foundation
import STIPipeline
import STIProtocol

private let county = "530102"
private let keyId = "fuzz-530102"
private let expiredKeyId = "fuzz-530102-2020"
/// Not a real secret: a fixed test key, so the auth paths run.
private let secretHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
/// The message time: 2026-01-15T01:30:00Z, inside the main key's window and after the old key's.
private let messageMillis: Int64 = 1_768_440_600_000

private let keyRing: KeyRing = {
    do {
        return try KeyRing(keys: [
            (KeyRing.KeyInfo(id: keyId, county: county), secretHex),
            (
                KeyRing.KeyInfo(
                    id: expiredKeyId, county: county, notBefore: "2020-01-01T00:00:00+08:00",
                    notAfter: "2020-12-31T23:59:59+08:00", notBeforeMillis: 1_577_808_000_000,
                    notAfterMillis: 1_609_430_399_000), secretHex
            ),
        ])
    } catch {
        fatalError("fuzz key ring: \(error)")
    }
}()

/// A fixed today (UTC+8), so a finding replays the same on any day.
private let validator = MessageValidator(
    registry: .kunming, keyRing: keyRing,
    today: { CalendarDate(year: 2026, month: 6, day: 30) })

private let firstFour: Set<ErrorCode> = [.size, .encoding, .json, .schema]

/// The entry point: libFuzzer's driver, with `fuzz` as the per-input callback.
@main
enum FuzzValidatorMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
                return fuzz(data, size)
            })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let value = UnsafeRawBufferPointer(start: size == 0 ? nil : UnsafeRawPointer(data), count: size)
    for kind in RecordKind.allCases {
        check(value: value, kind: kind)
    }
    return 0
}

private func validate(_ value: UnsafeRawBufferPointer, kind: RecordKind, keyId: String?, signature: String?) -> Result<
    Record, ValidationFailure
> {
    var key = county
    var id = keyId ?? ""
    var sig = signature ?? ""
    return key.withUTF8 { k in
        id.withUTF8 { i in
            sig.withUTF8 { s in
                validator.validate(
                    InboundMessage(
                        topicKind: kind, key: UnsafeRawBufferPointer(k), value: value,
                        keyIdHeader: keyId == nil ? nil : UnsafeRawBufferPointer(i),
                        signatureHeader: signature == nil ? nil : UnsafeRawBufferPointer(s),
                        timestampMillis: messageMillis))
            }
        }
    }
}

private func sign(_ value: UnsafeRawBufferPointer, with id: String) -> String {
    do { return try keyRing.sign(value: Array(value), keyId: id) } catch { fatalError("sign: \(error)") }
}

private func check(value: UnsafeRawBufferPointer, kind: RecordKind) {
    let signature = sign(value, with: keyId)
    let signed = validate(value, kind: kind, keyId: keyId, signature: signature)
    let unsigned = validate(value, kind: kind, keyId: nil, signature: nil)
    checkShape(signed, "signed")
    checkShape(unsigned, "unsigned")

    // 2. Unsigned against signed.
    guard case .failure(let u) = unsigned else { fatalError("an unsigned message was accepted on \(kind.schema)") }
    let unsignedAuth = u.errors.filter { $0.code == .auth }
    switch signed {
    case .success(let record):
        guard u.errors.count == 1, unsignedAuth.count == 1, unsignedAuth[0].field == nil else {
            fatalError("accepted when signed, but unsigned got \(u.errors) on \(kind.schema)")
        }
        roundTrip(record, kind: kind)
    case .failure(let s):
        if let code = s.errors.first?.code, firstFour.contains(code) {
            guard u == s else { fatalError("signing changed a \(code.rawValue) rejection: \(s) vs \(u)") }
        } else {
            guard unsignedAuth.count == 1, unsignedAuth[0].field == nil,
                u.errors.filter({ $0.code != .auth }) == s.errors.filter({ $0.code != .auth }),
                u.county == s.county
            else {
                fatalError("signed and unsigned disagree beyond E_AUTH on \(kind.schema): \(s) vs \(u)")
            }
        }
    }

    // 3. An expired key, with a signature that matches under its secret.
    let expired = validate(value, kind: kind, keyId: expiredKeyId, signature: signature)
    guard case .failure(let e) = expired else { fatalError("a message signed with an expired key was accepted") }
    let pastFour = !(e.errors.first.map { firstFour.contains($0.code) } ?? false)
    guard pastFour == e.errors.contains(where: { $0.code == .auth && $0.message.contains("expired") }) else {
        fatalError("expired key: \(e)")
    }
}

private func checkShape(_ result: Result<Record, ValidationFailure>, _ what: String) {
    guard case .failure(let f) = result else { return }
    guard !f.errors.isEmpty else { fatalError("\(what): a rejection without errors") }
    for e in f.errors where e.message.utf8.count >= 400 || (e.field?.utf8.count ?? 0) >= 100 {
        fatalError(
            "\(what): an error text grew with the input: \(e.code.rawValue) \(e.field?.utf8.count ?? 0) \(e.message.utf8.count)"
        )
    }
    if let first = f.errors.first, firstFour.contains(first.code), f.errors.count != 1 {
        fatalError("\(what): \(first.code.rawValue) must come alone, got \(f.errors)")
    }
}

/// 1. The stored (binary) form and the canonical JSON, validated again, read back as the same record.
private func roundTrip(_ record: Record, kind: RecordKind) {
    guard record.kind == kind else { fatalError("a \(record.kind.schema) record accepted on the \(kind.schema) topic") }
    switch StoredRecord.decode(StoredRecord.encode(record)) {
    case .success(let back):
        guard back == record else { fatalError("stored round trip changed the record:\n\(record)\n\(back)") }
    case .failure(let failure):
        fatalError("the stored form of an accepted record does not decode: \(failure)")
    }
    let json = RecordJSON.encode(record)
    var bytes = Array(json.utf8)
    let again = bytes.withUnsafeMutableBytes { raw -> Result<Record, ValidationFailure> in
        let value = UnsafeRawBufferPointer(raw)
        return validate(value, kind: kind, keyId: keyId, signature: sign(value, with: keyId))
    }
    guard case .success(let live) = again, live == record else {
        fatalError("canonical JSON of an accepted record is not accepted again as the same record: \(again)\n\(json)")
    }
    guard RecordJSON.canonicalValuesKey(record) == RecordJSON.canonicalValuesKey(live) else {
        fatalError("the duplicate key of a record changed in the round trip: \(json)")
    }
}
