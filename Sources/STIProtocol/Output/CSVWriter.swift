// RFC 4180 writing of the three snapshot tables (section 8): UTF-8 without a byte-order
// mark, comma separated, CRLF line ends, a field quoted when it holds a comma, quote, CR or
// LF, and the spreadsheet guard on text cells.

/// One CSV cell. Only `number` cells skip the spreadsheet guard, and only when their text
/// really is a plain non-negative decimal numeral (or empty): a column declared numeric
/// cannot smuggle a formula through.
public enum CSVCell: Sendable, Hashable {
    case text(String)
    case number(String)

    public static func int(_ v: some BinaryInteger) -> CSVCell { .number(String(v)) }
}

/// Renders RFC 4180 CSV text with the spreadsheet guard of section 8. The rules live in
/// `CSVLine`; these are its `String` forms for small tables.
public enum CSVWriter {
    /// Characters that make a spreadsheet program treat a cell as a formula when they come first.
    public static let guardedLeadingCharacters: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// One field, guarded then quoted as needed.
    public static func field(_ cell: CSVCell) -> String {
        var line = CSVLine()
        line.cell(cell)
        return String(decoding: line.bytes, as: UTF8.self)
    }

    /// One record: fields joined by commas, ended by CRLF.
    public static func line(_ cells: [CSVCell]) -> String {
        var line = CSVLine()
        for cell in cells { line.cell(cell) }
        line.end()
        return String(decoding: line.bytes, as: UTF8.self)
    }

    /// A header line and the data lines.
    public static func document(header: [String], rows: [[CSVCell]]) -> String {
        var out = line(header.map(CSVCell.text))
        for r in rows { out += line(r) }
        return out
    }
}

/// One CSV line built as bytes: the one implementation of section 8's cell rules (the
/// spreadsheet guard, RFC 4180 quoting, commas, CRLF). Files of a million rows (`records/`)
/// are written through it without a `String` per cell; `CSVWriter` is its `String` form.
public struct CSVLine: Sendable {
    /// The line so far (cells and separators; CRLF after `end()`).
    public private(set) var bytes: [UInt8] = []
    private var cells = 0

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Empties the line, keeping its storage, for the next one.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        cells = 0
    }

    /// Appends a whole line already built (ended by CRLF), after the lines before it.
    public mutating func append(line: [UInt8]) {
        bytes.append(contentsOf: line)
        cells = 0
    }

    /// Ends the line: CRLF.
    public mutating func end() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        cells = 0
    }

    public mutating func cell(_ cell: CSVCell) {
        switch cell {
        case .text(let t): text(t)
        case .number(let n): number(n)
        }
    }

    /// A text cell: `'` in front when it starts with a guarded character, then quoted when it
    /// holds a comma, quote, CR or LF (quotes doubled).
    public mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { append($0, guardable: true) }
    }

    /// A text cell from UTF-8 bytes (valid UTF-8: the caller's promise).
    public mutating func text(utf8: UnsafeRawBufferPointer) {
        append(
            UnsafeBufferPointer(start: utf8.baseAddress?.assumingMemoryBound(to: UInt8.self), count: utf8.count),
            guardable: true)
    }

    /// A text cell from bytes (valid UTF-8: the caller's promise), by the same rules.
    public mutating func text(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0, guardable: true) }
    }

    /// A number cell: written as it is when it is a plain numeral (digits, an optional
    /// fraction) or empty, and as a text cell (guarded) otherwise, so that a column declared
    /// numeric cannot smuggle a formula through.
    public mutating func number(_ text: String) {
        var text = text
        text.withUTF8 { append($0, guardable: !Self.isPlainNumeral($0)) }
    }

    /// An empty cell.
    public mutating func empty() { separate() }

    /// An integer as a number cell (`-5` is not a plain numeral: it is guarded as text is).
    public mutating func int(_ value: some BinaryInteger) {
        guard let magnitude = UInt64(exactly: value) else {
            number(String(value))
            return
        }
        separate()
        DecimalText.appendDigits(magnitude, to: &bytes)
    }

    /// `scaled / 10^fractionDigits` as section 7 writes numbers (`DecimalText`), as a number
    /// cell.
    public mutating func decimal(scaled: Int64, fractionDigits: Int) {
        if scaled < 0 {
            number(DecimalText.format(Int128(scaled), fractionDigits: fractionDigits))
            return
        }
        separate()
        DecimalText.append(scaled, fractionDigits: fractionDigits, to: &bytes)
    }

    private mutating func separate() {
        if cells > 0 { bytes.append(UInt8(ascii: ",")) }
        cells += 1
    }

    private mutating func append(_ utf8: UnsafeBufferPointer<UInt8>, guardable: Bool) {
        separate()
        let guarded = guardable && utf8.first.map(Self.isGuarded) == true
        var quoted = false
        for b in utf8 where b == UInt8(ascii: ",") || b == UInt8(ascii: "\"") || b == 0x0D || b == 0x0A {
            quoted = true
            break
        }
        if quoted { bytes.append(UInt8(ascii: "\"")) }
        if guarded { bytes.append(UInt8(ascii: "'")) }
        if quoted {
            for b in utf8 {
                bytes.append(b)
                if b == UInt8(ascii: "\"") { bytes.append(b) }
            }
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes.append(contentsOf: utf8)
        }
    }

    /// The first bytes that make a spreadsheet program read a cell as a formula: `=`, `+`,
    /// `-`, `@`, tab, CR (`CSVWriter.guardedLeadingCharacters`, all ASCII, so the first byte
    /// decides).
    static func isGuarded(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "=") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "@")
            || b == 0x09 || b == 0x0D
    }

    /// Empty, or digits with an optional fraction (`120.86`, `3000`): one pass, no allocation.
    static func isPlainNumeral(_ utf8: some Sequence<UInt8>) -> Bool {
        var digitsBefore = 0
        var digitsAfter = 0
        var points = 0
        for b in utf8 {
            if b == UInt8(ascii: ".") {
                points += 1
                if points > 1 { return false }
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if points == 0 { digitsBefore += 1 } else { digitsAfter += 1 }
            } else {
                return false
            }
        }
        if digitsBefore == 0 && points == 0 { return true }  // empty
        return digitsBefore > 0 && (points == 0 || digitsAfter > 0)
    }
}

