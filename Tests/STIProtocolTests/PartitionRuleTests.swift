import Testing

@testable import STIProtocol

/// Section 2: a county's messages belong on partition `(murmur2(key) & 0x7fffffff) mod N`.
@Suite struct PartitionRuleTests {
    /// Kafka's own murmur2 test vectors (`UtilsTest.testMurmur2` of the Java client), as Java ints.
    @Test(arguments: [
        ("21", Int32(-973_932_308)), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func murmur2MatchesKafka(text: String, expected: Int32) {
        #expect(Int32(bitPattern: Partitioner.murmur2(Array(text.utf8))) == expected)
    }

    /// The two vectors the protocol gives.
    @Test func theProtocolsVectors() {
        #expect(Partitioner.partition(forKey: Array("530102".utf8), count: 6) == 1)
        #expect(Partitioner.partition(forKey: Array("530103".utf8), count: 6) == 0)
        #expect(Partitioner.partition(forKey: Array("530102".utf8), count: 3) == 1)
        #expect(Partitioner.partition(forKey: Array("530103".utf8), count: 3) == 0)
        #expect(Partitioner.partition(forKey: Array("530102".utf8), count: 1) == 0)
    }

    /// A message on its key's partition passes; on any other it is `E_PARTITION` (field nil),
    /// reported with the other errors; without a key only `E_KEY_MISMATCH`; offline (no
    /// placement) the rule is not judged.
    @Test func theRuleAtTheValidator() {
        let value = SampleMessage.rd.bytes
        func codes(key: String?, partition: Int32?, of count: Int32 = 6) -> [ExpectedError] {
            ValidatorCheck.codes(
                ValidatorCheck.run(
                    value, key: key,
                    placement: partition.map { MessagePlacement(partition: $0, partitionCount: count) }))
        }
        #expect(codes(key: "530102", partition: 1) == [])
        for wrong: Int32 in [0, 2, 3, 4, 5] {
            #expect(codes(key: "530102", partition: wrong) == [ExpectedError(.partition)])
        }
        #expect(codes(key: "530102", partition: 0, of: 1) == [])
        #expect(codes(key: "530102", partition: nil) == [])
        #expect(codes(key: nil, partition: 3) == [ExpectedError(.keyMismatch)])
        #expect(codes(key: "", partition: 3) == [ExpectedError(.keyMismatch)])
        // The key decides the partition, even when county differs from it.
        #expect(
            codes(key: "530103", partition: 1) == [ExpectedError(.keyMismatch, "county"), ExpectedError(.partition)])
        #expect(codes(key: "530103", partition: 0) == [ExpectedError(.keyMismatch, "county")])
        if case .failure(let failure) = ValidatorCheck.run(
            value, key: "530102", placement: MessagePlacement(partition: 4, partitionCount: 6))
        {
            #expect(failure.errors[0].message.contains("partition 4 of 6"))
            #expect(failure.errors[0].message.contains("belongs on partition 1"))
            #expect(failure.errors[0].message.contains("murmur2_random"))
        } else {
            Issue.record("a message on the wrong partition was accepted")
        }
    }
}
