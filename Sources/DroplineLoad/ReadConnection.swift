import GRDB
import GRDBSQLite

/// A second, read-only connection to the database file of a connection in a write transaction:
/// it sees what was committed before that transaction, never the transaction's own changes, and
/// it can be used on another thread than the writer's. Nil for an in-memory or temporary database.
public final class ReadConnection {
    let handle: OpaquePointer

    public convenience init?(besides db: Database) {
        guard let main = db.sqliteConnection, let name = sqlite3_db_filename(main, "main") else { return nil }
        self.init(path: String(cString: name))
    }

    /// A read-only connection to the database file at `path`; nil if there is none.
    public init?(path: String) {
        guard !path.isEmpty, path != ":memory:" else { return nil }
        var h: OpaquePointer?
        guard sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let h else {
            if let h { sqlite3_close_v2(h) }
            return nil
        }
        handle = h
    }

    /// Closed once its statements are finalized too (`sqlite3_close_v2`).
    deinit { sqlite3_close_v2(handle) }

    /// Makes every later read see the database as the first of them does, until `endSnapshot`:
    /// one read transaction for all of them. Each read on its own began and ended one, and in
    /// WAL mode that costs more than an index lookup (a shared lock, the WAL index header, the
    /// read mark). While it lasts, a checkpoint cannot move what is newer into the database
    /// file: end it before the writer commits.
    public func beginSnapshot() throws { try execute("BEGIN DEFERRED") }

    /// Ends the read transaction of `beginSnapshot`; does nothing without one.
    public func endSnapshot() {
        if sqlite3_get_autocommit(handle) == 0 { _ = try? execute("COMMIT") }
    }

    func execute(_ sql: String) throws {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(handle)), sql: sql) }
    }

    public func prepare(_ sql: String) throws -> RawStatement { try RawStatement(connection: handle, sql) }
}
