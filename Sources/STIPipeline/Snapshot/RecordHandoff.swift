// Reading and formatting the current records on threads of their own while the run's thread
// hashes and writes them (section 8's `records/`): a snapshot reads every current record of the
// years that changed, a million in the benchmark. Both cores work on it, as the broker is idle
// while the snapshot is written.

import Foundation
import Synchronization

/// A bounded hand-off from one producer thread to one consumer thread, in order.
final class Handoff<Element: Sendable>: Sendable {
    private struct State {
        var queue: [Element] = []
        var finished = false
        var failure: (any Error)?
        var cancelled = false
    }
    private let state = Mutex(State())
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore

    init(capacity: Int) {
        // Created at 0 and raised: libdispatch traps when a semaphore is freed below the value
        // it was created with, which a consumer that gave up leaves behind.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, capacity) { slots.signal() }
    }

    /// Producer: hands `element` over, waiting while `capacity` are pending. False when the
    /// consumer gave up: the producer should stop.
    func send(_ element: Element) -> Bool {
        slots.wait()
        let sent = state.withLock { s in
            if s.cancelled { return false }
            s.queue.append(element)
            return true
        }
        if sent { items.signal() }
        return sent
    }

    /// Producer: no more elements; `failure` is what stopped it early, if anything.
    func finish(failure: (any Error)?) {
        state.withLock { s in
            s.finished = true
            s.failure = failure
        }
        items.signal()
    }

    /// Consumer: the next element, nil after the last; throws what stopped the producer.
    func receive() throws -> Element? {
        items.wait()
        let next: Result<Element?, any Error> = state.withLock { s in
            if !s.queue.isEmpty { return .success(s.queue.removeFirst()) }
            if let failure = s.failure { return .failure(failure) }
            return .success(nil)
        }
        if case .success(.some) = next { slots.signal() }
        return try next.get()
    }

    /// Consumer: gives up; a producer waiting for a slot wakes and stops.
    func cancel() {
        state.withLock { $0.cancelled = true }
        slots.signal()
    }

    /// Thrown inside the producer when the consumer gave up.
    struct Cancelled: Error {}

    /// Runs `produce` on a thread of its own and `consume` on this one, joined by a hand-off of
    /// `capacity` elements; returns (or throws `consume`'s error) only after the producer ended,
    /// so that nothing it uses is still in use when the caller goes on.
    static func run<E: Error>(
        capacity: Int, produce: @escaping @Sendable (Handoff<Element>) throws -> Void,
        consume: (Handoff<Element>) throws(E) -> Void
    ) throws(E) {
        try run(lanes: 1, capacity: capacity, produce: { _, handoff in try produce(handoff) }) {
            handoffs throws(E) in try consume(handoffs[0])
        }
    }

    /// `run` with `lanes` producers, each on a thread of its own with its own hand-off:
    /// `produce(lane, handoff)`; `consume` gets the hand-offs in lane order.
    static func run<E: Error>(
        lanes: Int, capacity: Int, produce: @escaping @Sendable (Int, Handoff<Element>) throws -> Void,
        consume: ([Handoff<Element>]) throws(E) -> Void
    ) throws(E) {
        let handoffs = (0..<lanes).map { _ in Handoff(capacity: capacity) }
        let ended = DispatchSemaphore(value: 0)
        for (lane, handoff) in handoffs.enumerated() {
            let thread = Thread {
                do {
                    try produce(lane, handoff)
                    handoff.finish(failure: nil)
                } catch {
                    handoff.finish(failure: error)
                }
                ended.signal()
            }
            thread.name = "sti-records-\(lane)"
            thread.start()
        }
        do {
            try consume(handoffs)
        } catch {
            for handoff in handoffs { handoff.cancel() }
            for _ in handoffs { ended.wait() }
            throw error
        }
        for _ in handoffs { ended.wait() }
    }
}

/// A value handed to another thread that the giving thread does not touch until that thread
/// ended (`Handoff.run` joins it): the state store's record reader, used by one thread at a time.
struct HandedOver<Value>: @unchecked Sendable {
    let value: Value
}
