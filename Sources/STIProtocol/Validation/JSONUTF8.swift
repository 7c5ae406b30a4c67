// UTF-8 well-formedness (protocol section 6, `E_ENCODING`): the Unicode Standard's table 3-7 of
// well-formed byte sequences, so overlong encodings, UTF-8-encoded surrogates (ED A0..BF),
// code points above U+10FFFF and truncated sequences are all rejected. Runs before the JSON
// scanner, which may then assume well-formed text.

/// Checks that bytes are well-formed UTF-8.
public enum UTF8Validation {
    /// The offset of the first byte that starts (or truncates) an ill-formed sequence; nil when
    /// the whole buffer is well-formed UTF-8.
    public static func firstInvalidOffset(_ buffer: UnsafeRawBufferPointer) -> Int? {
        let n = buffer.count
        guard n > 0, let base = buffer.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i < n {
            // ASCII fast path, eight bytes at a time.
            while i + 8 <= n, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < n else { break }
            let b0 = p[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let start = i
            let length: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                hi = 0x9F
            case 0xF0:
                length = 4
                lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                hi = 0x8F
            default: return start
            }
            guard start + length <= n else { return start }
            let b1 = p[start + 1]
            guard b1 >= lo, b1 <= hi else { return start }
            for k in 2..<length where p[start + k] & 0xC0 != 0x80 {
                return start
            }
            i = start + length
        }
        return nil
    }

    public static func isValid(_ buffer: UnsafeRawBufferPointer) -> Bool { firstInvalidOffset(buffer) == nil }
}
