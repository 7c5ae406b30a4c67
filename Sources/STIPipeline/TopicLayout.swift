public import Kafka
import STIProtocol

/// The protocol's topics (section 2) with their configuration.
public enum TopicLayout {
    /// Submission topics keep everything (`retention.ms=-1`, no compaction): the log is the
    /// audit trail and every snapshot can be rebuilt from it. `sti.rejected` is kept likewise,
    /// so a bureau can always look up why a message was refused.
    ///
    /// Submission topics also take their timestamps from the broker (`LogAppendTime`, section 4):
    /// a key's validity window is judged on the message timestamp, which under the default
    /// `CreateTime` the producer chooses, so a holder of a retired key could back-date it.
    public static func topics(
        prefix: String, partitions: Int32, replicationFactor: Int32, minInsyncReplicas: Int? = nil
    ) -> [NewTopic] {
        var configs = ["retention.ms": "-1", "cleanup.policy": "delete"]
        if let minInsyncReplicas { configs["min.insync.replicas"] = String(minInsyncReplicas) }
        var submission = configs
        submission[timestampTypeConfig] = logAppendTime
        return RecordKind.allCases.map {
            NewTopic(
                name: $0.topic(prefix: prefix), partitions: partitions, replicationFactor: replicationFactor,
                configs: submission)
        } + [
            NewTopic(
                name: "\(prefix).\(rejectedTopicSuffix)", partitions: partitions, replicationFactor: replicationFactor,
                configs: configs)
        ]
    }

    /// The topic property that says who sets a message's timestamp, and the value section 4 asks.
    public static let timestampTypeConfig = "message.timestamp.type"
    public static let logAppendTime = "LogAppendTime"

    /// The warnings an aggregator gives at start about the submission topics' configuration
    /// (section 4: key windows need broker timestamps), from a DescribeConfigs answer. A topic
    /// the brokers would not describe gets a warning saying it could not be checked.
    public static func configurationWarnings(
        _ described: [String: Result<[String: String?], KafkaError>], topics: [String],
        keysBounded: Bool
    ) -> [String] {
        topics.compactMap { topic -> String? in
            switch described[topic] {
            case .success(let entries)?:
                let type = entries[timestampTypeConfig] ?? nil
                guard type != logAppendTime else { return nil }
                return
                    "topic \(topic) has \(timestampTypeConfig)=\(type ?? "(not reported)"), not \(logAppendTime): its timestamps are set by producers, so messages signed with a key that has not_before/not_after are rejected with E_AUTH\(keysBounded ? " (the keys file has such keys)" : ""); set it with kafka-configs --alter --entity-type topics --entity-name \(topic) --add-config \(timestampTypeConfig)=\(logAppendTime)"
            case .failure(let error)?:
                return
                    "cannot check \(timestampTypeConfig) of topic \(topic) (\(error)); section 4 asks for \(logAppendTime) on submission topics"
            case nil:
                return
                    "the brokers did not describe topic \(topic); cannot check that its \(timestampTypeConfig) is \(logAppendTime)"
            }
        }
    }
}
