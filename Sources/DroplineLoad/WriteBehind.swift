import CDroplineSQLite
import DroplineCore
import Foundation
import GRDB
import GRDBSQLite

/// Runs the writes of one transaction on a second thread, in the order they were given, while the
/// caller goes on deciding: the SQLite work of an insert overlaps with the Swift work of the next
/// record. A write is a row for one of the prepared statements given at creation; its values
/// are copied into a byte buffer (no allocation per row, nothing freed on the other thread), and
/// buffers go back and forth in batches.
///
/// While writes are queued the connection is the writer's: the caller reads it only through
/// `withConnection` (the writer takes the same lock per row), after `drain()` when a queued row
/// could change what it reads. A row may name a key (an entry id, say); `isInFlight` tells
/// whether a row with that key may not have run yet.
///
/// A failed row stops the writer: later rows are dropped and the failure is thrown by the next
/// `row`, `drain` or `finish`; the transaction is then rolled back by its owner. `close()` must
/// run before the transaction ends, whatever happened (it joins the thread). `synchronous` runs
/// every row at once on the caller's thread instead (no thread at all), from the same bytes.
public final class WriteBehind: @unchecked Sendable {
    /// Rows handed to the writer at a time (see `handoffBatchSize` for the measure).
    static let rowsPerBatch = 1024
    static let capacity = 8

    public let synchronous: Bool
    let statements: [RawStatement]
    /// The connection: held by the writer for one row, by the caller for one read.
    let connection = NSLock()
    /// Guards `queue`, `spare`, `busy`, `completed`, `failure`, `closed`.
    let state = NSCondition()
    var queue: [Batch] = []
    /// Buffers the writer is done with, for the caller to fill again.
    var spare: [Batch] = []
    var busy = false
    /// The last batch the writer finished.
    var completed = 0
    var failure: (any Error)?
    var closed = false
    let stopped = DispatchSemaphore(value: 0)
    var started = false

    // Caller side only.
    var pending = Batch()
    /// Keys of `pending`'s rows, as `KeyFilter.fingerprint`s.
    var pendingKeys: [UInt64] = []
    var handedOver = 0
    /// Keys of the batches handed over and not known to be finished, oldest first (from
    /// `keysStart`). Searched when asked (`isInFlight`), which is rare: a table of keys kept up
    /// to date for every keyed row cost more than all the searches of a night. Kept as 64-bit
    /// fingerprints: searched as strings, the thousands of keys in flight cost a string
    /// comparison each, 1.7 % of the deciding thread's instructions on the 10 MB night for a few
    /// hundred questions; two keys of one fingerprint only make a question answer "maybe".
    var keysOfBatches: [(seq: Int, keys: [UInt64])] = []
    var keysStart = 0

    /// Rows of one batch: per row the statement's index, then per parameter a tag (0 NULL,
    /// 1 text with a 4-byte length, 2 an 8-byte integer) and its bytes.
    struct Batch {
        var seq = 0
        var rows = 0
        var bytes = ByteBuffer(capacity: 1 << 16)
    }

    /// The bytes of a batch, in memory of its own: handed to the writer and back without
    /// copying. Rows are appended through `RowValues`, which works on a copy of the pointer and
    /// count (a class's stored properties are checked for exclusive access on every change).
    final class ByteBuffer {
        var base: UnsafeMutableRawPointer
        var count = 0
        var capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(byteCount: capacity, alignment: 8)
            base.bindMemory(to: UInt8.self, capacity: capacity)
        }

        deinit { base.deallocate() }

