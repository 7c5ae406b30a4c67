// Validation of one submission message (protocol sections 3, 4 and 6). Field names, bounds
// and rule texts come from the record catalogue (`RecordCatalogue`); each message after the
// rule quotes the value seen and names the fix where one is known (`ValueHint`).
//
// Order: size, encoding, JSON, schema; a message failing one of these gets that one code
// alone. Past them every applicable error is collected, authentication included, so a bureau
// sees everything wrong with a message at once.
//
// Decisions where the protocol is silent (also listed in the project's report):
// - One error per field: a field's rules are tried in the order presence, type, precision,
//   value (range, period, enumeration) and only the first broken one is reported; rules
//   between two fields (`E_INCONSISTENT`) are checked only when both fields are themselves valid.
// - An integer field (the catalogue's `.integer` fields: year, revision and the two counts)
//   given with a decimal point, even `2026.0`, is `E_PRECISION` "must be an integer without a
//   decimal point": the spec's "a fraction where an integer is required", read literally on
//   the text, because a producer writing `2026.0` is sending floating point.
// - Exponent form (`1e3`, `2.026E3`) is `E_PRECISION` for every number, integer fields too.
// - `-0` (and `-0.00`) reads as zero: numbers are compared by value.
// - A literal too large to hold is `E_RANGE` (`E_PERIOD` for `year`), never a crash.
// - A contract's technology transaction value must itself be within 0…10,000,000,000
//   (`E_RANGE`), and not above its contract value (`E_INCONSISTENT`).
// - The buyer's country is checked for shape only (two letters A–Z), as the spec says; `XX` passes.
// - A field of another schema (an R&D performer in a contract) is `E_FIELD_UNKNOWN`. A member whose
//   value is `null` is absent, so an unknown field set to `null` is not reported.
// - At most 20 `E_FIELD_UNKNOWN` errors are listed, then one summarising the rest (field nil):
//   a 64 KiB message can carry ten thousand keys, and the rejection notice must stay small.
//   Field names from the message are cut to 64 characters in errors.
// - `E_KEY_MISMATCH` when the key is missing or empty has field nil; when `county` differs
//   from the key, field `county`. `E_PARTITION` (field nil) is judged on the key alone, so a
//   message whose county differs from its key may get both.
// - `E_AUTH` names the header at fault as its field (`sti-key-id`, `sti-signature`), or nil
//   for an unsigned message.
// - `explanation` (section 3) is counted in Unicode scalar values after JSON escapes are decoded
//   (`\u00e9` is one); an escaped surrogate pair is one scalar. Empty, longer than 2,000, or only
//   `White_Space` scalars is `E_RANGE`; a non-string is `E_TYPE`.
// - "Today" and "the current year" (section 3) are the UTC+8 date of the message's Kafka
//   timestamp when the message was consumed (`timestampSource` `.broker` or `.producer`, and a
//   timestamp ≥ 0; librdkafka gives -1 when a message has none, and then the clock is used);
//   offline checks (`.localClock`) use the validator's clock.
// - Errors are ordered by code (section 6's table order), then by field in schema order, then
//   unknown fields in message order: a stable order independent of key order in the message.
public import Foundation

/// Why a message was rejected: all its errors, in a stable order, and the record's `county`
/// when the message had one as a string (for the rejection notice).
public struct ValidationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var errors: [FieldError]
    public var county: String?

    public init(errors: [FieldError], county: String?) {
        self.errors = errors
        self.county = county
    }

    /// The distinct codes, in the errors' order.
    public var codes: [ErrorCode] {
        var seen: [ErrorCode] = []
        for e in errors where !seen.contains(e.code) { seen.append(e.code) }
        return seen
    }

    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// Turns a message from a submission topic into a `Record`, or says everything wrong with it
/// (protocol sections 3, 4, 6). Cheap to copy and safe to share between threads.
public struct MessageValidator: Sendable {
    /// Section 2: a value longer than this is `E_SIZE`.
    public static let maxValueBytes = 65_536

    /// One slot per field of the catalogue.
    static let fieldCount = MessageField.allCases.count

    public let registry: Registry
    /// Nil: authentication disabled, unsigned messages accepted.
    public let keyRing: KeyRing?
    private let today: @Sendable () -> CalendarDate

