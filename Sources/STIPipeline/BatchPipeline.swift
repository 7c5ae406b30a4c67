import Dispatch
import Foundation
import Kafka
import STIProtocol

/// Steps 2 and 3 of each batch (see BatchProcessor.swift): decide, send the notices and wait for
/// them, apply to the state. With `concurrent`, a batch handed over runs on a thread of its own
/// while the caller polls and validates the next one; at most one batch is in flight, and
/// batches run in the order handed over, so the outcome is the one of a single thread. Without
/// it, `submit` does the work itself.
///
/// The durability promise is unchanged: a batch's offsets count only once `apply` returned, and
/// its notices were confirmed before that. A failed batch leaves the state as the batch before
/// left it; the failure is reported by the next `submit` or by `finish`, and nothing later is
/// applied.
final class BatchPipeline: @unchecked Sendable {
    // @unchecked: every mutable property below is used only by the batch running (on `queue`, or
    // inside `submit` without `concurrent`) or by the caller after `idle.wait()` returned; the
    // semaphore orders the two, so no two threads ever touch them at once.
    private var processor: BatchProcessor
    private var sender: NoticeSender
    private let store: any StateStore
    private let producer: KafkaProducer
    private let timeout: Duration
    private let concurrent: Bool
    private let afterDecide: (@Sendable (Int) throws -> Void)?
    private var counts = RunCounts()
    private var failure: AggregateError?
    private var batches = 0
    private let queue = DispatchQueue(label: "sti-batch-apply")
    /// 1 while no batch is in flight.
    private let idle = DispatchSemaphore(value: 1)

    init(processor: BatchProcessor, sender: NoticeSender, store: any StateStore, producer: KafkaProducer, timeout: Duration,
         concurrent: Bool, afterDecide: (@Sendable (Int) throws -> Void)? = nil) {
        self.processor = processor; self.sender = sender; self.store = store; self.producer = producer
        self.timeout = timeout; self.concurrent = concurrent; self.afterDecide = afterDecide
    }

    /// Waits for the batch in flight; throws its failure, else hands `batch` over.
    func submit(_ batch: ValidatedBatch) throws(AggregateError) {
        idle.wait()
        if let failure {
            idle.signal()
            throw failure
        }
        guard concurrent else {
            run(batch)
            idle.signal()
            if let failure { throw failure }
            return
        }
        queue.async {
            self.run(batch)
            self.idle.signal()
        }
    }

    /// Waits for the batch in flight; returns what every batch counted and the book as the last
    /// one left it, or throws the failure.
    func finish() throws(AggregateError) -> (RunCounts, AggregateBook) {
        idle.wait()
        defer { idle.signal() }
        if let failure { throw failure }
        return (counts, processor.book)
    }

    private func run(_ batch: ValidatedBatch) {
        batches += 1
        do throws(AggregateError) {
            let decided: DecidedBatch
            do { decided = try processor.decide(batch, store: store) } catch {
                throw AggregateError("batch failed, nothing of it committed: \(error)")
            }
            do { try afterDecide?(batches) } catch { throw AggregateError("batch failed, nothing of it committed: \(error)") }
            // Notices reach the broker before the batch commits, so a rejected source offset is
            // never committed without its notice.
            try sender.send(decided.notices, producer: producer, timeout: timeout)
            do { try store.apply(decided.decision) } catch {
                throw AggregateError("batch failed, nothing of it committed: \(error)")
            }
            counts.add(decided.decision.counts)
        } catch {
            failure = error
        }
    }
}
