import DroplineCore
import Foundation

extension XMLRecordExtractor {
    /// `run` with parsing, schema checks and field casts on a second thread, overlapped with
    /// the handlers on the caller's thread (transform, rules, warehouse writes). The handlers see
    /// exactly what `run` would give them, in the same order; a handler that throws stops the
    /// parser. Records travel in small batches through a bounded hand-off, so memory stays flat;
    /// `records` reads each record of its batch (`RecordBatch.forEach`), and the batch goes back
    /// to the parsing thread, which destroys its records there and fills it again
    /// (`emptiedByHandler`: the records are destroyed on the caller's thread once read, and
    /// their field storage travels back with the batch: for a caller with time to spare).
    /// Returns only once the parsing thread has finished with the file.
    /// `prepare` runs on the parsing thread for each record, and what it gives travels with the
    /// record: work that needs nothing but the record (transforms, reading fields) is done there,
    /// off the thread that decides and writes. It must not touch the caller's state.
    public func runConcurrently<Prepared>(path: String, checkControl: Bool = true, emptiedByHandler: Bool = false, prepare: @escaping (Record) -> Prepared, header handleHeader: ([String: Value]) throws -> Void, records handle: (RecordBatch<Prepared>) throws -> Void) throws -> ExtractSummary {
        let handoff = BoundedQueue<Handed<Prepared>>(capacity: 8)
        // The way back for batches the caller has read (never more than were in flight).
        let spent = BoundedQueue<RecordBatch<Prepared>>(capacity: 16)
        let finished = DispatchSemaphore(value: 0)
        let extractor = Unchecked(self)
        let prepare = Unchecked(prepare)
        let thread = Thread {
            var batch = RecordBatch<Prepared>(capacity: handoffBatchSize)
            /// A batch handed over carries how far the parser has read (for progress).
            func handed(_ b: RecordBatch<Prepared>) -> Handed<Prepared> {
                b.bytesRead = extractor.value.bytesRead
                return .records(b)
            }
            let result = Result {
                try extractor.value.run(path: path, checkControl: checkControl, header: { try handoff.put(.header($0)) }, record: { (r: consuming Record) in
                    // Both moved into the batch: copied, every reference in them was retained here
                    // and released again when the extractor's copy was destroyed.
                    let prepared = prepare.value(r)
                    batch.append(consume r, consume prepared)
                    if batch.isFull {
                        try handoff.put(handed(batch))
                        if let back = spent.poll() {
                            back.empty(keepingFieldsIn: &extractor.value.spareFields)
                            back.takeSpareFields(into: &extractor.value.spareFields)
                            batch = back
                        } else {
                            batch = RecordBatch(capacity: handoffBatchSize)
                        }
                    }
                })
            }
            if !batch.isEmpty { try? handoff.put(handed(batch)) }
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
            // Only this side cancels, when it leaves: every take has an item.
            guard let item = handoff.take() else { throw CancellationError() }
            switch item {
            case .header(let h): try handleHeader(h)
            case .records(let records):
                try handle(records)
                if emptiedByHandler { records.empty(keepingFieldsIn: &records.spareFields) }
                try? spent.put(records)
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

/// Records handed over at a time: with the write queue's 1,024 rows a batch, four times fewer
/// wake-ups of the threads than at 256 (`bench/ab 6 100`: run 5.03 -> 4.81 s, dry run equal).
let handoffBatchSize = 1024

/// Records and what `prepare` gave for them, filled on the parsing thread and read on another,
/// then handed back to be emptied and filled again: the records are destroyed on the thread that
/// allocated them (freeing there is cheaper than on another thread, and it is not the thread
/// that decides). A pair is moved out for the reader and back in: an array's element borrowed by
/// a call is copied (retaining every reference in the record) and destroyed again, since the
/// array could change during the call.
public final class RecordBatch<Prepared>: @unchecked Sendable {
    @usableFromInline let pairs: UnsafeMutablePointer<(Record, Prepared)>
    let capacity: Int
    @usableFromInline var count = 0
    /// Bytes of the file the parser had consumed when the batch was handed over.
    public internal(set) var bytesRead = 0
    /// Field storage of its records, emptied where the batch was read (`emptiedByHandler`), on
    /// its way back to the parsing thread.
    var spareFields: [FieldMap] = []

    init(capacity: Int) {
        pairs = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        pairs.deinitialize(count: count)
        pairs.deallocate()
    }

    var isFull: Bool { count == capacity }
    var isEmpty: Bool { count == 0 }

    func append(_ record: consuming Record, _ prepared: consuming Prepared) {
        precondition(count < capacity)
        (pairs + count).initialize(to: (record, prepared))
        count += 1
    }

    /// Destroys the pairs, for the batch to be filled again; the storage of each record's
    /// fields, emptied, goes to `spare`, for the records made next (`XMLRecordExtractor.record`).
    func empty(keepingFieldsIn spare: inout [FieldMap]) {
        for i in 0..<count {
            var pair = (pairs + i).move()
            var fields = FieldMap()
            swap(&fields, &pair.0.fields)
            fields.removeAllKeepingCapacity()
            spare.append(fields)
        }
        count = 0
    }

    /// Moves the field storage emptied where the batch was read into `spare`.
    func takeSpareFields(into spare: inout [FieldMap]) {
        if spareFields.isEmpty { return }
        if spare.isEmpty {
            swap(&spare, &spareFields)
        } else {
            spare.append(contentsOf: spareFields)
            spareFields.removeAll(keepingCapacity: true)
        }
    }

    /// Calls `body` with each pair in order; the pairs stay in the batch.
    @inlinable public func forEach(_ body: (Record, Prepared) throws -> Void) rethrows {
        for i in 0..<count {
            // Moved out and back in: borrowed in place, each would be copied for the call.
            let pair = (pairs + i).move()
            defer { (pairs + i).initialize(to: pair) }
            try body(pair.0, pair.1)
        }
    }
}

/// What the parsing thread hands over, in document order.
enum Handed<Prepared> {
    case header([String: Value])
    case records(RecordBatch<Prepared>)
    case done(Result<ExtractSummary, Unchecked<any Error>>)
}