    /// `today` gives the current date in UTC+8, the protocol's "today" for `year` and
    /// a contract's registration date in offline checks (messages with `timestampSource` `.localClock`); a
    /// consumed message is judged on its own timestamp (section 3). Tests inject a fixed one.
    public init(registry: Registry, keyRing: KeyRing?, today: @escaping @Sendable () -> CalendarDate) {
        self.registry = registry
        self.keyRing = keyRing
        self.today = today
    }

    /// `now` is the wall clock; the UTC+8 date is derived from it for each offline check (a
    /// consumed message is judged on its own timestamp).
    public init(registry: Registry, keyRing: KeyRing?, now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(registry: registry, keyRing: keyRing, today: { CalendarDate.inUTCPlus8(now()) })
    }

    /// Validates one message from the topic `message.topicKind` names.
    public func validate(_ message: InboundMessage) -> Result<Record, ValidationFailure> {
        let value = message.value
        guard value.count <= Self.maxValueBytes else {
            return .failure(alone(.size, "the value is \(value.count) bytes, more than \(Self.maxValueBytes)"))
        }
        if let bad = UTF8Validation.firstInvalidOffset(value) {
            return .failure(alone(.encoding, "the value is not valid UTF-8 (at byte \(bad))"))
        }
        return withUnsafeTemporaryAllocation(of: JSONSpan.self, capacity: Self.fieldCount) { buffer in
            let slots = buffer.baseAddress!
            slots.initialize(repeating: .absent, count: Self.fieldCount)
            defer { slots.deinitialize(count: Self.fieldCount) }
            var scanner = JSONScanner(value)
            var visitor = TopLevelFields(slots: slots)
            do {
                try scanner.scanTopLevelObject(&visitor)
            } catch {
                return .failure(alone(.json, "the value is not one JSON object: \(error)"))
            }
            var check = FieldChecks(text: scanner, slots: slots)
            return check.run(validator: self, message: message, unknown: visitor.unknown)
        }
    }

    private func alone(_ code: ErrorCode, _ text: String) -> ValidationFailure {
        ValidationFailure(errors: [FieldError(code, field: nil, text)], county: nil)
    }

    /// Section 3: "today" for a message. A consumed message's is the UTC+8 date of its Kafka
    /// timestamp, so a rebuild years later judges it as it was judged when it arrived; an
    /// offline check's (or a consumed message without a timestamp's) is the clock's.
    fileprivate func today(for message: InboundMessage) -> ProtocolToday {
        if message.timestampSource != .localClock, message.timestampMillis >= 0 {
            return ProtocolToday(date: CalendarDate.inUTCPlus8(epochMillis: message.timestampMillis), fromMessage: true)
        }
        return ProtocolToday(date: today(), fromMessage: false)
    }
}

/// "Today" in UTC+8 for one message, and where it came from (for the error text).
private struct ProtocolToday {
    var date: CalendarDate
    /// From the message's Kafka timestamp (else from the clock).
    var fromMessage: Bool

    var yearRule: String {
        fromMessage
            ? "must be between 2000 and \(date.year), the year of the message's Kafka timestamp in UTC+8"
            : "must be between 2000 and \(date.year) (the current year in UTC+8)"
    }

    var dateRule: String {
        fromMessage
            ? "must not be after \(date), the day of the message's Kafka timestamp in UTC+8"
            : "must not be after today (\(date) in UTC+8)"
    }
}

/// Collects the top-level members into one slot per known field; remembers unknown keys.
private struct TopLevelFields: JSONTopLevelVisitor {
    let slots: UnsafeMutablePointer<JSONSpan>
    /// Keys not naming any protocol field, with non-null values, in message order.
    var unknown: [JSONSpan] = []

    mutating func member(key: JSONSpan, value: JSONSpan, scanner: JSONScanner) throws(JSONSyntaxError) -> Bool {
        guard let field = MessageField.lookup(key, in: scanner) else {
            if value.kind != .null { unknown.append(key) }
            return false
        }
        guard slots[field.rawValue].kind == .absent else { throw scanner.duplicate(key) }
        slots[field.rawValue] = value
        return true
    }
}