/// The column names of `indicators.csv`, exactly as section 8 gives them.
public let indicatorsCSVHeader = [
    "year", "geo_code", "geo_name_zh", "geo_name_en", "indicator", "value", "unit",
    "status", "counties_reporting", "counties_expected",
]
/// The column names of `completeness.csv`.
public let completenessCSVHeader = ["year", "geo_code", "geo_name_zh", "kind", "records", "status"]
/// The column names of `rejections.csv`.
public let rejectionsCSVHeader = ["topic", "partition", "offset", "county", "codes", "first_message"]

/// One rejection of a run, as listed in `rejections.csv`.
public struct RejectionRow: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record's `county` when it was a string, else nil (empty cell).
    public var county: String?
    /// Every code reported, in the validator's order.
    public var codes: [ErrorCode]
    /// The `W_` codes of a held message (section 5a), listed after `codes`.
    public var warningCodes: [WarningCode]
    public var firstMessage: String

    public init(
        topic: String, partition: Int32, offset: Int64, county: String?, codes: [ErrorCode],
        warningCodes: [WarningCode] = [], firstMessage: String
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.county = county
        self.codes = codes
        self.warningCodes = warningCodes
        self.firstMessage = firstMessage
    }
}

/// The column names of `warnings.csv` (section 8); `explanation` is the record's field of that
/// name (section 3), spelt by the catalogue.
public let warningsCSVHeader = [
    "year", "geo_code", "kind", "identity", "code", "field", "value", "compared_with",
    "disposition", MessageField.explanation.name, "topic", "partition", "offset",
]

/// Why a warning is listed in `warnings.csv` (section 8).
public enum WarningDisposition: String, Sendable, Hashable, Codable {
    /// The current active record was accepted with an explanation.
    case explained
    /// The last held message of an identity for which no later message became current.
    case held
}

/// One row of `warnings.csv`: one warning (section 5a) of an explained current record or of a
/// held message.
public struct WarningRow: Sendable, Hashable {
    public var year: Int
    public var geoCode: String
    public var kind: RecordKind
    /// The performer, the contract number, or empty for a profile.
    public var identity: String
    public var warning: PlausibilityWarning
    public var disposition: WarningDisposition
    /// Empty for a held message.
    public var explanation: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(
        year: Int, geoCode: String, kind: RecordKind, identity: String, warning: PlausibilityWarning,
        disposition: WarningDisposition, explanation: String, topic: String, partition: Int32, offset: Int64
    ) {
        self.year = year
        self.geoCode = geoCode
        self.kind = kind
        self.identity = identity
        self.warning = warning
        self.disposition = disposition
        self.explanation = explanation
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The cells in `warnings.csv` column order. Figures are written as section 7 writes
    /// numbers, exact and in the field's own unit; `identity` and `explanation` are submitted
    /// text, so they are text cells and guarded.
    public var csvCells: [CSVCell] {
        [
            .int(year), .text(geoCode), .text(kind.rawValue), .text(identity), .text(warning.code.rawValue),
            .text(warning.field), .number(warning.value.description), .number(warning.comparedWith?.description ?? ""),
            .text(disposition.rawValue), .text(explanation), .text(topic), .int(partition), .int(offset),
        ]
    }
}

extension IndicatorRow {
    /// The cells of this row in `indicators.csv` column order.
    public var csvCells: [CSVCell] {
        [
            .int(year), .text(geoCode), .text(geoNameZh), .text(geoNameEn), .text(indicator.rawValue),
            .number(value), .text(unit), .text(status.rawValue), .int(countiesReporting), .int(countiesExpected),
        ]
    }
}

extension CompletenessRow {
    /// The cells of this row in `completeness.csv` column order.
    public var csvCells: [CSVCell] {
        [.int(year), .text(geoCode), .text(geoNameZh), .text(kind.rawValue), .int(records), .text(status.rawValue)]
    }
}

extension RejectionRow {
    /// The cells of this row in `rejections.csv` column order. `county` and `first_message`
    /// may carry submitted text, so they are text cells and always guarded.
    public var csvCells: [CSVCell] {
        [
            .text(topic), .int(partition), .int(offset), .text(county ?? ""),
            .text((codes.map(\.rawValue) + warningCodes.map(\.rawValue)).joined(separator: ";")), .text(firstMessage),
        ]
    }
}

extension CSVWriter {
    /// The whole of `indicators.csv`.
    public static func indicators(_ rows: [IndicatorRow]) -> String {
        document(header: indicatorsCSVHeader, rows: rows.map(\.csvCells))
    }
    /// The whole of `completeness.csv`.
    public static func completeness(_ rows: [CompletenessRow]) -> String {
        document(header: completenessCSVHeader, rows: rows.map(\.csvCells))
    }
    /// The whole of `rejections.csv`.
    public static func rejections(_ rows: [RejectionRow]) -> String {
        document(header: rejectionsCSVHeader, rows: rows.map(\.csvCells))
    }
    /// The whole of `warnings.csv`.
    public static func warnings(_ rows: [WarningRow]) -> String {
        document(header: warningsCSVHeader, rows: rows.map(\.csvCells))
    }
}
