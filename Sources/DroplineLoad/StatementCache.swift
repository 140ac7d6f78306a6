import GRDB

/// Prepared statements by SQL text, for one connection inside one transaction.
public final class StatementCache {
    let db: Database
    var statements: [String: Statement] = [:]

    public init(_ db: Database) { self.db = db }

    public func callAsFunction(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        let s = try db.makeStatement(sql: sql)
        statements[sql] = s
        return s
    }
}
