import Dispatch
import Foundation
import Synchronization

// The one home of blocking work (librdkafka polls and flushes, SQLite, child processes): none of
// it may run on Swift's cooperative pool, which has one thread per core (two here), so a
// blocking poll there would stall every other task. Two shapes:
//
// - `onDedicatedThread { … }`: an async caller hands a whole blocking job (a run, a follow
//   cycle) to a thread of its own and is resumed when it is done.
// - `DedicatedWorker`: a blocking caller overlaps two blocking steps: it starts one on the
//   worker's thread, does the other itself, then waits (the aggregation polls the next batch on
//   it while it commits the batch before).
//
// - `Handoff.run`: producers on threads of their own feed a blocking consumer through bounded
//   hand-offs, in order (the snapshot's `records/`: two threads read and format the records,
//   county by county as each is free, while the run's thread writes them in registry order).
//
// Other code starts no threads or queues of its own (the `submit` command's parallel encoding,
// `DispatchQueue.concurrentPerform` in Submitter.swift, is CPU work, not blocking work).

/// Runs blocking work on a thread of its own (8 MiB stack) and resumes the caller when it is
/// done, with its result or its error.
public func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// A serial worker off the cooperative pool for a blocking caller that overlaps two steps:
/// `start` runs a job there, the caller goes on with its own work, then `Job.wait()` returns the
/// job's result. Jobs run one at a time in the order started; the semaphore inside `Job` orders
/// everything the job wrote before everything the caller reads after `wait()`.
public final class DedicatedWorker: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// A job started on the worker; `wait()` blocks until it finished and returns its result
    /// (once: a job is waited for by the one thread that started it).
    public final class Job<T>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        fileprivate var result: T?

        fileprivate init() {}

        fileprivate func finish(_ value: T) {
            result = value
            done.signal()
        }

        public func wait() -> T {
            done.wait()
            return result!
        }
    }

    /// Starts `body` on the worker's thread. Return errors as a value (a `Result`), so that the
    /// waiting caller gets them typed.
    public func start<T>(_ body: @escaping @Sendable () -> T) -> Job<T> {
        let job = Job<T>()
        queue.async { job.finish(body()) }
        return job
    }
}

/// A bounded hand-off from one producer thread to one consumer thread, in order.
public final class Handoff<Element: Sendable>: Sendable {
    private struct State {
        var queue: [Element] = []
        var finished = false
        var failure: (any Error)?
        var cancelled = false
    }
    private let state = Mutex(State())
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore

    public init(capacity: Int) {
        // Created at 0 and raised: libdispatch traps when a semaphore is freed below the value
        // it was created with, which a consumer that gave up leaves behind.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, capacity) { slots.signal() }
    }

    /// Producer: hands `element` over, waiting while `capacity` are pending. False when the
    /// consumer gave up: the producer should stop.
    public func send(_ element: Element) -> Bool {
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
    public func finish(failure: (any Error)?) {
        state.withLock { s in
            s.finished = true
            s.failure = failure
        }
        items.signal()
    }

    /// Consumer: the next element, nil after the last; throws what stopped the producer.
    public func receive() throws -> Element? {
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
    public func cancel() {
        state.withLock { $0.cancelled = true }
        slots.signal()
    }

    /// Thrown inside the producer when the consumer gave up.
    public struct Cancelled: Error { public init() {} }

    /// `items` jobs produced by `lanes` threads and consumed in order on this one: each job
    /// has its own hand-off, a free lane takes the next job not yet taken (so lanes stay busy
    /// whatever the jobs' sizes), and `consume` gets the hand-offs in job order, each ending
    /// (`receive` nil) when its job is done. A job that fails ends its hand-off with the error,
    /// and so does every job not yet taken, so the consumer never waits for a job no lane will
    /// do. Returns (or throws `consume`'s error) only after every lane ended.
    public static func run<E: Error>(
        items: Int, lanes: Int, capacity: Int, produce: @escaping @Sendable (Int, Handoff<Element>) throws -> Void,
        consume: ([Handoff<Element>]) throws(E) -> Void
    ) throws(E) {
        let handoffs = (0..<items).map { _ in Handoff(capacity: capacity) }
        let next = Atomic<Int>(0)
        let ended = DispatchSemaphore(value: 0)
        for lane in 0..<lanes {
            let thread = Thread {
                while true {
                    let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard item < items else { break }
                    do {
                        try produce(item, handoffs[item])
                        handoffs[item].finish(failure: nil)
                    } catch {
                        handoffs[item].finish(failure: error)
                        while true {
                            let untaken = next.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard untaken < items else { break }
                            handoffs[untaken].finish(failure: error)
                        }
                        break
                    }
                }
                ended.signal()
            }
            thread.name = "sti-lane-\(lane)"
            thread.start()
        }
        do {
            try consume(handoffs)
        } catch {
            for handoff in handoffs { handoff.cancel() }
            for _ in 0..<lanes { ended.wait() }
            throw error
        }
        for _ in 0..<lanes { ended.wait() }
    }
}