private enum Tables {
    static let performers = ByteEnumTable(Performer.self)
    static let contractTypes = ByteEnumTable(ContractType.self)
    static let domains = ByteEnumTable(TechDomain.self)
    static let statuses = ByteEnumTable(RecordStatus.self)
    static let schemas = ByteEnumTable(RecordKind.allCases.map { ($0.schema, $0) })
}

/// The field checks past the first four, over one scanned message.
private struct FieldChecks {
    let text: JSONScanner
    let slots: UnsafeMutablePointer<JSONSpan>
    var errors: [FieldError] = []

    init(text: JSONScanner, slots: UnsafeMutablePointer<JSONSpan>) {
        self.text = text
        self.slots = slots
    }

    /// The catalogue's bounds and requiredness, by `MessageField.rawValue`, read once: the
    /// checks below touch only these plain values; rule texts are made only for an error.
    private static let bounds: [FieldBounds?] = MessageField.allCases.map { RecordCatalogue.spec($0).bounds }
    private static let optional: [Bool] = MessageField.allCases.map { RecordCatalogue.spec($0).optional }
    static func rule(_ f: MessageField) -> String { RecordCatalogue.spec(f).rule }

    mutating func run(validator: MessageValidator, message: InboundMessage, unknown: [JSONSpan]) -> Result<
        Record, ValidationFailure
    > {
        let expected = message.topicKind
        // Schema: alone when wrong.
        let countyText: String? = slot(.county).kind == .string ? text.string(slot(.county)) : nil
        let schemaSpan = slot(.schema)
        let kind: RecordKind
        switch schemaSpan.kind {
        case .absent:
            return .failure(
                ValidationFailure(
                    errors: [FieldError(.schema, field: MessageField.schema.name, "is missing")], county: countyText))
        case .string:
            guard let k = Tables.schemas.match(schemaSpan, in: text) else {
                return .failure(
                    ValidationFailure(
                        errors: [
                            FieldError(
                                .schema, field: MessageField.schema.name,
                                "\(ErrorText.quoted(text.string(schemaSpan))) is not a known schema (\(RecordKind.allCases.map(\.schema).joined(separator: ", ")))"
                            )
                        ],
                        county: countyText))
            }
            if k != expected {
                return .failure(
                    ValidationFailure(
                        errors: [
                            FieldError(
                                .schema, field: MessageField.schema.name,
                                "\(k.schema) does not belong on this topic, which carries \(expected.schema)")
                        ], county: countyText))
            }
            kind = k
        default:
            return .failure(
                ValidationFailure(
                    errors: [
                        FieldError(
                            .schema, field: MessageField.schema.name, "must be a string, not \(schemaSpan.kind.noun)")
                    ],
                    county: countyText))
        }

        // Unknown fields: names no schema has, and names of another schema.
        let allowed = MessageField.mask(of: kind)
        var strays: [(offset: Int, name: String)] = unknown.map { ($0.start, text.string($0)) }
        for raw in 0..<MessageValidator.fieldCount
        where allowed & (1 << UInt32(raw)) == 0 && slots[raw].kind != .absent && slots[raw].kind != .null {
            strays.append((slots[raw].start, MessageField(rawValue: raw)!.name))
        }

        // Common fields.
        var county: String?
        if string(.county) != nil, let c = countyText {
            if validator.registry.contains(c) {
                county = c
            } else {
                add(.county, .county, "\(ValueHint.quoted(c)) is not a code in the registry")
            }
        }
        if let key = message.key, key.count > 0 {
            if slot(.county).kind == .string, !text.stringEquals(slot(.county), key) {
                add(
                    .keyMismatch, .county,
                    "\(ErrorText.quoted(countyText!)) differs from the message key \(ErrorText.describeBytes(key))")
            }
            if let placement = message.placement, placement.partitionCount > 0 {
                let expected = Partitioner.partition(forKey: key, count: placement.partitionCount)
                if expected != placement.partition {
                    errors.append(
                        FieldError(
                            .partition, field: nil,
                            """
                            is on partition \(placement.partition) of \(placement.partitionCount), but its key \(ErrorText.describeBytes(key)) \
                            belongs on partition \(expected) (murmur2, section 2): send with the murmur2 partitioner, \
                            e.g. kcat -X partitioner=murmur2_random
                            """))
                }
            }
        } else {
            errors.append(
                FieldError(
                    .keyMismatch, field: nil, "the message key is missing or empty; it must be the record's county code"
                ))
        }
        let revision = integer(.revision)
        var status = RecordStatus.active
        if let s = string(.status, required: false) {
            if let v = Tables.statuses.match(s, in: text) { status = v } else { notInList(.status, s) }
        }
        var submittedOK = false
        if let s = string(.submittedAt) {
            let parsed = s.escaped ? RFC3339Timestamp.parse(text.string(s)) : RFC3339Timestamp.parse(text.bytes(s))
            if parsed != nil {
                submittedOK = true
            } else {
                add(.period, .submittedAt, Self.rule(.submittedAt) + ", not " + ValueHint.quoted(text.string(s)))
            }
        }

        var explanation: String?
        // Nearly every message has none: look at the slot before calling anything.
        if slots[MessageField.explanation.rawValue].kind != .absent, let s = string(.explanation, required: false) {
            explanation = self.explanation(s)
        }

        // Schema fields.
        let today = validator.today(for: message)
        var body: RecordBody?
        switch kind {
        case .rd:
            let year = self.year(today: today)
            let performer = enumeration(.performer, Tables.performers)
            let expenditure = amount(.expenditure)
            if let year, let performer, let expenditure {
                body = .rd(RDExpenditure(year: year, performer: performer, expenditure: expenditure))
            }
        case .techContract:
            let contractNo = self.contractNo()
            let registeredOn = self.registeredOn(today: today)
            let contractType = enumeration(.contractType, Tables.contractTypes)
            let domain = enumeration(.domain, Tables.domains)
            let value = amount(.contractValue)
            let transaction = amount(.techTransactionValue)
            let buyer = buyerCountry()
            if let value, let transaction, transaction > value {
                add(.inconsistent, .techTransactionValue, "must not exceed \(MessageField.contractValue.name)")
            }
            if let contractNo, let registeredOn, let contractType, let domain, let value, let transaction, let buyer {
                body = .techContract(
                    TechContract(
                        contractNo: contractNo, registeredOn: registeredOn, contractType: contractType,
                        domain: domain, contractValue: value, techTransactionValue: transaction,
                        buyerCountry: buyer))
            }
        case .countyProfile:
            let year = self.year(today: today)
            let gdp = amount(.gdp)
            let population = amount(.residentPopulation)
            let enterprises = integer(.highTechEnterprises)
            let patents = integer(.inventionPatentsHeld)
            let output = amount(.industrialOutput)
            let highTech = amount(.highTechIndustrialOutput)
            if let output, let highTech, highTech > output {
                add(.inconsistent, .highTechIndustrialOutput, "must not exceed \(MessageField.industrialOutput.name)")
            }
            if let year {
                body = .countyProfile(
                    CountyProfile(
                        year: year, gdp: gdp, residentPopulation: population,
                        highTechEnterprises: enterprises, inventionPatentsHeld: patents,
                        industrialOutput: output, highTechIndustrialOutput: highTech))
            }
        }

        // Unknown fields, in message order, capped.
        strays.sort { $0.offset < $1.offset }
        for (n, stray) in strays.enumerated() {
            if n == 20 {
                errors.append(
                    FieldError(.fieldUnknown, field: nil, "and \(strays.count - 20) more fields not in \(kind.schema)"))
                break
            }
            errors.append(
                FieldError(.fieldUnknown, field: ErrorText.fieldName(stray.name), "is not a field of \(kind.schema)"))
        }

        // Authentication, on every message that got this far.
        if let ring = validator.keyRing {
            let keyCounty =
                countyText
                ?? message.key.flatMap { UTF8Validation.isValid($0) ? String(decoding: $0, as: UTF8.self) : nil }
            if let failure = ring.verify(
                keyId: message.keyIdHeader, signature: message.signatureHeader, county: keyCounty,
                value: message.value, at: message.timestampMillis,
                timestampTrusted: message.timestampSource.isTrusted)
            {
                errors.append(failure)
            }
        }

        // `take()` moves the values out. Once `Record` grew `explanation`, the optimiser copied
        // the record here (a retain and a release per string, seen with perf), and validation
        // was about 8 % slower; with the moves it is as fast as before.
        guard errors.isEmpty, let county = county.take(), let revision, submittedOK, let body = body.take() else {
            return .failure(ValidationFailure(errors: ordered(errors), county: countyText))
        }
        return .success(
            Record(
                county: county, revision: Int(revision), status: status,
                submittedAt: text.string(slot(.submittedAt)), explanation: explanation.take(), body: body))
    }

