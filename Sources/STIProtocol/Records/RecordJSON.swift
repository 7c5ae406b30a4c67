// Records back to protocol JSON (section 3): the values `sti submit` sends, and the key by
// which section 5 compares field values. (The state store keeps records in its own binary
// form, `StoredRecord`; JSON is read back only by the validator, as any message is.)
//
// Field names come from the catalogue (`RecordCatalogue`).
//
// Canonical form: compact (no whitespace), keys in the order of the spec's tables (common
// fields, then the schema's), `status` always written (`active` included, so the stored text
// says what the record is without knowing defaults), `explanation` and optional county-profile
// figures left out when absent, amounts in `DecimalText` form (`100.5`, `3000`: no exponent, no trailing
// zeros), strings escaped minimally (`"`, `\` and control characters; everything else as
// UTF-8). The output always passes `MessageValidator` for the same record.

/// Encodes records as canonical protocol JSON.
public enum RecordJSON {
    /// The record's protocol JSON, with its own `submitted_at`.
    public static func encode(_ record: Record) -> String {
        encode(record, submittedAt: record.submittedAt)
    }

    /// The record's protocol JSON with `submitted_at` replaced (for `sti submit`, which stamps
    /// the sending time).
    public static func encode(_ record: Record, submittedAt: String) -> String {
        write(record, submittedAt: submittedAt, explanation: true)
    }

    /// The record's field values for section 5's "same field values": the canonical JSON
    /// without `submitted_at` and `explanation` (both left out of the comparison). Numbers are
    /// compared by value because they are written in one form (`100.5` and `100.50` both
    /// become `100.5`), and an absent `status` was read as `active`, which is written out.
    public static func canonicalValuesKey(_ record: Record) -> String {
        write(record, submittedAt: nil, explanation: false)
    }

    /// `,"name":` per field, by `MessageField.rawValue` (names from the catalogue).
    private static let keys: [String] = MessageField.allCases.map { ",\"\($0.name)\":" }

    @inline(__always)
    private static func key(_ f: MessageField, _ out: inout String) { out += keys[f.rawValue] }

    private static func write(_ r: Record, submittedAt: String?, explanation: Bool) -> String {
        var out = ""
        out.reserveCapacity(400)
        out += "{"
        out += keys[MessageField.schema.rawValue].dropFirst()
        appendString(r.kind.schema, to: &out)
        key(.county, &out)
        appendString(r.county, to: &out)
        key(.revision, &out)
        out += String(r.revision)
        key(.status, &out)
        appendString(r.status.rawValue, to: &out)
        if let submittedAt {
            key(.submittedAt, &out)
            appendString(submittedAt, to: &out)
        }
        if explanation, let text = r.explanation {
            key(.explanation, &out)
            appendString(text, to: &out)
        }
        switch r.body {
        case .rd(let rd):
            key(.year, &out)
            out += String(rd.year)
            key(.performer, &out)
            appendString(rd.performer.rawValue, to: &out)
            key(.expenditure, &out)
            out += rd.expenditure.description
        case .techContract(let c):
            key(.contractNo, &out)
            appendString(c.contractNo, to: &out)
            key(.registeredOn, &out)
            out += "\"\(c.registeredOn)\""
            key(.contractType, &out)
            appendString(c.contractType.rawValue, to: &out)
            key(.domain, &out)
            appendString(c.domain.rawValue, to: &out)
            key(.contractValue, &out)
            out += c.contractValue.description
            key(.techTransactionValue, &out)
            out += c.techTransactionValue.description
            key(.buyerCountry, &out)
            appendString(c.buyerCountry, to: &out)
        case .countyProfile(let p):
            key(.year, &out)
            out += String(p.year)
            if let v = p.gdp {
                key(.gdp, &out)
                out += v.description
            }
            if let v = p.residentPopulation {
                key(.residentPopulation, &out)
                out += v.description
            }
            if let v = p.highTechEnterprises {
                key(.highTechEnterprises, &out)
                out += String(v)
            }
            if let v = p.inventionPatentsHeld {
                key(.inventionPatentsHeld, &out)
                out += String(v)
            }
            if let v = p.industrialOutput {
                key(.industrialOutput, &out)
                out += v.description
            }
            if let v = p.highTechIndustrialOutput {
                key(.highTechIndustrialOutput, &out)
                out += v.description
            }
        }
        out += "}"
        return out
    }

    /// A JSON string literal (`JSONText.string`: the one escaping rule of this module).
    static func appendString(_ s: String, to out: inout String) {
        out += JSONText.string(s)
    }
}

extension Record {
    /// Canonical protocol JSON (see `RecordJSON`).
    public var canonicalJSON: String { RecordJSON.encode(self) }
    /// The field values without `submitted_at` and `explanation`, for duplicate detection (section 5).
    public var canonicalValuesKey: String { RecordJSON.canonicalValuesKey(self) }
}
