import Crypto
// The bureaus' signing keys and message authentication (protocol section 4).
//
// Which clock decides a key's validity window: the Kafka message timestamp. The spec says
// only "out-of-date key". The aggregator's wall clock would make a rebuild from offset zero
// reject messages whose keys have since expired, so the current record set would depend on
// when a run happened, breaking section 5 ("depends only on the set of messages and on their
// order"). The message timestamp is stored with the message, so replay gives the same answer.
// Caveat for operators: with the default `message.timestamp.type=CreateTime` the producer sets
// it; set `LogAppendTime` on the submission topics (or bound it with
// `message.timestamp.difference.max.ms`) so that a leaked, expired key cannot be used with a
// back-dated timestamp. `submitted_at` is not used: it is free text inside the payload.
//
// Secrets never appear in any error, description or mirror of these types.
public import Foundation

/// A keys file that cannot be used, or a signing request for an unknown key: what went wrong
/// (`code`, for callers to branch on) and a sentence naming the file, the entry and the field.
/// Never contains a secret.
public struct KeyRingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The file cannot be read (missing, a directory, no permission).
        case unreadable
        /// Not strict JSON (section 6's rules).
        case syntax
        /// A missing, unknown, empty or mistyped field, or an empty list.
        case invalid
        /// An id listed twice.
        case duplicate
        /// `secret_hex` not exactly 64 hex digits.
        case badSecret
        /// `not_before`/`not_after` malformed or in the wrong order.
        case badValidity
        /// Signing with a key id the ring does not hold.
        case unknownKey
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
    init(_ description: String) { self.init(.invalid, description) }
}

