// Protocol section 5a: plausibility checks (核实性审核).
//
// Pure decisions over validated records: given the incoming record and the previous year's
// current active record of the same identity (nil when there is none), which warnings fire.
// The caller (the aggregator, at the moment it applies a message, in partition order; or an
// offline check over the rows of files) finds that previous record with
// `Plausibility.previousYearIdentity(of:)`, and decides what a warning does: hold the message
// when it has no `explanation`, or keep the warnings with the accepted record when it has one.
//
// Every comparison is exact integer arithmetic on the scaled amounts (`ExactAmount.scaled`,
// value × 10^4) widened to Int128, so that no figure a record can hold, even one decoded from
// a damaged state file, can overflow; never binary floating point.

/// The warning codes of section 5a, in the table's order (the order warnings are listed in).
public enum WarningCode: String, CaseIterable, Sendable, Hashable, Codable, Comparable {
    case yoyChange = "W_YOY_CHANGE"
    case largeContract = "W_LARGE_CONTRACT"
    case lowTransactionShare = "W_LOW_TRANSACTION_SHARE"

    private var order: Int { WarningCode.allCases.firstIndex(of: self)! }
    public static func < (a: WarningCode, b: WarningCode) -> Bool { a.order < b.order }
}

/// A figure a warning names, exact and in the field's own unit (万元, 亿元, 万人, or a count),
/// never converted.
public enum WarningFigure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A decimal amount (R&D expenditure, GDP, …).
    case amount(ExactAmount)
    /// A count (high-tech enterprises, invention patents held).
    case count(Int64)

    /// The value × 10^4, widened so that no comparison can overflow.
    var scaled: Int128 {
        switch self {
        case .amount(let a): Int128(a.scaled)
        case .count(let c): Int128(c) * 10_000
        }
    }

    /// Section 7's number format: `1234.5`, `3000` (no exponent, trailing zeros dropped).
    public var description: String {
        switch self {
        case .amount(let a): a.description
        case .count(let c): String(c)
        }
    }
}

/// One rule of section 5a that fired for one field of a record.
public struct PlausibilityWarning: Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: WarningCode
    /// The protocol field that fired (section 3 name): for `W_LOW_TRANSACTION_SHARE`
    /// the technology transaction value, for `W_LARGE_CONTRACT` the contract value.
    public var field: String
    /// The figure that fired.
    public var value: WarningFigure
    /// `W_YOY_CHANGE`: the previous year's figure; `W_LOW_TRANSACTION_SHARE`: the contract
    /// value; `W_LARGE_CONTRACT`: nil (section 8's `compared_with`).
    public var comparedWith: WarningFigure?
    /// What fired, naming both figures, without the fix: for an offline check, which words its
    /// own fix ("add an `explanation` column").
    public var finding: String

    public init(code: WarningCode, field: String, value: WarningFigure, comparedWith: WarningFigure?, finding: String) {
        self.code = code
        self.field = field
        self.value = value
        self.comparedWith = comparedWith
        self.finding = finding
    }

    /// The fix a consumed message's notice gives (section 5a: a held message is sent again with
    /// an explanation).
    public static let resendFix = "if it is right, send the record again with an `explanation` saying why (section 5a)"

    /// The notice's text: the finding and the fix.
    public var message: String { "\(finding); \(Self.resendFix)" }

    public var description: String { "\(code.rawValue) \(field): \(message)" }
}

/// The plausibility rules of section 5a, as tables.
public enum Plausibility {
    /// Section 5a's bound of a county-profile figure: |new − old| > percent % × old fires.
    public struct ProfileBound: Sendable, Hashable {
        public var field: String
        public var percent: Int
        let figure: @Sendable (CountyProfile) -> WarningFigure?

        public static func == (a: ProfileBound, b: ProfileBound) -> Bool {
            a.field == b.field && a.percent == b.percent
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(field)
            hasher.combine(percent)
        }
    }

    /// `W_YOY_CHANGE` bounds for `sti.county-profile/1`, in section 3's field order.
    public static let profileBounds: [ProfileBound] = [
        ProfileBound(field: MessageField.gdp.name, percent: 30) { $0.gdp.map(WarningFigure.amount) },
        ProfileBound(field: MessageField.residentPopulation.name, percent: 10) {
            $0.residentPopulation.map(WarningFigure.amount)
        },
        ProfileBound(field: MessageField.highTechEnterprises.name, percent: 50) {
            $0.highTechEnterprises.map(WarningFigure.count)
        },
        ProfileBound(field: MessageField.inventionPatentsHeld.name, percent: 50) {
            $0.inventionPatentsHeld.map(WarningFigure.count)
        },
        ProfileBound(field: MessageField.industrialOutput.name, percent: 40) {
            $0.industrialOutput.map(WarningFigure.amount)
        },
        ProfileBound(field: MessageField.highTechIndustrialOutput.name, percent: 50) {
            $0.highTechIndustrialOutput.map(WarningFigure.amount)
        },
    ]

    /// `W_LARGE_CONTRACT`: a contract value of 10,000 万元 (1 亿元) or more.
    public static let largeContractThreshold = ExactAmount(whole: 10_000)
    /// `W_LOW_TRANSACTION_SHARE` applies from this contract value on.
    public static let lowShareMinimumContract = ExactAmount(whole: 100)
    /// `W_LOW_TRANSACTION_SHARE`: a technology transaction value below this share of the
    /// contract value fires.
    public static let lowSharePercent = 10

