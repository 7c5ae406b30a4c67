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
            try Handoff<Int>.run(items: 1, lanes: 1, capacity: 2) { _, handoff in
                for i in 0..<1_000_000 {
                    guard handoff.send(i) else { throw Handoff<Int>.Cancelled() }
                    produced.withLock { $0 += 1 }
                }
            } consume: { handoffs throws(Broken) in
                _ = try? handoffs[0].receive()
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
        Handoff<Int>.run(items: 1, lanes: 1, capacity: 1) { _, handoff in
            for i in 0..<5 { _ = handoff.send(i) }
            throw Broken()
        } consume: { handoffs in
            do { while let i = try handoffs[0].receive() { received.append(i) } } catch { failure = error }
        }
        #expect(received == [0, 1, 2, 3, 4])
        #expect(failure is Broken)
    }

    /// Jobs of very different sizes come out in job order, whole, whichever lane did them.
    @Test func jobsComeOutInOrderWhicheverLaneDidThem() {
        let sizes = [5000, 1, 0, 3000, 2, 700, 1, 0, 4000, 9]
        var seen: [[Int]] = []
        Handoff<[Int]>.run(items: sizes.count, lanes: 2, capacity: 2) { item, handoff in
            var chunk: [Int] = []
            for i in 0..<sizes[item] {
                chunk.append(item * 100_000 + i)
                if chunk.count == 64 {
                    _ = handoff.send(chunk)
                    chunk = []
                }
            }
            if !chunk.isEmpty { _ = handoff.send(chunk) }
        } consume: { handoffs in
            for handoff in handoffs {
                var job: [Int] = []
                while let chunk = try? handoff.receive() { job += chunk }
                seen.append(job)
            }
        }
        #expect(seen.count == sizes.count)
        for (item, size) in sizes.enumerated() {
            #expect(seen[item] == (0..<size).map { item * 100_000 + $0 }, "job \(item)")
        }
    }

    /// A job that fails ends its own hand-off and every job not yet taken with the error, so
    /// the consumer, reading in order, meets it and never waits for a job no lane will do.
    @Test func aFailingJobFailsTheJobsNotYetTaken() {
        var outcomes: [String] = []
        Handoff<Int>.run(items: 6, lanes: 1, capacity: 1) { item, handoff in
            if item == 2 { throw Broken() }
            _ = handoff.send(item)
        } consume: { handoffs in
            for handoff in handoffs {
                do {
                    while let value = try handoff.receive() { outcomes.append("\(value)") }
                    outcomes.append("end")
                } catch { outcomes.append(error is Broken ? "broken" : "other") }
            }
        }
        #expect(outcomes == ["0", "end", "1", "end", "broken", "broken", "broken", "broken"])
    }
}
