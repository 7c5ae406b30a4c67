public import Kafka
import STIProtocol

/// The protocol's topics (section 2) with their configuration.
public enum TopicLayout {
    /// Submission topics keep everything (`retention.ms=-1`, no compaction): the log is the
    /// audit trail and every snapshot can be rebuilt from it. `sti.rejected` is kept likewise,
    /// so a bureau can always look up why a message was refused.
    public static func topics(prefix: String, partitions: Int32, replicationFactor: Int32, minInsyncReplicas: Int? = nil) -> [NewTopic] {
        var configs = ["retention.ms": "-1", "cleanup.policy": "delete"]
        if let minInsyncReplicas { configs["min.insync.replicas"] = String(minInsyncReplicas) }
        let names = RecordKind.allCases.map { $0.topic(prefix: prefix) } + ["\(prefix).\(rejectedTopicSuffix)"]
        return names.map { NewTopic(name: $0, partitions: partitions, replicationFactor: replicationFactor, configs: configs) }
    }
}
