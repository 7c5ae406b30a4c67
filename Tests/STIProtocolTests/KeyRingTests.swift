import Foundation
import Testing

@testable import STIProtocol

/// A keys file for the auth tests: two keys of 530102 overlapping in June 2026, one of 530103.
private enum Keys {
    static let secretA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    static let secretB = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
    static let secretC = "C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00"
    static let secrets = [secretA, secretB, secretC]

    static let file = """
        {"keys": [
          {"id": "530102-2026a", "county": "530102", "secret_hex": "\(secretA)",
           "not_before": "2026-01-01T00:00:00+08:00", "not_after": "2026-06-30T23:59:59+08:00"},
          {"id": "530102-2026b", "county": "530102", "secret_hex": "\(secretB)", "not_before": "2026-06-01T00:00:00+08:00", "not_after": null},
          {"id": "530103-2026a", "county": "530103", "secret_hex": "\(secretC)"}
        ]}
        """

    // A literal checked by `parsesTheFile`.
    static let ring: KeyRing = try! KeyRing.parse(Data(file.utf8), source: "test keys")
    static let validator = MessageValidator(registry: .kunming, keyRing: ring, today: { ValidatorCheck.today })

    static let jan15: Int64 = 1_768_440_600_000  // 2026-01-15T09:30:00+08:00
    static let june15: Int64 = 1_781_481_600_000  // 2026-06-15T08:00:00+08:00
    static let notBeforeA: Int64 = 1_767_196_800_000  // 2026-01-01T00:00:00+08:00
    static let notAfterA: Int64 = 1_782_835_199_000  // 2026-06-30T23:59:59+08:00
}

/// Runs the validator as on a topic whose timestamps the broker sets (LogAppendTime), unless
/// `source` says otherwise.
private func run(
    _ value: [UInt8], key: String? = "530102", keyId: String?, signature: String?, at millis: Int64 = Keys.jan15,
    source: TimestampSource = .broker
) -> Result<Record, ValidationFailure> {
    ValidatorCheck.run(
        value, key: key, keyId: keyId, signature: signature, timestampMillis: millis, timestampSource: source,
        validator: Keys.validator)
}

/// The error parsing `text` as a keys file gives; nil when it parses.
private func parseError(_ text: String, source: String = "keys file") -> KeyRingError? {
    let result = Result { () throws(KeyRingError) -> KeyRing in try KeyRing.parse(Data(text.utf8), source: source) }
    if case .failure(let error) = result { return error }
    return nil
}

private func signed(_ value: [UInt8], with keyId: String) -> String { try! Keys.ring.sign(value: value, keyId: keyId) }

@Suite struct KeyRingTests {
    let value = SampleMessage.rd.bytes

    @Test func parsesTheFile() throws {
        let ring = try KeyRing.parse(Data(Keys.file.utf8))
        #expect(ring.keys.map(\.id) == ["530102-2026a", "530102-2026b", "530103-2026a"])
        #expect(ring.keys[0].notBeforeMillis == Keys.notBeforeA)
        #expect(ring.keys[0].notAfterMillis == Keys.notAfterA)
        #expect(ring.keys[1].notAfter == nil)
    }

