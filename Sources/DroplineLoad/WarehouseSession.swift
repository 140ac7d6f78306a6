import DroplineCore
import Foundation
import GRDB

/// Loads records into warehouse tables inside the caller's transaction (one per input file), and
/// answers reference lookups from the same connection, so that records see their predecessors.
public final class WarehouseSession: ReferenceLookup {
    let db: Database
    let runID: String
    var exportID: String = ""
    let statement: StatementCache

    public init(db: Database, runID: String) {
        self.db = db
        self.statement = StatementCache(db)
        self.runID = runID
    }

    public func setExport(id: String) { exportID = id }

    /// Runs before every use of the connection: a caller whose writes run behind
    /// (`WriteBehind`) waits for them here, so loads and lookups see every record before.
    public var beforeAccess: () throws -> Void = {}

    // MARK: schema

    /// Creates the pipeline's tables when missing and adds columns a newer definition declares.
    /// Table shapes follow the record fields; every table also gets `_export_id` and `_run_id`.
    public static func ensureSchema(_ db: Database, for definition: PipelineDefinition) throws {
        for load in definition.loads {
            let (table, record, key, columns): (String, String, [String], [String]?)
            switch load {
            case .table(let t): (table, record, key, columns) = (t.table, t.record, t.key, t.columns)
            case .effectiveDated(let e): (table, record, key, columns) = (e.table, e.record, e.key + [e.fromField], e.columns)
            default: continue
            }
            let declared = definition.fieldShape(of: record)
            let shape: [(name: String, type: FieldType?)] = columns.map { cols in cols.map { c in (c, declared.first { $0.name == c }?.type) } } ?? declared
            let existing = try db.tableExists(table) ? Set(try db.columns(in: table).map(\.name)) : nil
            if let existing {
                for col in shape where !existing.contains(col.name) {
                    try db.execute(sql: "ALTER TABLE \(quoted(table)) ADD COLUMN \(quoted(col.name)) \(col.type?.sqlType ?? "TEXT")")
                }
            } else {
                let cols = shape.map { "\(quoted($0.name)) \($0.type?.sqlType ?? "TEXT")" } + ["\"_export_id\" TEXT", "\"_run_id\" TEXT"]
                try db.execute(sql: "CREATE TABLE \(quoted(table)) (\(cols.joined(separator: ", ")), PRIMARY KEY (\(key.map(quoted).joined(separator: ", "))))")
            }
        }
    }

    // MARK: loads

    /// Applies every load of the record's type, all or nothing (a savepoint per record).
    /// Returns the issue that rejects the record, or nil when it loaded.
    public func load(_ record: DroplineCore.Record, with loads: [LoadDefinition], shape: [String]) throws -> RecordIssue? {
        let applicable = loads.filter { $0.record == record.type }
        if !applicable.isEmpty { try beforeAccess() }
        // One load writes with one statement, or checks before it writes: no savepoint needed.
        if applicable.count <= 1 { return try applicable.first.flatMap { try apply($0, record, shape: shape) } }
        var rejection: RecordIssue?
        try db.inSavepoint {
            for load in loads where load.record == record.type {
                if let issue = try apply(load, record, shape: shape) {
                    rejection = issue
                    return .rollback
                }
            }
            return .commit
        }
        return rejection
    }

    func apply(_ load: LoadDefinition, _ record: DroplineCore.Record, shape: [String]) throws -> RecordIssue? {
        switch load {
        case .table(let t): return try upsert(t, record, shape: shape)
        case .effectiveDated(let e): return try effectiveDated(e, record, shape: shape)
        case .update(let u): return try update(u, record)
        case .snapshotFile, .timePosting: return nil
        }
    }

    func upsert(_ t: TableLoad, _ record: DroplineCore.Record, shape: [String]) throws -> RecordIssue? {
        let cols = t.columns ?? shape
        let all = cols + ["_export_id", "_run_id"]
        var sql = "INSERT INTO \(quoted(t.table)) (\(all.map(quoted).joined(separator: ", "))) VALUES (\(all.map { _ in "?" }.joined(separator: ", ")))"
        if t.mode == .upsert {
            let sets = all.filter { !t.key.contains($0) }.map { c in
                t.keepWhenNull.contains(c) ? "\(quoted(c)) = COALESCE(excluded.\(quoted(c)), \(quoted(t.table)).\(quoted(c)))" : "\(quoted(c)) = excluded.\(quoted(c))"
            }
            sql += " ON CONFLICT (\(t.key.map(quoted).joined(separator: ", "))) DO " + (sets.isEmpty ? "NOTHING" : "UPDATE SET " + sets.joined(separator: ", "))
        }
        let values = cols.map { record[$0].databaseValue } + [exportID.databaseValue, runID.databaseValue]
        do {
            try statement(sql).execute(arguments: StatementArguments(values))
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            return RecordIssue(code: .duplicateRecord, field: t.key.joined(separator: "+"), expected: "a key not yet in \(t.table)", actual: t.key.map { record[$0].text ?? "" }.joined(separator: "/"), hint: "this table only takes new keys")
        }
        return nil
    }