    /// Stable order: by code, then by the order the checks ran (schema field order, then
    /// unknown fields in message order).
    private func ordered(_ errors: [FieldError]) -> [FieldError] {
        errors.enumerated().sorted { ($0.element.code, $0.offset) < ($1.element.code, $1.offset) }.map(\.element)
    }

    // MARK: Field readers. Each reports at most one error and returns nil when it did (or
    // when an optional field is absent).

    /// The value of a field; `null` counts as absent.
    private func slot(_ f: MessageField) -> JSONSpan {
        let s = slots[f.rawValue]
        return s.kind == .null ? .absent : s
    }

    private mutating func add(_ code: ErrorCode, _ f: MessageField, _ message: String) {
        errors.append(FieldError(code, field: f.name, message))
    }

    /// Presence and type. Nil after reporting a missing required field or a wrong type.
    private mutating func present(_ f: MessageField, _ kind: JSONKind, required: Bool, noun: String) -> JSONSpan? {
        let s = slot(f)
        if s.kind == .absent {
            if required { add(.fieldMissing, f, "is required") }
            return nil
        }
        guard s.kind == kind else {
            add(.type, f, "must be \(noun), not \(s.kind.noun)" + typeHint(f, s))
            return nil
        }
        return s
    }

    /// The value seen and the fix, for a wrong JSON type (issue 15): a number sent as a
    /// string (`"1,234.5"`), a code sent as a number. Free text (`explanation`) is never quoted.
    private func typeHint(_ f: MessageField, _ s: JSONSpan) -> String {
        switch s.kind {
        case .string: ValueHint.forNumberText(text.string(s))
        case .number where f != .explanation: ValueHint.forBareNumber(text.string(s))
        default: ""
        }
    }

