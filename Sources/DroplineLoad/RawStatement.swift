import CDroplineSQLite
import DroplineCore
import GRDB
import GRDBSQLite

/// Process-wide SQLite settings, applied once before the first connection opens.
public enum SQLiteSetup {
    public static let applied: Bool = dropline_sqlite_configure() == 0
}

/// A prepared statement driven through SQLite's C API: typed binds and column reads without
/// GRDB's per-call argument arrays and row objects. For the statements run once or more per
/// record on the hot path; everything else goes through GRDB. Lives inside one transaction of
/// the `Database` it was prepared on (finalized on deinit, before the connection closes).
/// Errors are GRDB `DatabaseError`s, so storage failures are classified as usual.
public final class RawStatement {
    @usableFromInline let handle: OpaquePointer
    let connection: OpaquePointer
    public let sql: String

    public convenience init(_ db: Database, _ sql: String) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed", sql: sql) }
        try self.init(connection: connection, sql)
    }

    init(connection: OpaquePointer, _ sql: String) throws {
        var handle: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard rc == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// SQLite copies bound text (`SQLITE_TRANSIENT`): the Swift string need not outlive the bind.
    @usableFromInline static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    @usableFromInline
    func bindText(_ text: String?, at index: Int32) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient) }
            } else {
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
        }
    }

    @usableFromInline
    func bindInteger(_ value: Int64?, at index: Int32) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }


    /// One text to parameter 1: the per-record lookups' form, without the generic calls of
    /// the variadic `bind`.
    public func bind(_ text: String) { bindText(text, at: 1) }

    /// Two texts to parameters 1 and 2.
    public func bind(_ first: String, _ second: String) {
        bindText(first, at: 1)
        bindText(second, at: 2)
    }

    /// Binds the values to parameters 1, 2, ... (text, integers or NULL for nil), without
    /// building an array of them.
    public func bind<each V: RawBindable>(_ values: repeat each V) {
        bind(repeat each values, from: 1)
    }

    /// Binds the values to parameters `first`, `first + 1`, ...
    public func bind<each V: RawBindable>(_ values: repeat each V, from first: Int32) {
        var index = first - 1
        for value in repeat each values {
            index += 1
            value.bind(to: self, at: index)
        }
    }

    /// Binds the record's `fields` (by name, as `bind(_:at:)` stores them) to parameters `first`,
    /// `first + 1`, ...; returns the parameter after the last.
    @discardableResult
    public func bind(_ record: DroplineCore.Record, fields: [String], from first: Int32) -> Int32 {
        var index = first
        for name in fields {
            bind(record[name], at: index)
            index += 1
        }
        return index
    }

    /// A record value as the warehouse stores it (`Value.databaseValue`): NULL, an integer, or
    /// the value's text (decimals with their exact digits, ISO dates).
    public func bind(_ value: Value, at index: Int32) {
        switch value {
        case .null: sqlite3_bind_null(handle, index)
        case .integer(let i): sqlite3_bind_int64(handle, index, i)
        default: bindText(value.text ?? "", at: index)
        }
    }

    /// The row `run(row:)` writes its parameters into, reused row after row.
    private lazy var rowBuffer = WriteBehind.ByteBuffer(capacity: 512)

    /// Runs the statement (as `run()`) with the parameters `values` writes, in order from 1,
    /// bound without SQLite's own copy of each text: they are written once into the statement's
    /// buffer and bound from there (`SQLITE_STATIC`), and the bindings are cleared before it
    /// returns, so no parameter points into the buffer after. For the widest rows written per
    /// record: a copied text (`SQLITE_TRANSIENT`, as `bind` does) is an allocation, a copy and a
    /// free inside SQLite, 470 instructions a value on the workers' loads (16 a row).
    public func run(row values: (inout WriteBehind.RowValues) -> Void) throws {
        rowBuffer.removeAll()
        var row = WriteBehind.RowValues(rowBuffer)
        values(&row)
        row.store(into: rowBuffer)
        defer { sqlite3_clear_bindings(handle) }
        let raw = UnsafeRawPointer(rowBuffer.base)
        var at = 0, index: Int32 = 1
        while at < rowBuffer.count {
            at = WriteBehind.bind(handle, index, at: at, in: raw)
            index += 1
        }
        try run()
    }

    /// Runs the statement to completion (INSERT, UPDATE, DELETE) and resets it.
    public func run() throws {
        defer { sqlite3_reset(handle) }
        var rc = sqlite3_step(handle)
        while rc == SQLITE_ROW { rc = sqlite3_step(handle) }
        guard rc == SQLITE_DONE else { throw error(rc) }
    }

    /// Advances to the next row: true while there is one. Call `reset()` when done reading.
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        sqlite3_reset(handle)
        throw error(rc)
    }

    public func reset() { sqlite3_reset(handle) }

    public func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(utf8Bytes: UnsafeBufferPointer(start: p, count: n))
    }

    /// The column's text bytes, valid until the next step, reset or column read of the
    /// statement; nil for NULL.
    public func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column)))
    }

    public func int64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func error(_ rc: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }
}

extension WriteBehind.RowValues {
    /// A record value as the warehouse stores it, as `RawStatement.bind(_:at:)` binds it: NULL,
    /// an integer, or the value's text.
    public mutating func value(_ value: Value) {
        switch value {
        case .null: null()
        case .integer(let i): integer(i)
        case .string(let s): text(s)
        case .decimal(let d, let scale?): decimal(d, scale: scale)
        case .date(let d): date(d)
        default: text(value.text)
        }
    }
}

/// A value `RawStatement.bind(_:...)` and `WriteBehind.row` take: text, an integer, or nil for NULL.
public protocol RawBindable {
    func bind(to statement: RawStatement, at index: Int32)
    func write(into row: inout WriteBehind.RowValues)
}

extension String: RawBindable {
    @inlinable public func bind(to statement: RawStatement, at index: Int32) { statement.bindText(self, at: index) }
    @inlinable public func write(into row: inout WriteBehind.RowValues) { row.text(self) }
}

extension Int64: RawBindable {
    @inlinable public func bind(to statement: RawStatement, at index: Int32) { statement.bindInteger(self, at: index) }
    @inlinable public func write(into row: inout WriteBehind.RowValues) { row.integer(self) }
}

extension Int: RawBindable {
    @inlinable public func bind(to statement: RawStatement, at index: Int32) { statement.bindInteger(Int64(self), at: index) }
    @inlinable public func write(into row: inout WriteBehind.RowValues) { row.integer(Int64(self)) }
}

extension Optional: RawBindable where Wrapped: RawBindable {
    @inlinable public func bind(to statement: RawStatement, at index: Int32) {
        if let self { self.bind(to: statement, at: index) } else { sqlite3_bind_null(statement.handle, index) }
    }
    @inlinable public func write(into row: inout WriteBehind.RowValues) {
        if let self { self.write(into: &row) } else { row.text(nil) }
    }
}