    /// The identity (`Record.identity`) of "the previous year's record" of section 5a: same
    /// county, `year` − 1, same performer for R&D. Nil for a contract, which has no year-on-year
    /// rule.
    public static func previousYearIdentity(of record: Record) -> String? {
        switch record.body {
        case .rd(var r):
            r.year -= 1
            return Record(county: record.county, revision: 1, submittedAt: "", body: .rd(r)).identity
        case .countyProfile(let p):
            return Record(
                county: record.county, revision: 1, submittedAt: "",
                body: .countyProfile(CountyProfile(year: p.year - 1))
            ).identity
        case .techContract:
            return nil
        }
    }

    /// The warnings of section 5a for `record`, given the previous year's current record of its
    /// identity (nil when there is none): one per rule and field, in section 5a's order, then
    /// section 3's field order. Empty for a withdrawn record (only active ones are checked); a
    /// previous-year record that is not active counts as none.
    ///
    /// - Precondition: `previousYear`, when given, has the identity
    ///   `previousYearIdentity(of: record)` (a caller bug otherwise).
    public static func warnings(for record: Record, previousYear: Record?) -> [PlausibilityWarning] {
        if let previousYear {
            precondition(
                previousYear.identity == previousYearIdentity(of: record),
                "Plausibility: \(previousYear.identity) is not the previous year's record of \(record.identity)")
        }
        guard record.isActive else { return [] }
        let previous = previousYear?.isActive == true ? previousYear : nil
        var out: [PlausibilityWarning] = []
        switch record.body {
        case .rd(let r):
            if case .rd(let old)? = previous?.body,
                let w = rdChange(
                    field: MessageField.expenditure.name, new: .amount(r.expenditure), old: .amount(old.expenditure),
                    oldYear: old.year)
            {
                out.append(w)
            }
        case .countyProfile(let p):
            if case .countyProfile(let old)? = previous?.body {
                for bound in profileBounds {
                    guard let new = bound.figure(p), let was = bound.figure(old) else { continue }
                    if let w = profileChange(bound, new: new, old: was, oldYear: old.year) { out.append(w) }
                }
            }
        case .techContract(let c):
            if c.contractValue >= largeContractThreshold {
                out.append(
                    PlausibilityWarning(
                        code: .largeContract, field: MessageField.contractValue.name, value: .amount(c.contractValue),
                        comparedWith: nil,
                        finding:
                            "\(MessageField.contractValue.name) \(c.contractValue) is \(largeContractThreshold) 万元 (1 亿元) or more"
                    ))
            }
            if c.contractValue >= lowShareMinimumContract,
                Int128(c.techTransactionValue.scaled) * 100 < Int128(c.contractValue.scaled) * Int128(lowSharePercent)
            {
                out.append(
                    PlausibilityWarning(
                        code: .lowTransactionShare, field: MessageField.techTransactionValue.name,
                        value: .amount(c.techTransactionValue),
                        comparedWith: .amount(c.contractValue),
                        finding:
                            "\(MessageField.techTransactionValue.name) \(c.techTransactionValue) is less than \(lowSharePercent) % "
                            + "of \(MessageField.contractValue.name) \(c.contractValue)"))
            }
        }
        return out
    }

    /// `warnings(for:previousYear:)` with the previous year's record looked up by identity
    /// (`current` returns the current record of an identity, withdrawn ones included, or nil).
    public static func warnings(for record: Record, current: (String) throws -> Record?) rethrows
        -> [PlausibilityWarning]
    {
        guard record.isActive else { return [] }
        let previous = try previousYearIdentity(of: record).flatMap(current)
        return warnings(for: record, previousYear: previous)
    }

    // MARK: The year-on-year rules

    /// `sti.rd/1`: more than twice the previous year's, less than half of it, or exactly one of
    /// the two is 0.
    static func rdChange(field: String, new: WarningFigure, old: WarningFigure, oldYear: Int) -> PlausibilityWarning? {
        let n = new.scaled
        let o = old.scaled
        let what: String
        if (n == 0) != (o == 0) {
            what = "\(field) \(new) where \(oldYear)'s was \(old)"
        } else if n > 2 * o {
            what = "\(field) \(new) is more than twice \(oldYear)'s \(old)"
        } else if 2 * n < o {
            what = "\(field) \(new) is less than half of \(oldYear)'s \(old)"
        } else {
            return nil
        }
        return PlausibilityWarning(code: .yoyChange, field: field, value: new, comparedWith: old, finding: what)
    }

    /// `sti.county-profile/1`: |new − old| > bound × old, or exactly one of the two is 0.
    static func profileChange(_ bound: ProfileBound, new: WarningFigure, old: WarningFigure, oldYear: Int)
        -> PlausibilityWarning?
    {
        let n = new.scaled
        let o = old.scaled
        let what: String
        if (n == 0) != (o == 0) {
            what = "\(bound.field) \(new) where \(oldYear)'s was \(old)"
        } else if (n - o).magnitude * 100 > o.magnitude * UInt128(bound.percent) {
            what = "\(bound.field) \(new) differs from \(oldYear)'s \(old) by more than \(bound.percent) %"
        } else {
            return nil
        }
        return PlausibilityWarning(code: .yoyChange, field: bound.field, value: new, comparedWith: old, finding: what)
    }
}
