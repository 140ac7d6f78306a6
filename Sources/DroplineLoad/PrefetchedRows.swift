import DroplineCore
import Foundation
import GRDBSQLite

/// The rows of a statement stepped on another thread, each column's bytes copied into batches
/// handed over through a bounded queue: SQLite's reading and what the caller does with each row
/// run on two cores (the labor file: reading the postings took about half of its time). Memory
/// stays at a few batches whatever the number of rows.
public final class PrefetchedRows: @unchecked Sendable {
    /// Where one column's text is in its batch: `count` bytes from `start`; -1 for NULL.
    struct Span {
        var start: Int32
        var count: Int32
    }

    struct Batch {
        let bytes: [UInt8]
        let spans: [Span]
        let rows: Int
    }

    let statement: RawStatement
    let columns: Int32
    let rowsPerBatch: Int
    let batches = BoundedQueue<Batch?>(capacity: 4)
    /// Set by the reading thread before it ends the queue.
    var failure: (any Error)?

    /// `statement` bound, not yet stepped; it is stepped on another thread until `forEach`
    /// returns (its connection is not to be used meanwhile), then left for the caller to reset.
    public init(_ statement: RawStatement, columns: Int32, rowsPerBatch: Int = 1024) {
        self.statement = statement
        self.columns = columns
        self.rowsPerBatch = rowsPerBatch
    }

    /// One row of a batch, valid during the `forEach` call it is given to.
    public struct Row {
        let bytes: UnsafeBufferPointer<UInt8>
        let spans: UnsafeBufferPointer<Span>

        public func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
            let s = spans[Int(column)]
            guard s.count >= 0 else { return nil }
            return UnsafeBufferPointer(rebasing: bytes[Int(s.start)..<Int(s.start + s.count)])
        }

        /// An integer column's value (kept as SQLite's text of it); nil for NULL or other text.
        public func int64(_ column: Int32) -> Int64? {
            guard let b = bytes(column), !b.isEmpty, b.count <= 20 else { return nil }
            let negative = b[0] == UInt8(ascii: "-")
            guard b.count > (negative ? 1 : 0) else { return nil }
            // Negative numbers are summed downwards, so that the smallest one fits.
            var v: Int64 = 0
            for d in b.dropFirst(negative ? 1 : 0) {
                guard d >= 48, d <= 57 else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d - 48)) : m.addingReportingOverflow(Int64(d - 48))
                guard !o1, !o2 else { return nil }
                v = a
            }
            return v
        }
    }

    /// Calls `body` with every row, in order. A failed step is thrown after the rows before it;
    /// when `body` throws, reading stops and the error is rethrown.
    public func forEach(_ body: (Row) throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            read()
            done.signal()
        }
        thread.name = "dropline-prefetch"
        thread.start()
        var thrown: (any Error)?
        do {
            while true {
                guard let next = batches.take(), let batch = next else { break }
                try batch.bytes.withUnsafeBufferPointer { bytes in
                    try batch.spans.withUnsafeBufferPointer { spans in
                        let n = Int(columns)
                        for r in 0..<batch.rows {
                            try body(Row(bytes: bytes, spans: UnsafeBufferPointer(rebasing: spans[r * n..<(r + 1) * n])))
                        }
                    }
                }
            }
        } catch {
            batches.cancel()
            thrown = error
        }
        done.wait()
        if let thrown { throw thrown }
        if let failure { throw failure }
    }

    /// The reading thread: batches of rows, then nil (after a failure too). Rows go into local
    /// arrays (a class's stored arrays are checked for exclusive access on every append: a
    /// third of this thread's time), handed over as a batch when full.
    func read() {
        let h = statement.handle
        let width = Int(columns)
        var bytes: [UInt8] = []
        var spans: [Span] = []
        var rows = 0
        func handOver() throws {
            try batches.put(Batch(bytes: bytes, spans: spans, rows: rows))
            bytes = []
            spans = []
            rows = 0
        }
        do {
            bytes.reserveCapacity(rowsPerBatch * 256)
            spans.reserveCapacity(rowsPerBatch * width)
            while try statement.step() {
                for c in 0..<columns {
                    // Text as SQLite gives it (an integer's decimal digits); NULL apart.
                    guard sqlite3_column_type(h, c) != SQLITE_NULL, let p = sqlite3_column_text(h, c) else {
                        spans.append(Span(start: 0, count: -1))
                        continue
                    }
                    let start = Int32(bytes.count)
                    bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(h, c))))
                    spans.append(Span(start: start, count: Int32(bytes.count) - start))
                }
                rows += 1
                if rows == rowsPerBatch {
                    try handOver()
                    bytes.reserveCapacity(rowsPerBatch * 256)
                    spans.reserveCapacity(rowsPerBatch * width)
                }
            }
            if rows > 0 { try handOver() }
        } catch is CancellationError {
            return
        } catch {
            // The rows before the failing one still go to the caller, then the failure.
            failure = error
            if rows > 0, (try? handOver()) == nil { return }
        }
        try? batches.put(nil)
    }
}
