import Foundation

/// Runs blocking work (librdkafka polls and flushes, SQLite, child processes) on a thread of
/// its own and resumes the caller when it is done. Swift's cooperative pool has one thread per
/// core (two here): a blocking poll on it would stall every other task.
public func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