    private mutating func string(_ f: MessageField, required: Bool = true) -> JSONSpan? {
        present(f, .string, required: required, noun: "a string")
    }

    private mutating func enumeration<E>(_ f: MessageField, _ table: ByteEnumTable<E>) -> E? {
        guard let s = string(f) else { return nil }
        guard let v = table.match(s, in: text) else {
            notInList(f, s)
            return nil
        }
        return v
    }

    /// `E_ENUM` with the value seen and, when the value is a Chinese label or a code in the
    /// wrong case, the code to write.
    private mutating func notInList(_ f: MessageField, _ s: JSONSpan) {
        add(.enumeration, f, Self.rule(f) + ValueHint.forCode(text.string(s), field: f))
    }

    /// `E_RANGE` (or `rangeCode`) with the literal seen.
    private mutating func outOfRange(_ f: MessageField, _ s: JSONSpan, _ code: ErrorCode = .range, rule: String? = nil)
    {
        add(code, f, (rule ?? Self.rule(f)) + ", not " + ValueHint.literal(text.bytes(s)))
    }

    /// An integer field in the catalogue's bounds (`year` passes its own).
    private mutating func integer(
        _ f: MessageField, range: ClosedRange<Int64>? = nil, rangeCode: ErrorCode = .range,
        rule: String? = nil
    ) -> Int64? {
        guard let s = present(f, .number, required: !Self.optional[f.rawValue], noun: "an integer") else { return nil }
        switch ExactNumber.read(text.bytes(s), scale: 0) {
        case .exponent: add(.precision, f, "must not be in exponent form" + ValueHint.forExponent(text.bytes(s)))
        case .tooPrecise:
            add(.precision, f, "must be an integer without a decimal point" + ValueHint.forFraction(text.bytes(s)))
        case .outOfRange: outOfRange(f, s, rangeCode, rule: rule)
        case .value(let v):
            let ok = range.map { $0.contains(v) } ?? Self.bounds[f.rawValue]!.contains(v)
            guard ok else {
                outOfRange(f, s, rangeCode, rule: rule)
                return nil
            }
            return v
        }
        return nil
    }