    func effectiveDated(_ e: EffectiveDatedLoad, _ original: DroplineCore.Record, shape: [String]) throws -> RecordIssue? {
        // An absent end means open-ended.
        var record = original
        if record[e.toField].isNull { record[e.toField] = .date(.openEnd) }
        let keyValues = e.key.map { record[$0].databaseValue }
        let keyWhere = e.key.map { "\(quoted($0)) = ?" }.joined(separator: " AND ")
        let from = record[e.fromField].text ?? "", to = record[e.toField].text ?? ""
        let open = BusinessDate.openEnd.iso
        if let action = e.actionField, record[action].text == e.terminateValue {
            func bad(_ why: String) -> RecordIssue {
                RecordIssue(code: e.terminationReason, field: e.toField, expected: why, actual: to, hint: "terminate only an open range, with a real last day on or after its start")
            }
            guard to != open else { return bad("a last day of employment, not the open end") }
            let row = try Row.fetchOne(statement("SELECT \(quoted(e.fromField)) FROM \(quoted(e.table)) WHERE \(keyWhere) AND \(quoted(e.toField)) = ?"), arguments: StatementArguments(keyValues + [open.databaseValue]))
            guard let row, let openFrom: String = row[0] else { return bad("an open range to terminate") }
            guard to >= openFrom else { return bad("a date on or after the open range's start \(openFrom)") }
            try statement("UPDATE \(quoted(e.table)) SET \(quoted(e.toField)) = ?, \"_export_id\" = ?, \"_run_id\" = ? WHERE \(keyWhere) AND \(quoted(e.fromField)) = ?")
                .execute(arguments: StatementArguments([to.databaseValue, exportID.databaseValue, runID.databaseValue] + keyValues + [openFrom.databaseValue]))
            return nil
        }
        let overlap = try Row.fetchOne(statement("SELECT \(quoted(e.fromField)), \(quoted(e.toField)) FROM \(quoted(e.table)) WHERE \(keyWhere) AND \(quoted(e.fromField)) <> ? AND \(quoted(e.fromField)) <= ? AND \(quoted(e.toField)) >= ? LIMIT 1"),
                                       arguments: StatementArguments(keyValues + [from.databaseValue, to.databaseValue, from.databaseValue]))
        if let overlap {
            let a: String = overlap[0], b: String = overlap[1]
            return RecordIssue(code: e.overlapReason, field: e.fromField, expected: "a range not overlapping \(a)..\(b)", actual: "\(from)..\(to)", hint: "shorten the earlier range first (records apply in file order)")
        }
        return try upsert(TableLoad(record: e.record, table: e.table, key: e.key + [e.fromField], mode: .upsert, columns: e.columns, keepWhenNull: []), record, shape: shape)
    }

    func update(_ u: UpdateLoad, _ record: DroplineCore.Record) throws -> RecordIssue? {
        guard u.when.allSatisfy({ record[$0.field].text == $0.value }) else { return nil }
        let whereSQL = u.match.map { "\(quoted($0.column)) = ?" }.joined(separator: " AND ")
        let matchValues = u.match.map { record[$0.field].databaseValue }
        let row = try db.tableExists(u.table) ? try Row.fetchOne(statement("SELECT \(u.set.map { quoted($0.column) }.joined(separator: ", ")) FROM \(quoted(u.table)) WHERE \(whereSQL)"), arguments: StatementArguments(matchValues)) : nil
        guard let row else {
            return RecordIssue(code: u.missingReason, field: u.match.map(\.field).joined(separator: "+"), expected: "an existing \(u.table) entry", actual: u.match.map { record[$0.field].text ?? "" }.joined(separator: "/"), hint: "load the master data first, or correct the value")
        }
        for (i, s) in u.set.enumerated() {
            let stored: String? = row[i]
            let incoming = record[s.field].text
            if let stored, let incoming, stored != incoming {
                return RecordIssue(code: u.conflictReason, field: s.field, expected: "the stored \(s.column) \(stored) or none", actual: incoming, hint: "resolve which value is right with the sending system")
            }
        }
        try statement("UPDATE \(quoted(u.table)) SET \(u.set.map { "\(quoted($0.column)) = COALESCE(?, \(quoted($0.column)))" }.joined(separator: ", ")) WHERE \(whereSQL)")
            .execute(arguments: StatementArguments(u.set.map { record[$0.field].databaseValue } + matchValues))
        return nil
    }

    // MARK: ReferenceLookup

    public func exists(table: String, columns: [String], values: [String], effective: (date: BusinessDate, fromColumn: String, toColumn: String)?) throws -> Bool {
        try beforeAccess()
        guard try db.tableExists(table) else { return false }
        var sql = "SELECT 1 FROM \(quoted(table)) WHERE " + columns.map { "\(quoted($0)) = ?" }.joined(separator: " AND ")
        var args = values.map(\.databaseValue)
        if let e = effective {
            sql += " AND \(quoted(e.fromColumn)) <= ? AND \(quoted(e.toColumn)) >= ?"
            args += [e.date.iso.databaseValue, e.date.iso.databaseValue]
        }
        return try Row.fetchOne(statement(sql + " LIMIT 1"), arguments: StatementArguments(args)) != nil
    }
}

/// Double-quoted SQL identifier; names are checked by lint, quotes are doubled regardless.
public func quoted(_ name: String) -> String {
    // Identifiers come from pipeline definitions and rarely hold a quote: skip Foundation then.
    guard name.utf8.contains(UInt8(ascii: "\"")) else { return "\"" + name + "\"" }
    return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension Value {
    /// Text for everything but integers: decimals keep their exact digits, dates are ISO.
    public var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let i): i.databaseValue
        default: (text ?? "").databaseValue
        }
    }
}