/// The bureaus' HMAC-SHA256 keys: verifies message signatures for the aggregator and signs
/// values for `sti submit` (protocol section 4).
public struct KeyRing: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What may be shown about a key: everything except its secret.
    public struct KeyInfo: Sendable, Hashable {
        public var id: String
        public var county: String
        /// RFC 3339 text as written in the keys file.
        public var notBefore: String?
        public var notAfter: String?
        /// The window in milliseconds since the epoch: `notBefore` rounded up, `notAfter` rounded
        /// down, so rounding never widens it. Both ends are inclusive.
        public var notBeforeMillis: Int64?
        public var notAfterMillis: Int64?

        public init(
            id: String, county: String, notBefore: String? = nil, notAfter: String? = nil,
            notBeforeMillis: Int64? = nil, notAfterMillis: Int64? = nil
        ) {
            self.id = id
            self.county = county
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.notBeforeMillis = notBeforeMillis
            self.notAfterMillis = notAfterMillis
        }

        public func isValid(atMillis t: Int64) -> Bool {
            (notBeforeMillis.map { t >= $0 } ?? true) && (notAfterMillis.map { t <= $0 } ?? true)
        }
    }

    private struct Entry: Sendable {
        var info: KeyInfo
        var mac: PreparedHMAC
    }

    /// The keys in file order.
    public let keys: [KeyInfo]
    private let byId: [String: Entry]

    /// Builds a ring from already-checked parts; `secretHex` must be 64 hex digits.
    /// Used by `parse`; tests and tools may call it directly.
    public init(keys definitions: [(info: KeyInfo, secretHex: String)]) throws(KeyRingError) {
        var byId: [String: Entry] = [:]
        for (n, d) in definitions.enumerated() {
            let name = "entry \(n + 1) (id \(ErrorText.quotedUnlessSecret(d.info.id)))"
            guard !d.info.id.isEmpty else { throw KeyRingError("entry \(n + 1): id must not be empty") }
            guard byId[d.info.id] == nil else { throw KeyRingError(.duplicate, "\(name): id is listed twice") }
            guard !d.info.county.isEmpty else { throw KeyRingError("\(name): county must not be empty") }
            guard let secret = KeyRing.decodeHex(d.secretHex) else {
                throw KeyRingError(.badSecret, "\(name): secret_hex must be exactly 64 hex digits")
            }
            if let a = d.info.notBeforeMillis, let b = d.info.notAfterMillis, a > b {
                throw KeyRingError(.badValidity, "\(name): not_before is after not_after")
            }
            byId[d.info.id] = Entry(info: d.info, mac: PreparedHMAC(key: secret))
        }
        self.keys = definitions.map(\.info)
        self.byId = byId
    }

    // MARK: Parsing (reading the file and checking its permissions: STIPipeline/Files/KeyRingFile.swift)

    /// Checks keys-file bytes; `source` prefixes every error ("keys file /etc/sti/keys.json").
    public static func parse(_ data: Data, source: String = "keys file") throws(KeyRingError) -> KeyRing {
        let root: JSONValue
        do {
            root = try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue in
                try JSONValue.parseObject(raw)
            }
        } catch {
            throw KeyRingError(.syntax, "\(source) is not strict JSON: \(error)")
        }
        guard case .object(let top) = root else { throw KeyRingError("\(source): expected an object") }
        for member in top where member.key != "keys" {
            throw KeyRingError(
                "\(source): unknown field \(ErrorText.quotedUnlessSecret(member.key)); the file holds only \"keys\"")
        }
        guard let list = root["keys"] else { throw KeyRingError("\(source): field \"keys\" is missing") }
        guard case .array(let items) = list else {
            throw KeyRingError("\(source): \"keys\" must be an array, not \(list.typeName)")
        }
        guard !items.isEmpty else { throw KeyRingError("\(source): \"keys\" lists no keys") }
        var definitions: [(info: KeyInfo, secretHex: String)] = []
        for (n, item) in items.enumerated() {
            definitions.append(try entry(item, number: n + 1, source: source))
        }
        do { return try KeyRing(keys: definitions) } catch {
            throw KeyRingError(error.code, "\(source): \(error.description)")
        }
    }

    private static let entryFields: Set<String> = ["id", "county", "secret_hex", "not_before", "not_after"]

    private static func entry(_ item: JSONValue, number: Int, source: String) throws(KeyRingError) -> (
        info: KeyInfo, secretHex: String
    ) {
        guard case .object(let members) = item else {
            throw KeyRingError("\(source): entry \(number) must be an object, not \(item.typeName)")
        }
        var name = "\(source): entry \(number)"
        if case .string(let id)? = item["id"] { name += " (id \(ErrorText.quotedUnlessSecret(id)))" }
        for m in members where !entryFields.contains(m.key) {
            throw KeyRingError(
                "\(name): unknown field \(ErrorText.quotedUnlessSecret(m.key)) (allowed: id, county, secret_hex, not_before, not_after)"
            )
        }
        func text(_ field: String, required: Bool) throws(KeyRingError) -> String? {
            switch item[field] {
            case nil, .null?:
                if required { throw KeyRingError("\(name): \(field) is missing") }
                return nil
            case .string(let s)?: return s
            case let other?: throw KeyRingError("\(name): \(field) must be a string, not \(other.typeName)")
            }
        }
        let id = try text("id", required: true)!
        let county = try text("county", required: true)!
        let secretHex = try text("secret_hex", required: true)!
        guard secretHex.utf8.count == 64, decodeHex(secretHex) != nil else {
            throw KeyRingError(.badSecret, "\(name): secret_hex must be exactly 64 hex digits")
        }
        var info = KeyInfo(id: id, county: county)
        for field in ["not_before", "not_after"] {
            guard let t = try text(field, required: false) else { continue }
            guard let stamp = RFC3339Timestamp.parse(t) else {
                throw KeyRingError(
                    .badValidity,
                    "\(name): \(field) must be an RFC 3339 date-time with offset, e.g. 2026-01-01T00:00:00+08:00")
            }
            if field == "not_before" {
                info.notBefore = t
                info.notBeforeMillis = stamp.epochMillisRoundedUp
            } else {
                info.notAfter = t
                info.notAfterMillis = stamp.epochMillis
            }
        }
        return (info, secretHex)
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        for k in stride(from: 0, to: 64, by: 2) {
            guard let hi = nibble(utf8[k]), let lo = nibble(utf8[k + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    // MARK: Verifying and signing

    /// Section 4 for one message: nil when `signature` is the lower-case hex HMAC-SHA256 of
    /// `value` under the key `keyId` names, that key belongs to `county` and is valid at the
    /// message timestamp; else the `E_AUTH` error. A nil `county` (the message has no usable
    /// county, which is rejected on its own) skips the county match.
    public func verify(
        keyId: UnsafeRawBufferPointer?, signature: UnsafeRawBufferPointer?, county: String?,
        value: UnsafeRawBufferPointer, at timestampMillis: Int64,
        timestampTrusted: Bool
    ) -> FieldError? {
        guard let keyId, keyId.count > 0, let signature, signature.count > 0 else {
            return FieldError(
                .auth, field: nil, "the message is unsigned: headers sti-key-id and sti-signature are required")
        }
        guard UTF8Validation.isValid(keyId), let entry = byId[String(decoding: keyId, as: UTF8.self)] else {
            return FieldError(.auth, field: "sti-key-id", "unknown key \(ErrorText.describeBytes(keyId))")
        }
        let id = ErrorText.quotedUnlessSecret(entry.info.id)
        if entry.info.notBeforeMillis != nil || entry.info.notAfterMillis != nil {
            // Section 4: a window is judged only on a time the broker set. Under CreateTime the
            // producer chooses the timestamp, and a holder of a retired key could back-date it.
            guard timestampTrusted else {
                return FieldError(
                    .auth, field: "sti-key-id",
                    """
                    key \(id) has a validity window, but the message's timestamp was set by its producer (CreateTime); \
                    a bounded key is honoured only on topics with message.timestamp.type=LogAppendTime
                    """)
            }
            guard timestampMillis >= 0 else {
                return FieldError(
                    .auth, field: "sti-key-id", "key \(id) has a validity window but the message has no timestamp")
            }
            let at = RFC3339Timestamp.formatUTC(epochMillis: timestampMillis)
            if let nb = entry.info.notBeforeMillis, timestampMillis < nb {
                return FieldError(
                    .auth, field: "sti-key-id",
                    "key \(id) is not valid before \(entry.info.notBefore ?? "") (message time \(at))")
            }
            if let na = entry.info.notAfterMillis, timestampMillis > na {
                return FieldError(
                    .auth, field: "sti-key-id", "key \(id) expired at \(entry.info.notAfter ?? "") (message time \(at))"
                )
            }
        }
        if let county, county != entry.info.county {
            return FieldError(
                .auth, field: "sti-key-id",
                "key \(id) belongs to \(ErrorText.quotedUnlessSecret(entry.info.county)), not to \(ErrorText.quotedUnlessSecret(county))"
            )
        }
        guard signature.count == 64 else {
            return FieldError(
                .auth, field: "sti-signature", "must be 64 lower-case hex digits (HMAC-SHA256 of the value)")
        }
        let mac = entry.mac.authenticationCode(for: value)
        // Constant time: every byte is compared whatever the earlier ones were.
        let difference: UInt8 = mac.withUnsafeBytes { m in
            var diff: UInt8 = 0
            for k in 0..<32 {
                diff |= KeyRing.hexDigit(m[k] >> 4) ^ signature[2 * k]
                diff |= KeyRing.hexDigit(m[k] & 0x0F) ^ signature[2 * k + 1]
            }
            return diff
        }
        guard difference == 0 else {
            return FieldError(.auth, field: "sti-signature", "does not match the value under key \(id)")
        }
        return nil
    }

    @inline(__always)
    fileprivate static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

    /// The `sti-signature` header for `value` under key `keyId`: lower-case hex HMAC-SHA256.
    public func sign(value: some DataProtocol, keyId: String) throws(KeyRingError) -> String {
        let value = Array(value)
        guard let entry = byId[keyId] else {
            throw KeyRingError(.unknownKey, "unknown key \(ErrorText.quotedUnlessSecret(keyId))")
        }
        let mac = entry.mac.authenticationCode(for: value)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in mac {
            hex.append(KeyRing.hexDigit(byte >> 4))
            hex.append(KeyRing.hexDigit(byte & 0x0F))
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The key `county` should sign with at `timestampMillis`: among its keys valid then, the
    /// one that became valid last (the newest in a rotation overlap; file order breaks ties).
    public func signingKeyId(county: String, atMillis timestampMillis: Int64) -> String? {
        var best: KeyInfo?
        for k in keys where k.county == county && k.isValid(atMillis: timestampMillis) {
            if let b = best, (b.notBeforeMillis ?? .min) > (k.notBeforeMillis ?? .min) { continue }
            best = k
        }
        return best?.id
    }

    // MARK: Redacted descriptions

    public var description: String {
        "KeyRing(\(keys.count) keys: " + keys.map { "\($0.id) for \($0.county)" }.joined(separator: ", ") + ")"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keys": keys], displayStyle: .struct) }
}

/// HMAC-SHA256 (RFC 2104) with the key's inner and outer pad blocks hashed once, at load:
/// each message then costs two SHA-256 passes and no key setup. swift-crypto's `HMAC` redoes
/// the key schedule for every message, which made verification several times slower than
/// validating the message itself.
private struct PreparedHMAC: @unchecked Sendable {
    // `SHA256` is not marked `Sendable`, but it is a copy-on-write value: `update` copies a
    // shared context before writing and `finalize` only reads, so copies of these two states
    // may be used from any number of threads at once.
    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    func authenticationCode(for value: UnsafeRawBufferPointer) -> SHA256.Digest {
        var h = inner
        h.update(bufferPointer: value)
        let innerDigest = h.finalize()
        var o = outer
        innerDigest.withUnsafeBytes { o.update(bufferPointer: $0) }
        return o.finalize()
    }

    func authenticationCode(for value: [UInt8]) -> SHA256.Digest {
        value.withUnsafeBytes { authenticationCode(for: $0) }
    }
}
