import DroplineCore
import Foundation
import GRDB

/// Loads records into warehouse tables inside the caller's transaction (one per input file), and
/// answers reference lookups from the same connection, so that records see their predecessors.
public final class WarehouseSession: ReferenceLookup {
    let db: Database
    let runID: String
    var exportID: String = ""

    public init(db: Database, runID: String) {
        self.db = db
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
        let applicable = try plans(for: record.type, loads, shape: shape)
        if applicable.isEmpty { return nil }
        try beforeAccess()
        // One load writes with one statement, or checks before it writes: no savepoint needed.
        if applicable.count == 1 { return try applicable[0].apply(record, self) }
        var rejection: RecordIssue?
        try db.inSavepoint {
            for load in applicable {
                if let issue = try load.apply(record, self) {
                    rejection = issue
                    return .rollback
                }
            }
            return .commit
        }
        return rejection
    }

    /// The loads of each record type, compiled on first use: a file's records of one type share
    /// their SQL and prepared statements (a master-data record wrote and hashed its SQL text
    /// again for every statement, a third of a worker's load).
    var compiled: [String: [CompiledLoad]] = [:]
    var lastCompiled: (type: String, loads: [CompiledLoad])?

    func plans(for type: String, _ loads: [LoadDefinition], shape: [String]) throws -> [CompiledLoad] {
        if let last = lastCompiled, last.type == type { return last.loads }
        let plans: [CompiledLoad]
        if let known = compiled[type] {
            plans = known
        } else {
            plans = try loads.filter { $0.record == type }.compactMap { try CompiledLoad($0, shape: shape, db: db) }
            compiled[type] = plans
        }
        lastCompiled = (type, plans)
        return plans
    }

    /// One load definition for one record type, its statements prepared on the session's
    /// connection (for the session's transaction).
    enum CompiledLoad {
        case table(TableStatement)
        case effectiveDated(EffectiveDatedLoad, terminate: (find: RawStatement, close: RawStatement)?, overlap: RawStatement, upsert: TableStatement)
        /// No statements when the table does not exist (as the file's load begins: loads never
        /// create another pipeline's table): every record then misses its row.
        case update(UpdateLoad, statements: (find: RawStatement, set: RawStatement)?)

        init?(_ load: LoadDefinition, shape: [String], db: Database) throws {
            switch load {
            case .table(let t): self = .table(try TableStatement(t, shape: shape, db: db))
            case .effectiveDated(let e):
                let keyWhere = e.key.map { "\(quoted($0)) = ?" }.joined(separator: " AND ")
                let (table, from, to) = (quoted(e.table), quoted(e.fromField), quoted(e.toField))
                let terminate = try e.actionField.map { _ in
                    (find: try RawStatement(db, "SELECT \(from) FROM \(table) WHERE \(keyWhere) AND \(to) = ?"),
                     close: try RawStatement(db, "UPDATE \(table) SET \(to) = ?, \"_export_id\" = ?, \"_run_id\" = ? WHERE \(keyWhere) AND \(from) = ?"))
                }
                let overlap = try RawStatement(db, "SELECT \(from), \(to) FROM \(table) WHERE \(keyWhere) AND \(from) <> ? AND \(from) <= ? AND \(to) >= ? LIMIT 1")
                let upsert = try TableStatement(TableLoad(record: e.record, table: e.table, key: e.key + [e.fromField], mode: .upsert, columns: e.columns, keepWhenNull: []), shape: shape, db: db)
                self = .effectiveDated(e, terminate: terminate, overlap: overlap, upsert: upsert)
            case .update(let u):
                guard try db.tableExists(u.table) else {
                    self = .update(u, statements: nil)
                    return
                }
                let (table, whereSQL) = (quoted(u.table), u.match.map { "\(quoted($0.column)) = ?" }.joined(separator: " AND "))
                self = .update(u, statements: (find: try RawStatement(db, "SELECT \(u.set.map { quoted($0.column) }.joined(separator: ", ")) FROM \(table) WHERE \(whereSQL)"),
                                               set: try RawStatement(db, "UPDATE \(table) SET \(u.set.map { "\(quoted($0.column)) = COALESCE(?, \(quoted($0.column)))" }.joined(separator: ", ")) WHERE \(whereSQL)")))
            case .snapshotFile, .timePosting: return nil
            }
        }

        func apply(_ record: DroplineCore.Record, _ session: WarehouseSession) throws -> RecordIssue? {
            switch self {
            case .table(let t): return try t.write(record, session)
            case .effectiveDated(let e, let terminate, let overlap, let upsert): return try session.effectiveDated(e, record, terminate: terminate, overlap: overlap, upsert: upsert)
            case .update(let u, let statements): return try session.update(u, record, statements)
            }
        }
    }

    /// The INSERT (or upsert) of a table load with its columns in parameter order, then
    /// `_export_id` and `_run_id`.
    struct TableStatement {
        let load: TableLoad
        let columns: [String]
        let statement: RawStatement

        init(_ t: TableLoad, shape: [String], db: Database) throws {
            load = t
            columns = t.columns ?? shape
            let all = columns + ["_export_id", "_run_id"]
            var sql = "INSERT INTO \(quoted(t.table)) (\(all.map(quoted).joined(separator: ", "))) VALUES (\(all.map { _ in "?" }.joined(separator: ", ")))"
            if t.mode == .upsert {
                let sets = all.filter { !t.key.contains($0) }.map { c in
                    t.keepWhenNull.contains(c) ? "\(quoted(c)) = COALESCE(excluded.\(quoted(c)), \(quoted(t.table)).\(quoted(c)))" : "\(quoted(c)) = excluded.\(quoted(c))"
                }
                sql += " ON CONFLICT (\(t.key.map(quoted).joined(separator: ", "))) DO " + (sets.isEmpty ? "NOTHING" : "UPDATE SET " + sets.joined(separator: ", "))
            }
            statement = try RawStatement(db, sql)
        }