    /// An amount with at most 4 fractional digits, in the catalogue's bounds (scaled by 10^4).
    private mutating func amount(_ f: MessageField) -> ExactAmount? {
        guard let s = present(f, .number, required: !Self.optional[f.rawValue], noun: "a number") else { return nil }
        switch ExactNumber.read(text.bytes(s), scale: 4) {
        case .exponent: add(.precision, f, "must not be in exponent form" + ValueHint.forExponent(text.bytes(s)))
        case .tooPrecise:
            add(.precision, f, "must have at most 4 fractional digits" + ValueHint.forRounding(text.bytes(s)))
        case .outOfRange: outOfRange(f, s)
        case .value(let v):
            guard Self.bounds[f.rawValue]!.contains(v) else {
                outOfRange(f, s)
                return nil
            }
            return ExactAmount(scaled: v)
        }
        return nil
    }

    private mutating func year(today: ProtocolToday) -> Int? {
        let before = errors.count
        let upper = Int64(today.date.year)
        // A message stamped before 2000 (timestamp 0 is 1970) allows no year at all: the range
        // is empty, which `ClosedRange` cannot express.
        let v = integer(.year, range: 2000...max(2000, upper), rangeCode: .period, rule: "")
        if let v, v <= upper { return Int(v) }
        if let v { add(.period, .year, ", not \(v)") }
        // The rule text names today's year, so it is made only when needed (the value seen
        // follows it).
        if errors.count > before, errors[before].code == .period, errors[before].message.hasPrefix(", not ") {
            errors[before].message = today.yearRule + errors[before].message
        }
        return nil
    }

    /// Section 3: 1 to 2,000 Unicode scalar values, not only white space (`White_Space`).
    private mutating func explanation(_ s: JSONSpan) -> String? {
        let value = text.string(s)
        var count = 0
        var onlyWhiteSpace = true
        for scalar in value.unicodeScalars {
            count += 1
            if onlyWhiteSpace && !scalar.properties.isWhitespace { onlyWhiteSpace = false }
        }
        guard count >= 1, count <= Self.maxExplanationScalars else {
            add(.range, .explanation, "must be 1 to 2000 characters (Unicode scalar values), not \(count)")
            return nil
        }
        guard !onlyWhiteSpace else {
            add(.range, .explanation, "must not be only white space: say why the figures are right")
            return nil
        }
        return value
    }

    static let maxExplanationScalars = 2_000

    private mutating func registeredOn(today: ProtocolToday) -> CalendarDate? {
        guard let s = string(.registeredOn) else { return nil }
        let parsed = s.escaped ? CalendarDate.parse(text.string(s)) : CalendarDate.parse(text.bytes(s))
        guard let date = parsed else {
            add(.period, .registeredOn, Self.rule(.registeredOn) + ValueHint.forDate(text.string(s)))
            return nil
        }
        guard date.year >= 2000 else {
            add(.period, .registeredOn, "must be in 2000 or later, not \(date)")
            return nil
        }
        if date > today.date {
            add(.period, .registeredOn, today.dateRule + ", not \(date)")
            return nil
        }
        return date
    }

    private mutating func contractNo() -> String? {
        guard let s = string(.contractNo) else { return nil }
        var count = 0
        var good = true
        text.forEachDecodedByte(s) { b in
            count += 1
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"):
                break
            default: good = false
            }
        }
        guard good, (1...64).contains(count) else {
            add(.range, .contractNo, Self.rule(.contractNo) + ", not " + ValueHint.quoted(text.string(s)))
            return nil
        }
        return text.string(s)
    }

    private mutating func buyerCountry() -> String? {
        guard let s = string(.buyerCountry) else { return nil }
        var count = 0
        var good = true
        text.forEachDecodedByte(s) { b in
            count += 1
            if !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) { good = false }
        }
        guard good, count == 2 else {
            add(
                .enumeration, .buyerCountry,
                Self.rule(.buyerCountry) + ValueHint.forCode(text.string(s), field: .buyerCountry))
            return nil
        }
        return text.string(s)
    }
}
