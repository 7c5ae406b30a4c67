/// Rows of a CSV text (RFC 4180: `,` between fields, `"` around a field that holds a comma,
/// quote or line break, `""` for a quote inside one), read over the text's UTF-8 bytes.
///
/// It reads exactly as CSV.swift 2.5's `CSVReader` (no trimming) did before it, quirks
/// included, so feed files read the same as before: LF, CRLF and a lone CR each end a row; a
/// closing quote followed by anything but a comma, line break or quote keeps the quote and
/// drops the character after it; a quoted field left open runs to the end of the text; an
/// empty line is a row of one empty field. That reader built every field scalar by scalar and
/// took a third of `sti submit`'s time; this one makes each field from a slice of the bytes.
///
/// The buffer is borrowed: use the reader only while the bytes are alive (inside
/// `String.withUTF8`). Every byte the reader splits at is ASCII, so each field of a valid UTF-8
/// text is valid UTF-8.
struct CSVRowReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// The next row's fields, or nil at the end of the text.
    mutating func next() -> [String]? {
        guard i < bytes.count else { return nil }
        var row: [String] = []
        var atEnd = false
        while true {
            let (field, end): (String, Bool)
            if atEnd {
                // The text ended right after a comma: one more, empty, field.
                (field, end) = ("", true)
            } else if bytes[i] == Self.quote {
                i += 1
                (field, end) = quotedField()
            } else {
                (field, end) = plainField()
            }
            row.append(field)
            if end { return row }
            atEnd = i >= bytes.count
        }
    }

    private mutating func plainField() -> (String, Bool) {
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == Self.comma {
                defer { i += 1 }
                return (text(start..<i), false)
            }
            if b == Self.lf || b == Self.cr {
                let field = text(start..<i)
                i += 1
                if b == Self.cr, i < bytes.count, bytes[i] == Self.lf { i += 1 }
                return (field, true)
            }
            i += 1
        }
        return (text(start..<i), true)
    }

    /// After the opening quote.
    private mutating func quotedField() -> (String, Bool) {
        var field: [UInt8] = []
        var start = i  // the run of plain bytes not yet copied into `field`
        while i < bytes.count {
            guard bytes[i] == Self.quote else { i += 1; continue }
            field += bytes[start..<i]
            i += 1
            guard i < bytes.count else { return (String(decoding: field, as: UTF8.self), true) }
            let next = bytes[i]
            i += 1
            switch next {
            case Self.comma:
                return (String(decoding: field, as: UTF8.self), false)
            case Self.lf, Self.cr:
                if next == Self.cr, i < bytes.count, bytes[i] == Self.lf { i += 1 }
                return (String(decoding: field, as: UTF8.self), true)
            case Self.quote:
                field.append(Self.quote)
            default:
                // CSV.swift's reading: keep the quote, drop the character after it (all of it,
                // when it is a multi-byte one).
                field.append(Self.quote)
                if next >= 0xC0 { while i < bytes.count, bytes[i] & 0xC0 == 0x80 { i += 1 } }
            }
            start = i
        }
        field += bytes[start..<i]
        return (String(decoding: field, as: UTF8.self), true)
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