        func write(_ record: DroplineCore.Record, _ session: WarehouseSession) throws -> RecordIssue? {
            do {
                try statement.run { row in
                    for name in columns { row.value(record[name]) }
                    row.text(session.exportID)
                    row.text(session.runID)
                }
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                let t = load
                return RecordIssue(code: .duplicateRecord, field: t.key.joined(separator: "+"), expected: "a key not yet in \(t.table)", actual: t.key.map { record[$0].text ?? "" }.joined(separator: "/"), hint: "this table only takes new keys")
            }
            return nil
        }
    }

    func effectiveDated(_ e: EffectiveDatedLoad, _ original: DroplineCore.Record, terminate: (find: RawStatement, close: RawStatement)?, overlap: RawStatement, upsert: TableStatement) throws -> RecordIssue? {
        // An absent end means open-ended.
        var record = original
        if record[e.toField].isNull { record[e.toField] = .date(.openEnd) }
        let from = record[e.fromField].text ?? "", to = record[e.toField].text ?? ""
        let open = BusinessDate.openEnd.iso
        if let action = e.actionField, let terminate, record[action].text == e.terminateValue {
            func bad(_ why: String) -> RecordIssue {
                RecordIssue(code: e.terminationReason, field: e.toField, expected: why, actual: to, hint: "terminate only an open range, with a real last day on or after its start")
            }
            guard to != open else { return bad("a last day of employment, not the open end") }
            let find = terminate.find
            find.bind(open, from: find.bind(record, fields: e.key, from: 1))
            let openFrom: String? = try find.step() ? find.text(0) : nil
            find.reset()
            guard let openFrom else { return bad("an open range to terminate") }
            guard to >= openFrom else { return bad("a date on or after the open range's start \(openFrom)") }
            let close = terminate.close
            close.bind(to, exportID, runID)
            close.bind(openFrom, from: close.bind(record, fields: e.key, from: 4))
            try close.run()
            return nil
        }
        overlap.bind(from, to, from, from: overlap.bind(record, fields: e.key, from: 1))
        let found: (String, String)? = try overlap.step() ? (overlap.text(0) ?? "", overlap.text(1) ?? "") : nil
        overlap.reset()
        if let (a, b) = found {
            return RecordIssue(code: e.overlapReason, field: e.fromField, expected: "a range not overlapping \(a)..\(b)", actual: "\(from)..\(to)", hint: "shorten the earlier range first (records apply in file order)")
        }
        return try upsert.write(record, self)
    }

    func update(_ u: UpdateLoad, _ record: DroplineCore.Record, _ statements: (find: RawStatement, set: RawStatement)?) throws -> RecordIssue? {
        guard u.when.allSatisfy({ record[$0.field].text == $0.value }) else { return nil }
        func missing() -> RecordIssue {
            RecordIssue(code: u.missingReason, field: u.match.map(\.field).joined(separator: "+"), expected: "an existing \(u.table) entry", actual: u.match.map { record[$0.field].text ?? "" }.joined(separator: "/"), hint: "load the master data first, or correct the value")
        }
        guard let (find, set) = statements else { return missing() }
        for (i, m) in u.match.enumerated() { find.bind(record[m.field], at: Int32(i + 1)) }
        guard try find.step() else {
            find.reset()
            return missing()
        }
        let stored = (0..<u.set.count).map { find.text(Int32($0)) }
        find.reset()
        for (i, s) in u.set.enumerated() {
            let incoming = record[s.field].text
            if let stored = stored[i], let incoming, stored != incoming {
                return RecordIssue(code: u.conflictReason, field: s.field, expected: "the stored \(s.column) \(stored) or none", actual: incoming, hint: "resolve which value is right with the sending system")
            }
        }
        for (i, s) in u.set.enumerated() { set.bind(record[s.field], at: Int32(i + 1)) }
        for (i, m) in u.match.enumerated() { set.bind(record[m.field], at: Int32(u.set.count + i + 1)) }
        try set.run()
        return nil
    }

    // MARK: ReferenceLookup

    /// What a `reference` rule asks: its statement is prepared once per file (nil: the table
    /// does not exist as the file's load begins, and no load creates another pipeline's table).
    struct ExistsQuery: Hashable {
        var table: String
        var columns: [String]
        var effective: [String]
    }
    var existsStatements: [ExistsQuery: RawStatement?] = [:]

    public func exists(table: String, columns: [String], values: [String], effective: (date: BusinessDate, fromColumn: String, toColumn: String)?) throws -> Bool {
        try beforeAccess()
        let key = ExistsQuery(table: table, columns: columns, effective: effective.map { [$0.fromColumn, $0.toColumn] } ?? [])
        let statement: RawStatement?
        if let known = existsStatements[key] {
            statement = known
        } else {
            var sql = "SELECT 1 FROM \(quoted(table)) WHERE " + columns.map { "\(quoted($0)) = ?" }.joined(separator: " AND ")
            if let e = effective { sql += " AND \(quoted(e.fromColumn)) <= ? AND \(quoted(e.toColumn)) >= ?" }
            statement = try db.tableExists(table) ? try RawStatement(db, sql + " LIMIT 1") : nil
            existsStatements[key] = statement
        }
        guard let statement else { return false }
        for (i, value) in values.enumerated() { statement.bind(value, from: Int32(i + 1)) }
        if let e = effective { statement.bind(e.date.iso, e.date.iso, from: Int32(values.count + 1)) }
        defer { statement.reset() }
        return try statement.step()
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
