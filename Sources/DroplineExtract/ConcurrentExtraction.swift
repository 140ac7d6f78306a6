import DroplineCore
import Foundation

extension XMLRecordExtractor {
    /// `run` with parsing, schema checks and field casts on a second thread, overlapped with
    /// the handlers on the caller's thread (transform, rules, warehouse writes). The handlers see
    /// exactly what `run` would give them, in the same order; a handler that throws stops the
    /// parser. Records travel in small batches through a bounded hand-off, so memory stays flat;
    /// `records` takes each record out of its batch (`RecordBatch.take`).
    /// Returns only once the parsing thread has finished with the file.
    /// `prepare` runs on the parsing thread for each record, and what it gives travels with the
    /// record: work that needs nothing but the record (transforms, reading fields) is done there,
    /// off the thread that decides and writes. It must not touch the caller's state.
    public func runConcurrently<Prepared>(path: String, checkControl: Bool = true, prepare: @escaping (Record) -> Prepared, header handleHeader: ([String: Value]) throws -> Void, records handle: (RecordBatch<Prepared>) throws -> Void) throws -> ExtractSummary {
        let handoff = Handoff<Prepared>(capacity: 8)
        let finished = DispatchSemaphore(value: 0)
        let extractor = Unchecked(self)
        let prepare = Unchecked(prepare)
        let thread = Thread {
            var batch = RecordBatch<Prepared>(capacity: handoffBatchSize)
            let result = Result {
                try extractor.value.run(path: path, checkControl: checkControl, header: { try handoff.put(.header($0)) }, record: { r in
                    batch.append((r, prepare.value(r)))
                    if batch.isFull {
                        try handoff.put(.records(batch))
                        batch = RecordBatch(capacity: handoffBatchSize)
                    }
                })
            }
            if !batch.isEmpty { try? handoff.put(.records(batch)) }
            try? handoff.put(.done(result.mapError(Unchecked.init)))
            finished.signal()
        }
        thread.stackSize = 16 << 20
        thread.name = "dropline-extract"
        thread.start()
        defer {
            handoff.cancel()
            finished.wait()
        }
        while true {
            switch handoff.take() {
            case .header(let h): try handleHeader(h)
            case .records(let records): try handle(records)
            case .done(let result):
                switch result {
                case .success(let summary): return summary
                case .failure(let error): throw error.value
                }
            }
        }
    }
}

/// A value handed between threads whose type is not `Sendable`; the hand-off itself orders the
/// accesses (one side at a time).
public struct Unchecked<T>: @unchecked Sendable, Error {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// Records handed over at a time.
let handoffBatchSize = 256

/// Records and what `prepare` gave for them, filled on one thread and taken out on another,
/// each pair moved in and moved out once: an array's element borrowed by a call is copied
/// (retaining every reference in the record) and destroyed again, since the array could change
/// during the call. Pairs not taken are destroyed with the batch.
public final class RecordBatch<Prepared>: @unchecked Sendable {
    @usableFromInline let pairs: UnsafeMutablePointer<(Record, Prepared)>
    let capacity: Int
    @usableFromInline var count = 0
    @usableFromInline var taken = 0

    init(capacity: Int) {
        pairs = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        (pairs + taken).deinitialize(count: count - taken)
        pairs.deallocate()
    }

    var isFull: Bool { count == capacity }
    var isEmpty: Bool { count == 0 }

    func append(_ pair: consuming (Record, Prepared)) {
        precondition(count < capacity)
        (pairs + count).initialize(to: pair)
        count += 1
    }

    /// The next pair in order, moved out; nil after the last.
    @inlinable public func take() -> (Record, Prepared)? {
        guard taken < count else { return nil }
        defer { taken += 1 }
        return (pairs + taken).move()
    }
}

/// A bounded, blocking queue between one producer and one consumer.
final class Handoff<Prepared>: @unchecked Sendable {
    enum Item {
        case header([String: Value])
        case records(RecordBatch<Prepared>)
        case done(Result<ExtractSummary, Unchecked<any Error>>)
    }

    let capacity: Int
    let condition = NSCondition()
    var items: [Item] = []
    var cancelled = false

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; throws once the consumer has gone away.
    func put(_ item: Item) throws {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw CancellationError() }
        items.append(item)
        condition.broadcast()
    }

    func take() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
