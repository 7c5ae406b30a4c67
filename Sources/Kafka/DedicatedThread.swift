import Dispatch
import Foundation

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
