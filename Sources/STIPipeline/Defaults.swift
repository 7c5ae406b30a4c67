import STIProtocol

/// The defaults every command and run shares, defined once (the CLI's help texts quote them).
public enum Defaults {
    /// Topics are `sti.rd`, `sti.tech-contracts`, … (section 2).
    public static let topicPrefix = RecordKind.defaultTopicPrefix
    /// The consumer group the aggregator commits its offsets to (for monitoring only).
    public static let groupId = "sti-aggregator"
    /// Messages per batch, one state transaction each.
    public static let batchSize = 10_000
}
