import Kafka
import Synchronization
import Testing

/// The hand-off between the record-reading thread and the writing one.
@Suite struct HandoffTests {
    struct Broken: Error {}

    /// A consumer that fails stops the producer (which would otherwise wait for room for ever)
    /// and `run` returns that error once the producer has ended.
    @Test func aFailingConsumerStopsTheProducer() {
        let produced = Mutex(0)
        var caught: Broken?
        do throws(Broken) {
            try Handoff<Int>.run(capacity: 2) { handoff in
                for i in 0..<1_000_000 {
                    guard handoff.send(i) else { throw Handoff<Int>.Cancelled() }
                    produced.withLock { $0 += 1 }
                }
            } consume: { handoff throws(Broken) in
                _ = try? handoff.receive()
                throw Broken()
            }
        } catch { caught = error }
        #expect(caught != nil)
        #expect(produced.withLock { $0 } < 10)
    }

    /// What stops the producer reaches the consumer after the elements sent before it.
    @Test func aFailingProducerIsSeenAfterItsElements() {
        var received: [Int] = []
        var failure: (any Error)?
        Handoff<Int>.run(capacity: 1) { handoff in
            for i in 0..<5 { _ = handoff.send(i) }
            throw Broken()
        } consume: { handoff in
            do { while let i = try handoff.receive() { received.append(i) } } catch { failure = error }
        }
        #expect(received == [0, 1, 2, 3, 4])
        #expect(failure is Broken)
    }
}