        func removeAll() { count = 0 }
    }

    /// Called on the thread that ran it with each row of an observed statement, once it has
    /// run: its values as bound (`BoundRow`) and the rowid it inserted.
    public typealias Observer = @Sendable (_ statement: Int, _ row: BoundRow, _ rowID: Int64) -> Void
    let observer: Observer?
    /// Per statement: whether `observer` is called for its rows.
    let observed: [Bool]
    /// Where each parameter of the row being run begins in its batch (its tag), for `BoundRow`;
    /// used by one thread at a time (the writer's, or the caller's when synchronous).
    let parameterStarts: UnsafeMutableBufferPointer<Int>

    /// Per statement, the statements that insert several of its rows at once (see `init`),
    /// most rows first.
    let groups: [[Group]]
    /// Per statement, its number of parameters.
    let parameterCounts: [Int]

    /// A statement that runs `rows` rows of another at once: its parameters are the other's,
    /// `rows` times over.
    struct Group {
        let statement: RawStatement
        let rows: Int
    }

    /// Writes one row's values into a batch, in parameter order. `observe`: the statements
    /// (indexes into `statements`) whose rows `observer` is told of. `groups`: for a statement,
    /// statements that insert several of its rows at once (`INSERT OR FAIL ... VALUES (...),
    /// (...)`, its parameters as many times over), taken for as many rows of it as come one
    /// after another in the queue (the most rows first); each of its rows is then told to the
    /// observer with its rowid, counted back from the last one (a table's new rowids are
    /// consecutive). A statement's own cost (its cursors opened and closed, its end) is then
    /// paid once for all its rows: inserting `posting_row`s eight at a time took a fifth fewer
    /// instructions a row than one at a time (measured in C on the same schema). Not
    /// `OR ABORT`: a statement of several rows that may abort keeps a journal of its own,
    /// which cost more than grouping saved; a failed row fails the whole transaction anyway.
    public init(statements: [RawStatement], synchronous: Bool = false, observe: Set<Int> = [], observer: Observer? = nil, groups: [Int: [RawStatement]] = [:]) {
        self.statements = statements
        self.synchronous = synchronous
        self.observer = observer
        observed = statements.indices.map { observer != nil && observe.contains($0) }
        let counts = statements.map { Int(sqlite3_bind_parameter_count($0.handle)) }
        parameterCounts = counts
        let grouped = statements.indices.map { i in
            (groups[i] ?? []).compactMap { g -> Group? in
                let n = Int(sqlite3_bind_parameter_count(g.handle))
                guard counts[i] > 0, n % counts[i] == 0, n / counts[i] > 1 else {
                    preconditionFailure("a group statement's parameters are not its statement's, several times over: \(g.sql)")
                }
                return Group(statement: g, rows: n / counts[i])
            }.sorted { $0.rows > $1.rows }
        }
        self.groups = grouped
        let most = statements.indices.map { i in counts[i] * (grouped[i].first?.rows ?? 1) }.max() ?? 0
        parameterStarts = .allocate(capacity: max(most, 1))
    }

    deinit {
        close()
        parameterStarts.deallocate()
    }

    /// The values of a row as they were bound, read where they are in the batch: valid during
    /// the `Observer` call it is given to. Parameters count from 0 here.
    public struct BoundRow {
        let base: UnsafePointer<UInt8>
        let starts: UnsafeBufferPointer<Int>

        /// A text parameter's bytes; nil for NULL or an integer.
        public func bytes(_ parameter: Int32) -> UnsafeBufferPointer<UInt8>? {
            let at = starts[Int(parameter)]
            guard base[at] == 1 else { return nil }
            let n = Int(UnsafeRawPointer(base + at + 1).loadUnaligned(as: UInt32.self).littleEndian)
            return UnsafeBufferPointer(start: base + at + 5, count: n)
        }

        /// An integer parameter's value; nil for NULL or text.
        public func int64(_ parameter: Int32) -> Int64? {
            let at = starts[Int(parameter)]
            guard base[at] == 2 else { return nil }
            return Int64(littleEndian: UnsafeRawPointer(base + at + 1).loadUnaligned(as: Int64.self))
        }
    }

    /// A row's values, in parameter order, encoded into the batch's bytes as `Batch` says. Callers
    /// write each value with its concrete type: values handed through a parameter pack were
    /// copied, inspected and destroyed through generic witnesses, a quarter of the deciding
    /// thread's time.
    public struct RowValues {
        @usableFromInline var base: UnsafeMutableRawPointer
        @usableFromInline var count: Int
        @usableFromInline var capacity: Int

        init(_ b: ByteBuffer) {
            base = b.base
            count = b.count
            capacity = b.capacity
        }

        /// Gives the buffer its (possibly moved) memory and new length back.
        func store(into b: ByteBuffer) {
            b.base = base
            b.count = count
            b.capacity = capacity
        }

        @inlinable
        public mutating func text(_ value: String?) {
            guard let value else { return null() }
            if let small = value.smallUTF8 {
                // Both words stored (room for 16 bytes), the length advanced by the text's.
                reserve(5 + 16)
                put(UInt8(1))
                put(UInt32(small.count))
                base.storeBytes(of: small.words.0, toByteOffset: count, as: UInt64.self)
                base.storeBytes(of: small.words.1, toByteOffset: count + 8, as: UInt64.self)
                count += small.count
                return
            }
            var copy = value
            copy.withUTF8 { bytes($0) }
        }

        /// A decimal as `DecimalText.format(value, scale:)` writes it, its bytes written straight
        /// into the row (no string made and copied for it).
        public mutating func decimal(_ value: Decimal, scale: Int) {
            if DecimalText.withFormatBytes(value, scale: scale, { bytes($0) }) == nil { text(DecimalText.format(value, scale: scale)) }
        }

        /// Hundredths as `DecimalText.format(hundredths:)` writes them, straight into the row.
        public mutating func decimal(hundredths n: Int64) {
            DecimalText.withFormatBytes(hundredths: n) { bytes($0) }
        }

        /// Text given as its UTF-8 bytes.
        @inlinable
        mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
            reserve(5 + b.count)
            put(UInt8(1))
            put(UInt32(b.count))
            if let from = b.baseAddress { (base + count).copyMemory(from: from, byteCount: b.count) }
            count += b.count
        }

        /// A date as its ISO text (`BusinessDate.iso`), written straight into the row: no string
        /// made and copied for it.
        public mutating func date(_ value: BusinessDate?) {
            guard let value else { return null() }
            reserve(15)
            put(UInt8(1))
            put(UInt32(10))
            value.writeISO(into: UnsafeMutableBufferPointer(start: (base + count).assumingMemoryBound(to: UInt8.self), count: 10))
            count += 10
        }

        @inlinable
        public mutating func integer(_ value: Int64?) {
            guard let value else { return null() }
            reserve(9)
            put(UInt8(2))
            put(value)
        }

        @inlinable
        mutating func null() {
            reserve(1)
            put(UInt8(0))
        }

        /// Room for `n` more bytes.
        @inlinable
        mutating func reserve(_ n: Int) {
            if count + n > capacity { grow(to: count + n) }
        }

        @usableFromInline
        mutating func grow(to needed: Int) {
            var c = capacity * 2
            while c < needed { c *= 2 }
            let b = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
            b.bindMemory(to: UInt8.self, capacity: c)
            b.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = b
            capacity = c
        }

        /// Appends a value's bytes, little-endian, where `reserve` made room.
        @inlinable
        mutating func put<T: FixedWidthInteger>(_ value: T) {
            base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
            count += MemoryLayout<T>.size
        }
    }

    /// Queues a row for `statements[statement]`, its values written by `values` in parameter
    /// order; it runs after every row queued before it. Synchronous: runs at once, from the same
    /// bytes (SQLite then binds the text without copying it, as the writer does).
    public func row(_ statement: Int, key: String? = nil, _ values: (inout RowValues) -> Void) throws {
        var row = RowValues(pending.bytes)
        row.reserve(1)
        row.put(UInt8(statement))
        values(&row)
        row.store(into: pending.bytes)
        pending.rows += 1
        if synchronous {
            defer {
                pending.rows = 0
                pending.bytes.removeAll()
            }
            return try execute(pending)
        }
        if let key { pendingKeys.append(KeyFilter.fingerprint(key)) }
        if pending.rows >= Self.rowsPerBatch { try handOver() }
    }

    /// `row` with the values given in parameter order (generic: for tests and rare rows).
    public func row<each V: RawBindable>(_ statement: Int, key: String? = nil, _ values: repeat each V) throws {
        try row(statement, key: key) { row in
            for value in repeat each values { value.write(into: &row) }
        }
    }

    /// Whether a row queued with `key` may not have run yet.
    public func isInFlight(_ key: String) -> Bool {
        guard !synchronous else { return false }
        let key = KeyFilter.fingerprint(key)
        if pendingKeys.contains(key) { return true }
        state.lock()
        let done = completed
        state.unlock()
        forget(upTo: done)
        return keysOfBatches[keysStart...].contains { $0.keys.contains(key) }
    }

    /// Returns once every queued row has run; throws the first failure.
    public func drain() throws {
        guard !synchronous else { return }
        try handOver()
        state.lock()
        while (!queue.isEmpty || busy) && failure == nil { state.wait() }
        let done = completed
        let failed = failure
        state.unlock()
        if let failed { throw failed }
        forget(upTo: done)
    }

    /// Runs `body` with the connection to itself (a read between the writer's rows).
    public func withConnection<T>(_ body: () throws -> T) rethrows -> T {
        connection.lock()
        defer { connection.unlock() }
        return try body()
    }

    /// Drains, then stops the thread.
    public func finish() throws {
        defer { close() }
        try drain()
    }

    /// Stops the thread, dropping rows not yet run; waits until it no longer uses the connection.
    public func close() {
        state.lock()
        closed = true
        queue.removeAll()
        state.broadcast()
        state.unlock()
        pending.rows = 0
        pending.bytes.removeAll()
        if started {
            stopped.wait()
            started = false
        }
    }

    func forget(upTo done: Int) {
        while keysStart < keysOfBatches.count, keysOfBatches[keysStart].seq <= done { keysStart += 1 }
        if keysStart > 16 {
            keysOfBatches.removeFirst(keysStart)
            keysStart = 0
        }
    }

    func handOver() throws {
        state.lock()
        defer { state.unlock() }
        if let failure { throw failure }
        guard pending.rows > 0 else { return }
        while queue.count >= Self.capacity && failure == nil { state.wait() }
        if let failure { throw failure }
        // What the writer finished is forgotten here too, so the key sets stay as small as the queue.
        forget(upTo: completed)
        handedOver += 1
        pending.seq = handedOver
        queue.append(pending)
        keysOfBatches.append((handedOver, pendingKeys))
        pendingKeys = []
        pending = spare.popLast() ?? Batch()
        pending.rows = 0
        pending.bytes.removeAll()
        state.broadcast()
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "dropline-write"
            thread.start()
        }
    }

    func run() {
        while true {
            state.lock()
            while queue.isEmpty && !closed { state.wait() }
            if queue.isEmpty {
                state.unlock()
                stopped.signal()
                return
            }
            let batch = queue.removeFirst()
            busy = true
            let failed = failure != nil
            state.unlock()
            var failedWith: (any Error)?
            if !failed {
                do { try execute(batch) } catch { failedWith = error }
            }
            state.lock()
            busy = false
            completed = batch.seq
            if let failedWith, failure == nil { failure = failedWith }
            if spare.count < 2 { spare.append(batch) }
            state.broadcast()
            state.unlock()
        }
    }

    /// Binds and runs each row of the batch in order, the connection held per statement run
    /// (a row, or the rows of a group).
    func execute(_ batch: Batch) throws {
        let raw = UnsafeRawPointer(batch.bytes.base)
        // Bound to bytes as allocated.
        let base = raw.assumingMemoryBound(to: UInt8.self)
        var at = 0
        var row = 0
        while row < batch.rows {
            let which = Int(base[at])
            let count = parameterCounts[which]
            // Rows of the statement one after another from here, as many as its largest group takes.
            var group: Group?
            if let largest = groups[which].first {
                var run = 1
                var next = Self.end(ofRowAt: at, parameters: count, in: raw)
                while run < largest.rows, row + run < batch.rows, Int(base[next]) == which {
                    run += 1
                    next = Self.end(ofRowAt: next, parameters: count, in: raw)
                }
                group = groups[which].first { $0.rows <= run }
            }
            let rows = group?.rows ?? 1
            let statement = group?.statement ?? statements[which]
            let h = statement.handle
            connection.lock()
            defer { connection.unlock() }
            for r in 0..<rows {
                at += 1
                bind(h, row: r, parameters: count, from: &at, in: raw)
            }
            try statement.run()
            row += rows
            if observed[which], let observer {
                let db = sqlite3_db_handle(h)
                let last = sqlite3_last_insert_rowid(db)
                if rows > 1 {
                    guard Int(sqlite3_changes(db)) == rows else {
                        throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "\(rows) rows inserted at once, \(sqlite3_changes(db)) changed", sql: statement.sql)
                    }
                }
                for r in 0..<rows {
                    observer(which, BoundRow(base: base, starts: UnsafeBufferPointer(rebasing: UnsafeBufferPointer(parameterStarts)[(r * count)..<((r + 1) * count)])), last - Int64(rows - 1 - r))
                }
            }
        }
    }

    /// Binds the `count` parameters of one row, from `at` in the batch, to the statement's
    /// parameters of its `row`-th row (from 0), noting where each begins (`parameterStarts`).
    func bind(_ h: OpaquePointer, row: Int, parameters count: Int, from at: inout Int, in raw: UnsafeRawPointer) {
        let first = row * count
        for p in 0..<count {
            parameterStarts[first + p] = at
            at = Self.bind(h, Int32(first + p + 1), at: at, in: raw)
        }
    }

    /// Binds the parameter at `at` in `raw` (see `Batch`) to parameter `index` of `h`; returns
    /// where the next parameter begins. Text is not copied by SQLite (static): the caller keeps
    /// the bytes until the statement has run, and binds every parameter again before it runs
    /// again.
    @inline(__always)
    static func bind(_ h: OpaquePointer, _ index: Int32, at: Int, in raw: UnsafeRawPointer) -> Int {
        let value = parameter(at: at, in: raw)
        switch value.tag {
        case 1:
            raw.advanced(by: value.start).withMemoryRebound(to: CChar.self, capacity: max(value.end - value.start, 1)) {
                _ = sqlite3_bind_text(h, index, $0, Int32(value.end - value.start), nil)
            }
        case 2: sqlite3_bind_int64(h, index, Int64(littleEndian: raw.loadUnaligned(fromByteOffset: value.start, as: Int64.self)))
        default: sqlite3_bind_null(h, index)
        }
        return value.end
    }

    /// The parameter at `at` in a batch (see `Batch`): its tag, and where its value's bytes
    /// start and end (the next parameter's start).
    @inline(__always)
    static func parameter(at: Int, in raw: UnsafeRawPointer) -> (tag: UInt8, start: Int, end: Int) {
        let tag = raw.load(fromByteOffset: at, as: UInt8.self)
        switch tag {
        case 1: return (tag, at + 5, at + 5 + Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self))))
        case 2: return (tag, at + 1, at + 9)
        default: return (tag, at + 1, at + 1)
        }
    }

    /// Where the row that begins at `at` (its statement's byte) ends: the next row's start.
    static func end(ofRowAt start: Int, parameters count: Int, in raw: UnsafeRawPointer) -> Int {
        var at = start + 1
        for _ in 0..<count { at = parameter(at: at, in: raw).end }
        return at
    }
}
