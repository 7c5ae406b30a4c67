// How error messages show text taken from a message: bounded, escaped, never a secret.

/// Short, safe renderings of untrusted text for error messages.
enum ErrorText {
    /// `"text"`, with control and quote characters escaped, and at most 64 characters or
    /// about 128 bytes of the rendering kept: a 60 KB key must not become a 60 KB error message,
    /// nor 64 control characters, each escaped to six bytes, a 400-byte one.
    static func quoted(_ text: String, limit: Int = 64, byteLimit: Int = 128) -> String {
        var out = "\""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit || out.utf8.count > byteLimit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value):
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A field name taken from a message, cut to 64 characters and under 100 bytes (64
    /// four-byte characters would be 256).
    static func fieldName(_ text: String) -> String {
        var kept = String.UnicodeScalarView()
        var count = 0
        var bytes = 0
        for scalar in text.unicodeScalars {
            if count == 64 || bytes + UTF8.width(scalar) > 93 { return String(kept) + "…" }
            kept.append(scalar)
            count += 1
            bytes += UTF8.width(scalar)
        }
        return text
    }

    /// Raw bytes (a Kafka key or header) shown as quoted text when they are short, printable
    /// UTF-8, else by their length only. Bytes holding 16 or more hex digits in a row are never
    /// shown: a bureau that pastes its secret into `sti-key-id` by mistake must not see it
    /// copied into rejection notices (which every bureau can read) and snapshots.
    static func describeBytes(_ bytes: UnsafeRawBufferPointer) -> String {
        if hasHexRun(bytes, length: 16) { return "(\(bytes.count) bytes, not shown: they look like a secret key)" }
        if bytes.count <= 64, UTF8Validation.isValid(bytes) {
            let text = String(decoding: bytes, as: UTF8.self)
            if !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return quoted(text)
            }
        }
        return "(\(bytes.count) bytes, not printable text)"
    }

    /// `quoted(text)`, unless the text holds 16 or more hex digits in a row (a secret pasted into
    /// an id, as when a keys file has `id` and `secret_hex` swapped): then it is not shown.
    static func quotedUnlessSecret(_ text: String) -> String {
        var text = text
        let secretLike = text.withUTF8 { hasHexRun(UnsafeRawBufferPointer($0), length: 16) }
        return secretLike ? "(\(text.utf8.count) bytes, not shown: they look like a secret key)" : quoted(text)
    }

    /// Whether `bytes` hold `length` or more ASCII hex digits in a row.
    static func hasHexRun(_ bytes: UnsafeRawBufferPointer, length: Int) -> Bool {
        var run = 0
        for b in bytes {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"):
                run += 1
                if run >= length { return true }
            default: run = 0
            }
        }
        return false
    }
}
