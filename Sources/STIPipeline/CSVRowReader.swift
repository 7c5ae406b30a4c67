/// Rows of a CSV text (RFC 4180: `,` between fields, `"` around a field that holds a comma,
/// quote or line break, `""` for a quote inside one), read over the text's UTF-8 bytes.
///
/// LF, CRLF and a lone CR each end a row (and a line); an empty line is a row of one empty
/// field. Quoting is strict: a quote inside a field that does not start with one (`ab"c`),
/// anything but a comma, line break or the end after a closing quote (`"ab"c`), and a quoted
/// field still open at the end of the text are errors naming the line and column. (CSV.swift,
/// which this reader replaced, kept the stray quote, dropped the character after a closing
/// quote and ran an open field to the end of the file: a cell silently altered, or a row
/// reported as missing fields.)
///
/// The buffer is borrowed: use the reader only while the bytes are alive (inside
/// `String.withUTF8`). Every byte the reader splits at is ASCII, so each field of a valid UTF-8
/// text is valid UTF-8.
struct CSVRowReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    /// The 1-based line of byte `i` and where that line starts (LF, CRLF and CR end lines).
    private(set) var line = 1
    private var lineStart = 0
    /// Fields of the row read last: the next row's array is made that large at once (rows of a
    /// table have the same count), not grown field by field.
    private var lastFieldCount = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// A reader of `bytes` that starts at `line` (the text before it was cut off at a line start).
    init(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) {
        self.bytes = bytes
        self.line = line
    }

    /// Where the next row starts (a byte offset into the buffer).
    var offset: Int { i }

    /// A piece of a CSV text that starts at a row's start, with the line counts there.
    struct Slice: Equatable {
        var range: Range<Int>
        /// `line` of a reader at `range.lowerBound` (LF, CRLF and CR count, inside quotes too).
        var readerLine: Int
        /// LF bytes and row ends before `range.lowerBound`, plus `rowLine` of the start: how
        /// `FeedReader` numbers rows (a row starts one line after the previous one ended, plus
        /// the LFs its quoted fields hold).
        var rowLine: Int
    }

    /// `bytes[start...]` cut into about `parts` slices at row ends, so that each can be read by
    /// a reader of its own (`CSVRowReader(rebasing the slice, line: readerLine)`) and give the
    /// rows one reader of the whole text gives. A row end is a line break outside quotes, found
    /// by quote parity: in text that follows RFC 4180 every quote opens or closes a quoted field
    /// or is half of a `""`, so an odd count of quotes before a byte means it is inside one.
    /// Where the text breaks the quoting rules, the parity is right up to the first break, so
    /// the slice holding it starts at a real row start and its reader meets that same break
    /// first: the first error of the first slice that has one is the whole text's first error.
    static func slices(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, readerLine: Int, rowLine: Int, parts: Int
    ) -> [Slice] {
        let count = bytes.count
        guard parts > 1, start < count else {
            return [Slice(range: start..<max(start, count), readerLine: readerLine, rowLine: rowLine)]
        }
        var slices: [Slice] = []
        slices.reserveCapacity(parts)
        var sliceStart = start
        var startLines = (reader: readerLine, row: rowLine)
        var lines = startLines
        var part = 1
        var target = start + (count - start) * part / parts
        var inQuotes = false
        var i = start
        while i < count {
            let b = bytes[i]
            i += 1
            if b == quote {
                inQuotes.toggle()
                continue
            }
            if b == lf {
                lines.reader += 1
                lines.row += 1
            } else if b == cr {
                if i < count, bytes[i] == lf { continue }  // CRLF: its LF counts
                lines.reader += 1
                if inQuotes { continue }  // a lone CR in a quoted field: not an LF of the cell
                lines.row += 1
            } else {
                continue
            }
            guard !inQuotes, i >= target, i < count else { continue }
            slices.append(Slice(range: sliceStart..<i, readerLine: startLines.reader, rowLine: startLines.row))
            sliceStart = i
            startLines = lines
            while part < parts, target <= i {
                part += 1
                target = start + (count - start) * part / parts
            }
            if part >= parts { break }
        }
        slices.append(Slice(range: sliceStart..<count, readerLine: startLines.reader, rowLine: startLines.row))
        return slices
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// The next row's fields, or nil at the end of the text.
    mutating func next() throws(CSVQuotingError) -> [String]? {
        guard i < bytes.count else { return nil }
        var row: [String] = []
        row.reserveCapacity(lastFieldCount)
        var atEnd = false
        while true {
            let (field, end): (String, Bool)
            if atEnd {
                // The text ended right after a comma: one more, empty, field.
                (field, end) = ("", true)
            } else if bytes[i] == Self.quote {
                i += 1
                (field, end) = try quotedField(index: row.count)
            } else {
                (field, end) = try plainField(index: row.count)
            }
            row.append(field)
            if end {
                lastFieldCount = row.count
                return row
            }
            atEnd = i >= bytes.count
        }
    }

    private mutating func plainField(index: Int) throws(CSVQuotingError) -> (String, Bool) {
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == Self.comma {
                defer { i += 1 }
                return (text(start..<i), false)
            }
            if b == Self.lf || b == Self.cr {
                let field = text(start..<i)
                endLine()
                return (field, true)
            }
            if b == Self.quote { throw error(.quoteInUnquotedField, at: i, field: index) }
            i += 1
        }
        return (text(start..<i), true)
    }

    /// After the opening quote.
    private mutating func quotedField(index: Int) throws(CSVQuotingError) -> (String, Bool) {
        let (openedAt, openedLine, openedLineStart) = (i - 1, line, lineStart)
        var field: [UInt8] = []
        var start = i  // the run of plain bytes not yet copied into `field`
        while i < bytes.count {
            let b = bytes[i]
            if b == Self.lf || (b == Self.cr && (i + 1 == bytes.count || bytes[i + 1] != Self.lf)) {
                i += 1
                line += 1
                lineStart = i
                continue
            }
            guard b == Self.quote else {
                i += 1
                continue
            }
            field += bytes[start..<i]
            i += 1
            guard i < bytes.count else { return (String(decoding: field, as: UTF8.self), true) }
            switch bytes[i] {
            case Self.comma:
                i += 1
                return (String(decoding: field, as: UTF8.self), false)
            case Self.lf, Self.cr:
                endLine()
                return (String(decoding: field, as: UTF8.self), true)
            case Self.quote:
                field.append(Self.quote)
                i += 1
            default:
                throw error(.textAfterClosingQuote, at: i, field: index)
            }
            start = i
        }
        (line, lineStart) = (openedLine, openedLineStart)
        throw error(.unterminatedQuote, at: openedAt, field: index)
    }

    /// Consumes the line break at `i` (CRLF as one).
    private mutating func endLine() {
        if bytes[i] == Self.cr, i + 1 < bytes.count, bytes[i + 1] == Self.lf { i += 1 }
        i += 1
        line += 1
        lineStart = i
    }

    /// The error for byte `at` of the current line; its column counts characters from 1.
    private func error(_ kind: CSVQuotingError.Kind, at: Int, field: Int) -> CSVQuotingError {
        var column = 1
        for k in lineStart..<at where bytes[k] & 0xC0 != 0x80 { column += 1 }
        return CSVQuotingError(kind: kind, line: line, column: column, field: field + 1)
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

/// Quoting that breaks RFC 4180, where it is: line and column (characters, from 1) of the
/// offending quote or character (of the opening quote when it never closes), and the field's
/// position in its row (from 1).
struct CSVQuotingError: Error, Equatable {
    enum Kind: Equatable { case quoteInUnquotedField, textAfterClosingQuote, unterminatedQuote }
    var kind: Kind
    var line: Int
    var column: Int
    var field: Int

    /// The message, naming the field by `name` when the header gives it one.
    func message(fieldName name: String?) -> String {
        let which = "field \(field)\(name.map { " (\($0))" } ?? "")"
        switch kind {
        case .quoteInUnquotedField:
            return
                "malformed quoting at column \(column), \(which): a quote inside a field that does not start with one; "
                + "quote the whole field and double the quotes inside it, as in \"ab\"\"c\""
        case .textAfterClosingQuote:
            return "malformed quoting at column \(column), \(which): text after the closing quote; "
                + "a quoted field ends at its closing quote, and a quote inside it is written twice, as in \"ab\"\"c\""
        case .unterminatedQuote:
            return "unterminated quote: the quoted \(which) opened at column \(column) of line \(line) never closes"
        }
    }
}