    @Test func signsAsHMACSHA256LowerHex() throws {
        // Expected value from Python's hmac module.
        let sig = try Keys.ring.sign(value: Array(#"{"schema":"sti.rd/1"}"#.utf8), keyId: "530102-2026a")
        #expect(sig == "b6146a1b0ebefcf12f21550e9d0e99d90151ac7143395ff8e10b45304e11a022")
        #expect(
            try Keys.ring.sign(value: [UInt8](), keyId: "530102-2026a")
                == "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb")
        // Messages across SHA-256 block boundaries, under an upper-case secret.
        #expect(
            try Keys.ring.sign(
                value: Array(repeating: Array(0...255), count: 4).flatMap { $0 }.map(UInt8.init), keyId: "530103-2026a")
                == "e224b9ba95644af77d37c46f5f73c7ee94f0d62022f28ceca86e04513717beba")
        #expect(
            try Keys.ring.sign(value: [UInt8](repeating: UInt8(ascii: "x"), count: 55), keyId: "530103-2026a")
                == "98034a2ed08dc6b8ab438bd0ad0dc5b30969dbfb0d89c9eecc12e2a64d7a333e")
        #expect(
            try Keys.ring.sign(value: [UInt8](repeating: UInt8(ascii: "x"), count: 64), keyId: "530103-2026a")
                == "dff64d49381e40ec832ae21ae3f0985183a7d7feb98150527ba128882777d801")
        #expect(throws: KeyRingError.self) { try Keys.ring.sign(value: [UInt8](), keyId: "nope") }
    }

    @Test func acceptsAGoodSignature() throws {
        let record = try run(value, keyId: "530102-2026a", signature: signed(value, with: "530102-2026a")).get()
        #expect(record.county == "530102")
    }

    @Test func withoutAKeyRingUnsignedIsAccepted() {
        #expect(ValidatorCheck.codes(ValidatorCheck.run(value)) == [])
    }

    @Test(
        arguments: [(nil, nil), ("530102-2026a", nil), (nil, "00"), ("", ""), ("530102-2026a", "")]
            as [(String?, String?)])
    func unsignedIsRejected(keyId: String?, signature: String?) {
        #expect(ValidatorCheck.codes(run(value, keyId: keyId, signature: signature)) == [ExpectedError(.auth)])
    }

    @Test func unknownKeyIsRejected() {
        #expect(
            ValidatorCheck.codes(run(value, keyId: "530102-2099z", signature: signed(value, with: "530102-2026a")))
                == [ExpectedError(.auth, "sti-key-id")])
    }

    @Test func anotherCountysKeyIsRejected() {
        // A correct signature under 530103's key, on a 530102 record.
        let result = run(value, keyId: "530103-2026a", signature: signed(value, with: "530103-2026a"))
        #expect(ValidatorCheck.codes(result) == [ExpectedError(.auth, "sti-key-id")])
        #expect(
            result.rejection?.errors.first?.message == "key \"530103-2026a\" belongs to \"530103\", not to \"530102\"")
    }

    @Test func tamperedByteIsRejected() {
        let signature = signed(value, with: "530102-2026a")
        var tampered = value
        let at = tampered.lastIndex(of: UInt8(ascii: "9"))!  // in the amount: still a valid message
        tampered[at] = UInt8(ascii: "8")
        #expect(
            ValidatorCheck.codes(run(tampered, keyId: "530102-2026a", signature: signature)) == [
                ExpectedError(.auth, "sti-signature")
            ])
        // Any single flipped signature digit too.
        for position in [0, 31, 63] {
            var sig = Array(signature.utf8)
            sig[position] = sig[position] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            #expect(
                ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: String(decoding: sig, as: UTF8.self)))
                    == [ExpectedError(.auth, "sti-signature")])
        }
    }

    @Test func signatureMustBeLowerCaseHexOfFullLength() {
        let signature = signed(value, with: "530102-2026a")
        for bad in [
            signature.uppercased(), String(signature.dropLast()), signature + "0", "zz" + signature.dropFirst(2),
        ] {
            #expect(
                ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: bad)) == [
                    ExpectedError(.auth, "sti-signature")
                ], "\(bad)")
        }
    }

    @Test func expiredAndNotYetValidKeysAreRejected() {
        let sigA = signed(value, with: "530102-2026a")
        let sigB = signed(value, with: "530102-2026b")
        #expect(
            ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: sigA, at: Keys.notAfterA + 1)) == [
                ExpectedError(.auth, "sti-key-id")
            ])
        #expect(
            ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: sigA, at: Keys.notBeforeA - 1)) == [
                ExpectedError(.auth, "sti-key-id")
            ])
        #expect(
            ValidatorCheck.codes(run(value, keyId: "530102-2026b", signature: sigB, at: Keys.jan15)) == [
                ExpectedError(.auth, "sti-key-id")
            ])
        #expect(
            ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: sigA, at: -1)) == [
                ExpectedError(.auth, "sti-key-id")
            ])
        // Both ends of the window are inclusive.
        #expect(ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: sigA, at: Keys.notAfterA)) == [])
        #expect(ValidatorCheck.codes(run(value, keyId: "530102-2026a", signature: sigA, at: Keys.notBeforeA)) == [])
        // A key without a window works at any time, even without a timestamp.
        let other = SampleMessage.rd.with("county", "\"530103\"").bytes
        #expect(
            ValidatorCheck.codes(
                run(other, key: "530103", keyId: "530103-2026a", signature: signed(other, with: "530103-2026a"), at: -1)
            ) == [])
    }

    @Test func rotationOverlapAcceptsBothKeys() {
        for id in ["530102-2026a", "530102-2026b"] {
            #expect(
                ValidatorCheck.codes(run(value, keyId: id, signature: signed(value, with: id), at: Keys.june15)) == [],
                "\(id)")
        }
        #expect(Keys.ring.signingKeyId(county: "530102", atMillis: Keys.june15) == "530102-2026b")
        #expect(Keys.ring.signingKeyId(county: "530102", atMillis: Keys.jan15) == "530102-2026a")
        #expect(Keys.ring.signingKeyId(county: "530103", atMillis: 0) == "530103-2026a")
        #expect(Keys.ring.signingKeyId(county: "530199", atMillis: Keys.jan15) == nil)
    }

    @Test func authIsReportedWithFieldErrors() {
        let bad = SampleMessage.rd.with("year", "1999").bytes
        #expect(
            ValidatorCheck.codes(run(bad, keyId: nil, signature: nil)) == [
                ExpectedError(.period, "year"), ExpectedError(.auth),
            ])
        #expect(
            ValidatorCheck.codes(
                run(bad, key: "530103", keyId: "530102-2026a", signature: signed(bad, with: "530102-2026a")))
                == [ExpectedError(.keyMismatch, "county"), ExpectedError(.period, "year")])
    }

    @Test func authIsNotCheckedBeforeTheFirstFourPass() {
        #expect(ValidatorCheck.codes(run(Array("{".utf8), keyId: nil, signature: nil)) == [ExpectedError(.json)])
        #expect(
            ValidatorCheck.codes(run(Array("{}".utf8), keyId: nil, signature: nil)) == [
                ExpectedError(.schema, "schema")
            ])
    }

    @Test func countyFallsBackToTheMessageKey() {
        // No county field: the key names the county the signing key must belong to.
        let noCounty = SampleMessage.rd.with("county", nil).bytes
        #expect(
            ValidatorCheck.codes(
                run(noCounty, key: "530102", keyId: "530103-2026a", signature: signed(noCounty, with: "530103-2026a")))
                == [ExpectedError(.fieldMissing, "county"), ExpectedError(.auth, "sti-key-id")])
    }

    // MARK: Secrets stay secret

    @Test func secretsNeverAppearInTexts() throws {
        var texts: [String] = [Keys.ring.description, String(reflecting: Keys.ring), "\(Keys.ring.keys)"]
        var dumped = ""
        dump(Keys.ring, to: &dumped)
        texts.append(dumped)
        let sig = signed(value, with: "530102-2026a")
        for (id, signature, at) in [
            ("530102-2026a", "0" + sig.dropFirst(), Keys.jan15), ("530102-2026a", sig, 0),
            ("530103-2026a", signed(value, with: "530103-2026a"), Keys.jan15), ("x", sig, Keys.jan15),
        ] {
            texts += run(value, keyId: id, signature: signature, at: at).rejection?.errors.map(\.description) ?? []
        }
        texts += Self.badFiles.compactMap { parseError($0.0)?.description }
        #expect(texts.count > 20)
        for text in texts {
            for secret in Keys.secrets {
                #expect(!text.lowercased().contains(secret.lowercased().prefix(16)), "\(text)")
            }
        }
    }

    // MARK: Bad keys files

    static let entryA = #"{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA)"}"#
    static let badFiles: [(String, String)] = [
        ("", "is not strict JSON"),
        ("[]", "is not strict JSON"),
        (#"{"keys":[], "keys":[]}"#, "is not strict JSON"),
        ("{}", "field \"keys\" is missing"),
        (#"{"keys":{}}"#, "\"keys\" must be an array, not an object"),
        (#"{"keys":[]}"#, "lists no keys"),
        (#"{"keys":[\#(entryA)],"extra":1}"#, "unknown field \"extra\""),
        (#"{"keys":[1]}"#, "entry 1 must be an object, not a number"),
        (#"{"keys":[{"county":"530102","secret_hex":"\#(Keys.secretA)"}]}"#, "entry 1: id is missing"),
        (#"{"keys":[{"id":"","county":"530102","secret_hex":"\#(Keys.secretA)"}]}"#, "entry 1: id must not be empty"),
        (
            #"{"keys":[{"id":7,"county":"530102","secret_hex":"\#(Keys.secretA)"}]}"#,
            "entry 1: id must be a string, not a number"
        ),
        (#"{"keys":[\#(entryA),\#(entryA)]}"#, "entry 2 (id \"k1\"): id is listed twice"),
        (#"{"keys":[{"id":"k1","secret_hex":"\#(Keys.secretA)"}]}"#, "entry 1 (id \"k1\"): county is missing"),
        (#"{"keys":[{"id":"k1","county":"530102"}]}"#, "entry 1 (id \"k1\"): secret_hex is missing"),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA.dropLast())"}]}"#,
            "entry 1 (id \"k1\"): secret_hex must be exactly 64 hex digits"
        ),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA)0"}]}"#,
            "secret_hex must be exactly 64 hex digits"
        ),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA.dropLast())g"}]}"#,
            "secret_hex must be exactly 64 hex digits"
        ),
        (#"{"keys":[{"id":"k1","county":"530102","secret_hex":1}]}"#, "secret_hex must be a string, not a number"),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA)","not_before":"2026-01-01"}]}"#,
            "entry 1 (id \"k1\"): not_before must be an RFC 3339 date-time"
        ),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA)","not_after":"2026-02-30T00:00:00Z"}]}"#,
            "not_after must be an RFC 3339 date-time"
        ),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret_hex":"\#(Keys.secretA)","not_before":"2026-02-01T00:00:00Z","not_after":"2026-01-01T00:00:00Z"}]}"#,
            "entry 1 (id \"k1\"): not_before is after not_after"
        ),
        (
            #"{"keys":[{"id":"k1","county":"530102","secret":"\#(Keys.secretA)"}]}"#,
            "entry 1 (id \"k1\"): unknown field \"secret\""
        ),
    ]

    @Test(arguments: badFiles)
    func rejectsBadFiles(_ text: String, message: String) {
        guard let error = parseError(text, source: "keys file k.json") else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(error.description.hasPrefix("keys file k.json"), "\(error)")
        #expect(error.description.contains(message), "\(error)")
    }

    // Reading the file and its permission check: STIPipelineTests/ProtocolFilesTests.swift.

    @Test func programmaticRingChecksItsParts() {
        #expect(throws: KeyRingError.self) { try KeyRing(keys: [(KeyRing.KeyInfo(id: "a", county: "530102"), "abc")]) }
        #expect(throws: KeyRingError.self) { try KeyRing(keys: [(KeyRing.KeyInfo(id: "a", county: ""), Keys.secretA)]) }
        #expect(throws: Never.self) { try KeyRing(keys: [(KeyRing.KeyInfo(id: "a", county: "530102"), Keys.secretA)]) }
    }

    /// Section 4 (hostile review #5): a key window is judged only on a broker timestamp. The
    /// same message signed with a bounded key is accepted under LogAppendTime inside the
    /// window and refused under CreateTime even then (a producer could back-date it); a key
    /// without bounds is accepted under either.
    @Test(arguments: [(TimestampSource.broker, true), (.producer, false), (.localClock, true)])
    func boundedKeysNeedABrokerTimestamp(source: TimestampSource, accepted: Bool) {
        let bounded = run(
            value, keyId: "530102-2026a", signature: signed(value, with: "530102-2026a"), at: Keys.jan15, source: source
        )
        #expect(ValidatorCheck.codes(bounded) == (accepted ? [] : [ExpectedError(.auth, "sti-key-id")]))
        if case .failure(let failure) = bounded, !accepted {
            #expect(failure.errors[0].message.contains("CreateTime"))
        }
        let v103 = value.replacing(Array("530102".utf8), with: Array("530103".utf8))
        let plain = run(
            v103, key: "530103", keyId: "530103-2026a", signature: signed(v103, with: "530103-2026a"), source: source)
        #expect(ValidatorCheck.codes(plain) == [])
    }

    /// A back-dated CreateTime inside an expired key's window is refused (the experiment of
    /// hostile review #5: the window says 2026-01..06, the producer claims 2026-03-01).
    @Test func aBackDatedCreateTimeDoesNotReviveAnExpiredKey() {
        let march1: Int64 = 1_772_323_200_000
        let result = run(
            value, keyId: "530102-2026a", signature: signed(value, with: "530102-2026a"), at: march1, source: .producer)
        #expect(ValidatorCheck.codes(result) == [ExpectedError(.auth, "sti-key-id")])
    }
}
