// Section 2: which partition a county's messages belong on.

/// Kafka's default partitioner for keyed messages: `(murmur2(key) & 0x7fffffff) mod N`, with
/// Kafka's murmur2 (seed `0x9747b28c`), as the Java client, librdkafka's `murmur2_random` and
/// confluent-kafka's `"partitioner": "murmur2_random"` compute it. All of a county's records
/// so land on one partition, in order, whichever client sent them.
public enum Partitioner {
    /// The partition of `key` among `count` partitions (`count` ≥ 1).
    public static func partition(forKey key: some Collection<UInt8>, count: Int32) -> Int32 {
        precondition(count > 0, "a topic has at least one partition")
        return Int32(bitPattern: murmur2(key) & 0x7fff_ffff) % count
    }

    /// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), over unsigned 32-bit
    /// arithmetic; Java's signed ints wrap the same way.
    public static func murmur2(_ data: some Collection<UInt8>) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let bytes = Array(data)
        let length = bytes.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var i = 0
        while i + 4 <= length {
            var k =
                UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            i += 4
        }
        let rest = length & 3
        if rest == 3 { h ^= UInt32(bytes[i + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(bytes[i + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(bytes[i])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
