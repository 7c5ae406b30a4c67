// The Chinese names of the protocol's fields and the Chinese labels of its enumerated values,
// as county bureaus write them in their spreadsheets (issue 15). They are read in feeds only:
// a feed's header or cell written in Chinese is mapped to the protocol's field name or code
// before validation and before signing, so what crosses the wire is exactly what an English
// file gives (section 3 of docs/protocol.md does not change).
//
// The names and labels themselves are in the record catalogue (Catalogue/RecordCatalogue.swift);
// headers are matched by the catalogue's one matcher (`RecordCatalogue.match(header:)`); this
// file gives the feed readers and `sti template` the names and labels by protocol field name.

/// Chinese field names and value labels, and their protocol equivalents.
public enum ChineseNames {
    /// Each field's Chinese column header (the unit in brackets where it has one), from the
    /// record catalogue.
    static let fieldNames: [(MessageField, String)] =
        MessageField.allCases.map { ($0, RecordCatalogue.spec($0).chineseName) }.filter { !$0.1.isEmpty }

    /// Each enumerated field's labels: Chinese label → protocol code, from the record catalogue.
    static let labels: [MessageField: [(String, String)]] = Dictionary(
        uniqueKeysWithValues:
            MessageField.allCases.compactMap { field in
                let values = RecordCatalogue.spec(field).values
                return values.isEmpty ? nil : (field, values.map { ($0.label, $0.code) })
            })

    private static let codeByLabel: [MessageField: [String: String]] =
        labels.mapValues { Dictionary(uniqueKeysWithValues: $0.map { (RecordCatalogue.headerKey($0.0), $0.1) }) }

    /// The field a column header names (`RecordCatalogue.match(header:)`, the one header
    /// matcher), nil for an unknown or ambiguous header.
    static func protocolField(forHeader header: String) -> MessageField? {
        RecordCatalogue.field(forHeader: header)?.field
    }

    /// The protocol code a Chinese label stands for in `field` (`技术服务` → `service` for
    /// `contract_type`; `其他` is `other` for both `performer` and `domain`), spaces around it
    /// ignored. Nil when the field has no labels or the text is not one of them (a code written
    /// in English is left as it is).
    static func protocolCode(forLabel label: String, field: MessageField) -> String? {
        guard let table = codeByLabel[field] else { return nil }
        return table[RecordCatalogue.headerKey(label)]
    }

    // MARK: For the feed readers and `sti template` (STIPipeline), by field name.

    /// The protocol field name a column header names (see `protocolField(forHeader:)`).
    public static func protocolFieldName(forHeader header: String) -> String? { protocolField(forHeader: header)?.name }

    /// Whether the field (by protocol name) has Chinese labels for its values.
    public static func hasLabels(fieldName: String) -> Bool {
        MessageField.allCases.first { $0.name == fieldName }.map { labels[$0] != nil } ?? false
    }

    /// The protocol code for a label of the field named `fieldName` (see `protocolCode(forLabel:field:)`).
    public static func protocolCode(forLabel label: String, fieldName: String) -> String? {
        guard let field = MessageField.allCases.first(where: { $0.name == fieldName }) else { return nil }
        return protocolCode(forLabel: label, field: field)
    }

    /// The Chinese header of a field (by protocol name), as in the table above.
    public static func chineseName(fieldName: String) -> String? {
        fieldNames.first { $0.0.name == fieldName }?.1
    }

    /// The labels of a field (by protocol name): (Chinese label, protocol code), in table order.
    public static func labels(fieldName: String) -> [(label: String, code: String)] {
        guard let field = MessageField.allCases.first(where: { $0.name == fieldName }) else { return [] }
        return (labels[field] ?? []).map { (label: $0.0, code: $0.1) }
    }
}
