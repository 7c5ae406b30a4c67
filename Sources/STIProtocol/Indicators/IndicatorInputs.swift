// Which columns of which record files (section 8 `records/`) each indicator of section 7 is
// formed from: what `sti explain` lists behind a figure. Column names come from the field table
// (`MessageField`), not spelt again here.

/// One input of an indicator: the records of one kind (current and active), optionally only
/// those whose `filterColumn` holds one of `filterValues`, summed over `column` (nil: counted).
public struct IndicatorInputSpec: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        /// An additive indicator's value.
        case value
        case numerator
        case denominator
    }

    public var role: Role
    public var kind: RecordKind
    /// The column summed; nil when the records are counted.
    public var column: String?
    public var filterColumn: String?
    public var filterValues: Set<String>

    init(
        _ role: Role, _ kind: RecordKind, _ column: MessageField?, filter: MessageField? = nil, values: Set<String> = []
    ) {
        self.role = role
        self.kind = kind
        self.column = column?.name
        self.filterColumn = filter?.name
        self.filterValues = values
    }

    /// The `status` column of the record files: only `active` records count (section 7).
    public static let statusColumn = MessageField.status.name
    /// The `county` column of the record files.
    public static let countyColumn = MessageField.county.name
}

extension Indicator {
    /// The inputs of this indicator (section 7), value or numerator then denominator.
    public var inputs: [IndicatorInputSpec] {
        typealias S = IndicatorInputSpec
        switch self {
        case .rdExpenditure: return [S(.value, .rd, .expenditure)]
        case .enterpriseRDShare:
            return [
                S(.numerator, .rd, .expenditure, filter: .performer, values: [Performer.enterpriseAboveScale.rawValue]),
                S(.denominator, .rd, .expenditure),
            ]
        case .rdIntensity: return [S(.numerator, .rd, .expenditure), S(.denominator, .countyProfile, .gdp)]
        case .techContracts: return [S(.value, .techContract, nil)]
        case .techContractValue: return [S(.value, .techContract, .contractValue)]
        case .techTransactionValue: return [S(.value, .techContract, .techTransactionValue)]
        case .techContractValueSSEAsia:
            return [S(.value, .techContract, .contractValue, filter: .buyerCountry, values: southAndSoutheastAsia)]
        case .highTechEnterprises: return [S(.value, .countyProfile, .highTechEnterprises)]
        case .inventionPatentsPer10k:
            return [
                S(.numerator, .countyProfile, .inventionPatentsHeld),
                S(.denominator, .countyProfile, .residentPopulation),
            ]
        case .highTechOutputShare:
            return [
                S(.numerator, .countyProfile, .highTechIndustrialOutput),
                S(.denominator, .countyProfile, .industrialOutput),
            ]
        }
    }
}
