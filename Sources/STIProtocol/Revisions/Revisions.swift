// Protocol section 5: which of two records with one identity is current.
//
// Pure decisions over validated records; the state store owns the current records and acts on
// the outcome (replace, count a duplicate, or reject with a revision code).

/// What a valid incoming record does to the current record of its identity (section 5).
public enum RevisionOutcome: Sendable, Hashable {
    /// The incoming record becomes current (no current record yet, or a higher revision).
    case applied
    /// Same revision and same values as the current record (`submitted_at` and `explanation`
    /// aside): counted, changes nothing, not rejected.
    case duplicate
    /// Lower revision than the current one: `E_STALE_REVISION`.
    case stale(currentRevision: Int)
    /// Same revision, different values: `E_REVISION_CONFLICT`; the current (first) one stands.
    case conflict(currentRevision: Int)

    /// The rejection code for a stale or conflicting record, nil for applied and duplicate.
    public var errorCode: ErrorCode? {
        switch self {
        case .applied, .duplicate: nil
        case .stale: .staleRevision
        case .conflict: .revisionConflict
        }
    }
}

/// Decides what `incoming` does, given the current record of the same identity (nil when the
/// identity has none). A withdrawn current record still holds its revision, so a withdrawal
/// can itself be stale or duplicated, and only a higher revision revives the identity.
///
/// - Precondition: `current`, when given, has the identity of `incoming` (a caller bug
///   otherwise: the state store looks the current record up by `incoming.identity`).
public func decideRevision(current: Record?, incoming: Record) -> RevisionOutcome {
    guard let current else { return .applied }
    precondition(
        current.identity == incoming.identity,
        "decideRevision: current record \(current.identity) is not of identity \(incoming.identity)")
    if incoming.revision > current.revision { return .applied }
    if incoming.revision < current.revision { return .stale(currentRevision: current.revision) }
    return incoming.hasSameValues(as: current) ? .duplicate : .conflict(currentRevision: current.revision)
}

extension Record {
    /// Whether two records carry the same field values, `submitted_at` and `explanation` aside
    /// (section 5: re-sending the current record with an explanation added is a duplicate).
    /// Amounts compare by exact value (`100.5` and `100.50` parse to one `ExactAmount`), and
    /// an absent `status` was decoded as `active`, so it equals an explicit `active`.
    public func hasSameValues(as other: Record) -> Bool {
        county == other.county && revision == other.revision && status == other.status && body == other.body
    }
}
