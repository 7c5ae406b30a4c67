// A strict RFC 8259 scanner for protocol messages (section 6, `E_JSON`).
//
// It reads the value bytes in place: strings and numbers are located, not copied, and a
// caller turns into Swift values only what a `Record` keeps. Numbers stay literal bytes, so
// amounts can be read exactly (never through `Double`) and a 10 MB literal costs one linear
// pass. Beyond RFC 8259 grammar it enforces the protocol's extra rules: exactly one object at
// the top, no byte-order mark, no escaped lone surrogate, no duplicate key in any object, and
// at most `maxDepth` nested containers (the top-level object is depth 1, so the protocol's
// "nesting deeper than 8" means a ninth container inside the eight).
//
// The caller must have checked that the bytes are well-formed UTF-8 (see `UTF8Validation`);
// the public entry points below do so themselves.

/// Why bytes are not one strict JSON object: the byte offset and the rule broken.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
    public var description: String { "\(reason) (at byte \(offset))" }
}

/// The JSON type of a located value.
enum JSONKind: UInt8, Sendable {
    case absent, null, falseValue, trueValue, number, string, object, array

    /// How an error message names the type ("must be a number, not a string").
    var noun: String {
        switch self {
        case .absent: "absent"
        case .null: "null"
        case .falseValue, .trueValue: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

/// A value located in the scanned bytes. For a string, `start..<end` is the text between the
/// quotes (still escaped when `escaped`); for a number, the literal; for a container, from its
/// opening to one past its closing bracket.
struct JSONSpan: Sendable {
    var kind: JSONKind
    var escaped: Bool
    var start: Int
    var end: Int
    static let absent = JSONSpan(kind: .absent, escaped: false, start: 0, end: 0)
    var length: Int { end - start }
}

/// Receives the members of the top-level object as they are scanned.
protocol JSONTopLevelVisitor {
    /// Returns true when the visitor took charge of the key (including duplicate detection,
    /// which it reports by throwing); false leaves duplicate detection to the scanner.
    mutating func member(key: JSONSpan, value: JSONSpan, scanner: JSONScanner) throws(JSONSyntaxError) -> Bool
}

/// A visitor that keeps nothing: syntax checking only.
struct JSONSyntaxOnlyVisitor: JSONTopLevelVisitor {
    mutating func member(key: JSONSpan, value: JSONSpan, scanner: JSONScanner) throws(JSONSyntaxError) -> Bool { false }
}

/// The scanner over one buffer. Only valid while the buffer it was made from is.
struct JSONScanner {
    let p: UnsafePointer<UInt8>
    let n: Int
    let maxDepth: Int
    private(set) var i = 0

    /// Keys of the objects being scanned, innermost last, for duplicate detection.
    struct KeyEntry {
        var hash: UInt64
        var span: JSONSpan
    }
    var keys: [KeyEntry] = []

    /// `buffer` must outlive the scanner; an empty buffer is allowed (and is not an object).
    init(_ buffer: UnsafeRawBufferPointer, maxDepth: Int = 8) {
        self.p = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? JSONScanner.emptyByte
        self.n = buffer.baseAddress == nil ? 0 : buffer.count
        self.maxDepth = maxDepth
    }

    // Read-only after initialisation (and never read at all: `n` is 0 with it), so sharing it
    // between threads is safe.
    nonisolated(unsafe) private static let emptyByte: UnsafePointer<UInt8> = {
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        b.initialize(to: 0)
        return UnsafePointer(b)
    }()

    // MARK: Errors

    func fail(_ at: Int, _ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: at, reason: reason) }

    /// Names the byte at `at` for an error message: `'x'`, `0x00`, or "the end".
    func describe(_ at: Int) -> String {
        guard at < n else { return "the end of the value" }
        let b = p[at]
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    mutating func advance() { i += 1 }

    /// Whether a UTF-8 byte-order mark starts at `at`.
    func isByteOrderMark(at: Int) -> Bool { at + 2 < n && p[at] == 0xEF && p[at + 1] == 0xBB && p[at + 2] == 0xBF }

    // MARK: Top level

    /// Scans one object with optional whitespace around it and nothing else, handing each
    /// top-level member to `visitor`.
    mutating func scanTopLevelObject<V: JSONTopLevelVisitor>(_ visitor: inout V) throws(JSONSyntaxError) {
        skipWhitespace()
        guard i < n else { throw fail(i, "expected a JSON object, found an empty value") }
        if isByteOrderMark(at: i) {
            throw fail(i, "a byte-order mark is not allowed before the object")
        }
        guard p[i] == UInt8(ascii: "{") else {
            throw fail(i, "the value must be one JSON object, found \(describeValueStart(i))")
        }
        i += 1
        let frame = keys.count
        skipWhitespace()
        if i < n, p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                let key = try scanKey()
                let value = try scanValue(depth: 1)
                if try !visitor.member(key: key, value: value, scanner: self) {
                    keys.append(KeyEntry(hash: hashKey(key), span: key))
                }
                if try endOfMember(closing: UInt8(ascii: "}")) { break }
            }
        }
        try checkDuplicates(from: frame)
        keys.removeSubrange(frame...)
        skipWhitespace()
        guard i == n else { throw fail(i, "only whitespace may follow the object, found \(describe(i))") }
    }

    private func describeValueStart(_ at: Int) -> String {
        switch p[at] {
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: describe(at)
        }
    }

    // MARK: Values

    /// Scans one value of a member or element of a container at `depth`.
    mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONSpan {
        skipWhitespace()
        guard i < n else { throw fail(i, "expected a value, found the end of the value") }
        let b = p[i]
        switch b {
        case UInt8(ascii: "\""):
            return try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < maxDepth else { throw fail(i, "nesting deeper than \(maxDepth) levels") }
            let start = i
            i += 1
            if b == UInt8(ascii: "{") {
                try scanNestedObject(depth: depth + 1)
                return JSONSpan(kind: .object, escaped: false, start: start, end: i)
            }
            try scanArray(depth: depth + 1)
            return JSONSpan(kind: .array, escaped: false, start: start, end: i)
        case UInt8(ascii: "t"):
            try expectWord("true")
            return JSONSpan(kind: .trueValue, escaped: false, start: i - 4, end: i)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return JSONSpan(kind: .falseValue, escaped: false, start: i - 5, end: i)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return JSONSpan(kind: .null, escaped: false, start: i - 4, end: i)
        default:
            throw fail(i, "expected a value, found \(describe(i))")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard i + count <= n else { throw fail(i, "expected \(word)") }
        for k in 0..<count where p[i + k] != w[k] {
            throw fail(i, "expected \(word)")
        }
        i += count
    }

    /// After `{` at `depth` (already consumed).
    private mutating func scanNestedObject(depth: Int) throws(JSONSyntaxError) {
        let frame = keys.count
        skipWhitespace()
        if i < n, p[i] == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            let key = try scanKey()
            keys.append(KeyEntry(hash: hashKey(key), span: key))
            _ = try scanValue(depth: depth)
            if try endOfMember(closing: UInt8(ascii: "}")) { break }
        }
        try checkDuplicates(from: frame)
        keys.removeSubrange(frame...)
    }

    /// After `[` at `depth` (already consumed).
    private mutating func scanArray(depth: Int) throws(JSONSyntaxError) {
        skipWhitespace()
        if i < n, p[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            _ = try scanValue(depth: depth)
            if try endOfMember(closing: UInt8(ascii: "]")) { break }
        }
    }

    /// A member's key and the colon after it.
    mutating func scanKey() throws(JSONSyntaxError) -> JSONSpan {
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: "\"") else {
            throw fail(i, "expected a key in double quotes, found \(describe(i))")
        }
        let key = try scanString()
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: ":") else { throw fail(i, "expected ':' after a key, found \(describe(i))") }
        i += 1
        return key
    }

    /// Consumes `,` (more follow: false) or the closing bracket (true). A trailing comma fails
    /// at the next key or value.
    mutating func endOfMember(closing: UInt8) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard i < n else { throw fail(i, "unterminated \(closing == UInt8(ascii: "}") ? "object" : "array")") }
        if p[i] == UInt8(ascii: ",") {
            i += 1
            skipWhitespace()
            if i < n, p[i] == closing { throw fail(i, "trailing comma") }
            return false
        }
        if p[i] == closing {
            i += 1
            return true
        }
        throw fail(i, "expected ',' or '\(Character(Unicode.Scalar(closing)))', found \(describe(i))")
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            switch p[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    // MARK: Strings

    /// At the opening quote. Checks escapes (including surrogate pairing) and control characters.
    private mutating func scanString() throws(JSONSyntaxError) -> JSONSpan {
        let open = i
        let start = i + 1
        var escaped = false
        // A local cursor keeps the hot loop in registers; `i` is written back at each exit.
        var j = start
        while true {
            // Plain bytes, eight at a time while no word holds a quote, backslash or control
            // byte, then one at a time up to the first such byte.
            while j + 8 <= n, !JSONScanner.hasSpecialByte(UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self)) {
                j += 8
            }
            while j < n {
                let b = p[j]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                j += 1
            }
            guard j < n else {
                i = j
                throw fail(open, "unterminated string")
            }
            let b = p[j]
            if b == UInt8(ascii: "\"") {
                i = j + 1
                return JSONSpan(kind: .string, escaped: escaped, start: start, end: j)
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                i = j
                try scanEscape()
                j = i
            } else {
                i = j
                throw fail(j, "control character \(describe(j)) must be escaped in a string")
            }
        }
    }

    /// Whether any of the eight bytes in `w` is `"`, `\` or below 0x20 (exact: the classic
    /// "has zero byte" / "has byte less than" bit tricks, whose false positives can only follow
    /// a true one).
    @inline(__always)
    static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (w &- ones &* 0x20) & ~w
        return (zeroQuote | zeroBackslash | control) & highs != 0
    }

    private mutating func scanEscape() throws(JSONSyntaxError) {
        guard i + 1 < n else { throw fail(i, "unterminated escape") }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            guard let unit = hex4(at: i + 2) else { throw fail(i, "\\u must be followed by four hex digits") }
            if (0xDC00...0xDFFF).contains(unit) {
                throw fail(i, "escaped lone surrogate \\u\(String(unit, radix: 16))")
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard i + 7 < n, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                    let low = hex4(at: i + 8), (0xDC00...0xDFFF).contains(low)
                else { throw fail(i, "escaped lone surrogate \\u\(String(unit, radix: 16))") }
                i += 12
            } else {
                i += 6
            }
        default:
            throw fail(i, "invalid escape \\\(describe(i + 1))")
        }
    }

    private func hex4(at: Int) -> UInt32? {
        guard at + 4 <= n else { return nil }
        var v: UInt32 = 0
        for k in at..<(at + 4) {
            let c = p[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Calls `body` with each byte of a scanned string's decoded UTF-8 text.
    func forEachDecodedByte(_ s: JSONSpan, _ body: (UInt8) -> Void) {
        var k = s.start
        while k < s.end {
            let b = p[k]
            guard b == UInt8(ascii: "\\") else {
                body(b)
                k += 1
                continue
            }
            let e = p[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): body(0x08)
            case UInt8(ascii: "f"): body(0x0C)
            case UInt8(ascii: "n"): body(0x0A)
            case UInt8(ascii: "r"): body(0x0D)
            case UInt8(ascii: "t"): body(0x09)
            case UInt8(ascii: "u"):
                // Validated by scanEscape: four hex digits, surrogates paired.
                var scalar = hex4(at: k)!
                k += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = hex4(at: k + 2)!
                    k += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                for unit in UTF8.encode(Unicode.Scalar(scalar)!)! { body(unit) }
            default: body(e)  // " \ /
            }
        }
    }

    /// A scanned string as Swift text (escapes decoded).
    func string(_ s: JSONSpan) -> String {
        if !s.escaped {
            return String(decoding: UnsafeBufferPointer(start: p + s.start, count: s.length), as: UTF8.self)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.length)
        forEachDecodedByte(s) { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a scanned string's decoded text is exactly `bytes`.
    func stringEquals(_ s: JSONSpan, _ bytes: UnsafeRawBufferPointer) -> Bool {
        if !s.escaped {
            guard s.length == bytes.count else { return false }
            for k in 0..<s.length where p[s.start + k] != bytes[k] { return false }
            return true
        }
        var k = 0
        var equal = true
        forEachDecodedByte(s) { b in
            if k < bytes.count, bytes[k] == b {
                k += 1
            } else {
                equal = false
                k = bytes.count + 1
            }
        }
        return equal && k == bytes.count
    }

    /// The literal bytes of a span.
    func bytes(_ s: JSONSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: p + s.start, count: s.length)
    }

    // MARK: Numbers

    /// RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    private mutating func scanNumber() throws(JSONSyntaxError) -> JSONSpan {
        let start = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, isDigit(p[i]) else { throw fail(start, "a number needs a digit after '-'") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < n, isDigit(p[i]) { throw fail(start, "a number must not have a leading zero") }
        } else {
            skipDigits()
        }
        if i < n, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(p[i]) else { throw fail(i, "a number needs a digit after '.'") }
            skipDigits()
        }
        if i < n, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < n, isDigit(p[i]) else { throw fail(i, "a number needs a digit in its exponent") }
            skipDigits()
        }
        return JSONSpan(kind: .number, escaped: false, start: start, end: i)
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always) private mutating func skipDigits() {
        while i < n, p[i] &- UInt8(ascii: "0") < 10 { i += 1 }
    }

    // MARK: Duplicate keys

    /// FNV-1a over the decoded key, so `"a"` and `"\u0061"` collide as they must.
    func hashKey(_ s: JSONSpan) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        if !s.escaped {
            for k in s.start..<s.end { h = (h ^ UInt64(p[k])) &* 0x100_0000_01B3 }
        } else {
            forEachDecodedByte(s) { h = (h ^ UInt64($0)) &* 0x100_0000_01B3 }
        }
        return h
    }

    func keysEqual(_ a: JSONSpan, _ b: JSONSpan) -> Bool {
        if !a.escaped && !b.escaped {
            guard a.length == b.length else { return false }
            for k in 0..<a.length where p[a.start + k] != p[b.start + k] { return false }
            return true
        }
        var x: [UInt8] = []
        var y: [UInt8] = []
        forEachDecodedByte(a) { x.append($0) }
        forEachDecodedByte(b) { y.append($0) }
        return x == y
    }

    /// Fails when two keys of the object whose keys start at `frame` are equal. Small objects
    /// compare hashes pairwise; large ones sort the hashes, so a 64 KiB message of ten thousand
    /// keys costs n log n, not n².
    func checkDuplicates(from frame: Int) throws(JSONSyntaxError) {
        let count = keys.count - frame
        guard count > 1 else { return }
        if count <= 16 {
            for a in frame..<(keys.count - 1) {
                for b in (a + 1)..<keys.count
                where keys[a].hash == keys[b].hash && keysEqual(keys[a].span, keys[b].span) {
                    throw duplicate(keys[b].span)
                }
            }
            return
        }
        let order = (frame..<keys.count).sorted { (keys[$0].hash, $0) < (keys[$1].hash, $1) }
        var g = 0
        while g < order.count {
            var h = g + 1
            while h < order.count, keys[order[h]].hash == keys[order[g]].hash { h += 1 }
            if h - g > 1 {
                for a in g..<(h - 1) {
                    for b in (a + 1)..<h where keysEqual(keys[order[a]].span, keys[order[b]].span) {
                        throw duplicate(keys[max(order[a], order[b])].span)
                    }
                }
            }
            g = h
        }
    }

    func duplicate(_ key: JSONSpan) -> JSONSyntaxError {
        fail(key.start - 1, "duplicate key \(ErrorText.quoted(string(key)))")
    }
}

/// Entry points for strict JSON outside message validation (configuration files, tests).
public enum StrictJSON {
    /// Nil when `bytes` is exactly one strict JSON object (UTF-8, the rules of the scanner above),
    /// else why not.
    public static func check(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 8) -> JSONSyntaxError? {
        if let bad = UTF8Validation.firstInvalidOffset(bytes) {
            return JSONSyntaxError(offset: bad, reason: "not valid UTF-8")
        }
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        var visitor = JSONSyntaxOnlyVisitor()
        do { try scanner.scanTopLevelObject(&visitor) } catch { return error }
        return nil
    }
}
