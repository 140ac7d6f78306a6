import DroplineCore
import GRDB
import GRDBSQLite

/// Writes a warehouse table snapshot as an outbound file, streaming rows to `sink`.
/// CSV per the interface conventions (UTF-8, header row, comma, LF after every row, quotes only
/// where needed); XML as UTF-8 with declaration, one element per row, a counting trailer.
public enum SnapshotWriter {
    /// Returns the number of records written. `run` supplies run-level values (run_date, seq...).
    /// `sentIn`: for send-once snapshots, the file whose recorded rows are written. `sink` gets
    /// the file's text in pieces of about 64 KiB, each ending at the end of a line.
    public static func write(_ load: SnapshotFileLoad, from db: Database, run: @escaping (String) -> Value?, sentIn: String? = nil, to sink: (String) throws -> Void) throws -> Int {
        try withoutActuallyEscaping(sink) { sink in
            let runValues: (String) -> Value = { run($0) ?? .null }
            var count = 0
            var out = Output(sink)
            switch load.format {
            case .csv(let columns):
                var templates = RowTemplates(columns.map(\.source), run: run)
                try out.append(columns.map { csvField($0.header) }.joined(separator: ",") + "\n")
                try rows(load, db, sentIn: sentIn) { row in
                    templates.resolve(row)
                    for k in columns.indices {
                        if k > 0 { out.bytes.append(UInt8(ascii: ",")) }
                        templates.render(k, row)
                        out.appendCSVField(templates.rendered)
                    }
                    out.bytes.append(0x0A)
                    try out.lineEnded()
                    count += 1
                }
            case .xml(let layout):
                var templates = RowTemplates(layout.recordAttributes.map(\.value), run: run)
                let element = Array("  <\(layout.record)".utf8)
                let names = layout.recordAttributes.map { Array(" \($0.name)=\"".utf8) }
                var root = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(layout.root)"
                if let ns = layout.namespace { root += " xmlns=\"\(escape(ns))\"" }
                try out.append(root + attributes(layout.rootAttributes, runValues) + ">\n")
                try rows(load, db, sentIn: sentIn) { row in
                    templates.resolve(row)
                    out.bytes.append(contentsOf: element)
                    // An attribute whose template is one field that is null is left out.
                    for k in names.indices where !templates.isNullField(k, row) {
                        out.bytes.append(contentsOf: names[k])
                        templates.render(k, row)
                        out.bytes.appendXMLEscaped(templates.rendered)
                        out.bytes.append(UInt8(ascii: "\""))
                    }
                    out.bytes.append("/>\n")
                    try out.lineEnded()
                    count += 1
                }
                let n = count
                try out.append("  <\(layout.control)" + attributes(layout.controlAttributes) { $0 == "count" ? .integer(Int64(n)) : runValues($0) } + "/>\n</\(layout.root)>\n")
            }
            try out.flush()
            return count
        }
    }

    /// A snapshot's bytes, gathered and handed on as text about 64 KiB at a time: a string per
    /// line, turned into the file's `Data` again, was two allocations and copies for every row.
    struct Output {
        let sink: (String) throws -> Void
        var bytes: [UInt8] = []
        static let chunk = 1 << 16

        init(_ sink: @escaping (String) throws -> Void) {
            self.sink = sink
            bytes.reserveCapacity(Self.chunk + 4096)
        }

        mutating func append(_ text: String) throws {
            bytes.append(contentsOf: text.utf8)
            try lineEnded()
        }

        /// Hands the bytes on once there are a chunk of them (only ever after a whole line).
        mutating func lineEnded() throws {
            if bytes.count >= Self.chunk { try flush() }
        }

        mutating func flush() throws {
            guard !bytes.isEmpty else { return }
            try sink(String(decoding: bytes, as: UTF8.self))
            bytes.removeAll(keepingCapacity: true)
        }

        /// `csvField` of a field's bytes.
        mutating func appendCSVField(_ field: [UInt8]) { SnapshotWriter.appendCSVField(field, to: &bytes) }
    }

    /// The templates a snapshot renders for every row (its columns, or its record's
    /// attributes), each name resolved once, at the first row, to where its value comes from:
    /// the run's values (fixed for the file), else the row's column of that name (found as `Row`
    /// finds it by name: case-insensitively, the first of equal names); a name that is neither is
    /// null. Every row of a snapshot comes from one statement, so its columns stand in the same
    /// order. Looked up by name, through a dictionary, for every field of every row, they were
    /// a tenth of the PSA resource feed's work (which holds the warehouse while the next
    /// pipeline waits); the values are now read where SQLite keeps them and written as bytes.
    struct RowTemplates {
        enum Slot {
            case fixed(Value)
            case column(Int32)
            case missing
        }

        enum Piece {
            case literal([UInt8])
            case field(Slot, format: String?)
        }

        let templates: [Template]
        let run: (String) -> Value?
        /// Each template's parts with their names resolved; filled at the first row.
        var pieces: [[Piece]]?
        /// The template `render` rendered last.
        var rendered: [UInt8] = []

        init(_ templates: [Template], run: @escaping (String) -> Value?) {
            self.templates = templates
            self.run = run
        }

        mutating func resolve(_ row: SnapshotRow) {
            guard pieces == nil else { return }
            var slots: [String: Slot] = [:]
            for name in templates.flatMap(\.fields) where slots[name] == nil {
                if let v = run(name) {
                    slots[name] = .fixed(v)
                } else {
                    slots[name] = row.column(named: name).map(Slot.column) ?? .missing
                }
            }
            pieces = templates.map { t in
                t.parts.map { part in
                    switch part {
                    case .literal(let s): .literal(Array(s.utf8))
                    case .field(let name, let format): .field(slots[name] ?? .missing, format: format)
                    }
                }
            }
        }

        /// Template `k` rendered for `row` (after `resolve`) into `rendered`.
        mutating func render(_ k: Int, _ row: SnapshotRow) {
            rendered.removeAll(keepingCapacity: true)
            for piece in pieces?[k] ?? [] {
                switch piece {
                case .literal(let bytes): rendered.append(contentsOf: bytes)
                case .field(let slot, let format): Self.append(slot, format: format, row, to: &rendered)
                }
            }
        }

        /// What `Template.append` writes of the slot's value: a column's text or integer without
        /// a format straight from the row, anything else through `Template.append`.
        static func append(_ slot: Slot, format: String?, _ row: SnapshotRow, to out: inout [UInt8]) {
            if format == nil, case .column(let i) = slot {
                switch row.type(i) {
                case SQLITE_TEXT:
                    if let bytes = row.statement.bytes(i) { out.append(contentsOf: bytes) }
                    return
                case SQLITE_INTEGER:
                    out.append(contentsOf: String(sqlite3_column_int64(row.statement.handle, i)).utf8)
                    return
                case SQLITE_NULL, SQLITE_BLOB:
                    return
                default:
                    break
                }
            }
            var text = ""
            Template.append(value(slot, row), format: format, to: &text)
            out.append(contentsOf: text.utf8)
        }

        /// Whether template `k` is one field, null in `row` (an XML attribute then left out).
        func isNullField(_ k: Int, _ row: SnapshotRow) -> Bool {
            guard let p = pieces?[k], p.count == 1, case .field(let slot, _) = p[0] else { return false }
            switch slot {
            case .fixed(let v): return v.isNull
            case .missing: return true
            case .column(let i):
                let type = row.type(i)
                return type == SQLITE_NULL || type == SQLITE_BLOB
            }
        }

        static func value(_ slot: Slot, _ row: SnapshotRow) -> Value {
            switch slot {
            case .fixed(let v): return v
            case .missing: return .null
            case .column(let i):
                switch row.type(i) {
                case SQLITE_INTEGER: return .integer(sqlite3_column_int64(row.statement.handle, i))
                case SQLITE_TEXT: return row.statement.text(i).map(Value.string) ?? .null
                case SQLITE_FLOAT: return .string(String(sqlite3_column_double(row.statement.handle, i)))
                default: return .null
                }
            }
        }
    }

    /// The row a snapshot's statement stands on, read in place (until the next step).
    struct SnapshotRow {
        let statement: RawStatement
        /// The columns' names, lowercased.
        let names: [String]

        init(_ statement: RawStatement) {
            self.statement = statement
            names = (0..<sqlite3_column_count(statement.handle)).map { String(cString: sqlite3_column_name(statement.handle, $0)).lowercased() }
        }

        /// The first column named `name`, case-insensitively (as `Row` finds a column by name).
        func column(named name: String) -> Int32? {
            names.firstIndex(of: name.lowercased()).map(Int32.init)
        }

        func type(_ i: Int32) -> Int32 { sqlite3_column_type(statement.handle, i) }

        /// The value of the column named `name` (NULL when there is none), as `Row` gives it.
        func databaseValue(named name: String) -> DatabaseValue {
            column(named: name).map { DatabaseValue(sqliteStatement: statement.handle, index: $0) } ?? .null
        }
    }

    /// Whether the snapshot would hold no row: read up to its first row only (counting them
    /// read every row of the table).
    public static func isEmpty(_ load: SnapshotFileLoad, in db: Database) throws -> Bool {
        struct Found: Error {}
        do {
            try rows(load, db) { _ in throw Found() }
        } catch is Found {
            return false
        }
        return true
    }

    /// The rows of the snapshot; with `send_once`, only rows whose key and content were not sent
    /// before (`sent_row`).
    /// With `sentIn`, the rows recorded as sent in that file.
    static func rows(_ load: SnapshotFileLoad, _ db: Database, sentIn: String? = nil, _ each: (SnapshotRow) throws -> Void) throws {
        // A table, or a view (the warehouse's postings and evaluations are views of narrower rows).
        guard try db.tableExists(load.table) || db.viewExists(load.table) else { return }
        if let once = load.sendOnce {
            try allRows(load, db) { row in
                let (key, hash) = identity(row, once)
                let file = try String.fetchOne(db, sql: "SELECT file FROM sent_row WHERE target = ? AND row_key = ? AND content_sha256 = ?", arguments: [load.target, key, hash])
                if file == sentIn { try each(row) }
            }
            return
        }
        try allRows(load, db, each)
    }

    static func identity(_ row: SnapshotRow, _ once: (key: [String], content: [String])) -> (String, String) {
        func text(_ c: String) -> String {
            let v = row.databaseValue(named: c)
            return v.isNull ? "\u{0}" : (String.fromDatabaseValue(v) ?? v.description)
        }
        return (once.key.map(text).joined(separator: "\u{1f}"), SHA256Text.hex(once.content.map(text).joined(separator: "\u{1f}")))
    }

    /// Records the rows of a written send-once snapshot as sent.
    public static func markSent(_ load: SnapshotFileLoad, file: String, in db: Database) throws {
        guard let once = load.sendOnce else { return }
        var pending: [(String, String)] = []
        try rows(load, db) { pending.append(identity($0, once)) }
        for (key, hash) in pending {
            try db.execute(sql: "INSERT OR IGNORE INTO sent_row (target, row_key, content_sha256, file) VALUES (?, ?, ?, ?)", arguments: [load.target, key, hash, file])
        }
    }

    /// Every row of the snapshot's table (its filter, its order), through one statement.
    static func allRows(_ load: SnapshotFileLoad, _ db: Database, _ each: (SnapshotRow) throws -> Void) throws {
        var sql = "SELECT * FROM \(quoted(load.table))"
        var args: [String] = []
        if !load.filter.isEmpty {
            sql += " WHERE " + load.filter.map { f in
                if let v = f.value { args.append(v); return "\(quoted(f.column)) = ?" }
                return "\(quoted(f.column)) IS NULL"
            }.joined(separator: " AND ")
        }
        if !load.orderBy.isEmpty { sql += " ORDER BY " + load.orderBy.map(quoted).joined(separator: ", ") }
        let statement = try RawStatement(db, sql)
        for (i, v) in args.enumerated() { statement.bindText(v, at: Int32(i + 1)) }
        let row = SnapshotRow(statement)
        while try statement.step() { try each(row) }
    }

    /// ` name="value"` pairs; an attribute whose template is one field that is null is omitted.
    static func attributes(_ list: [(name: String, value: Template)], _ values: (String) -> Value) -> String {
        attributes(list.map(\.name), omitted: { k in
            if list[k].value.parts.count == 1, case .field(let f, _) = list[k].value.parts[0] { values(f).isNull } else { false }
        }, rendered: { k in list[k].value.render(values) })
    }

    /// ` name="value"` pairs, by index: `omitted` leaves one out, `rendered` gives its value.
    static func attributes(_ names: [String], omitted: (Int) -> Bool, rendered: (Int) -> String) -> String {
        var out = ""
        for (k, name) in names.enumerated() where !omitted(k) {
            out += " \(name)=\"\(escape(rendered(k)))\""
        }
        return out
    }

    /// A field as written: quoted when it holds a comma, a quote, CR or LF (by byte: a CR LF
    /// pair is one `Character`, equal to neither).
    public static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: needsQuotes) else { return text }
        var out: [UInt8] = []
        appendCSVField(Array(text.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A field's bytes as `csvField` writes them.
    static func appendCSVField(_ field: [UInt8], to out: inout [UInt8]) {
        guard field.contains(where: needsQuotes) else {
            out.append(contentsOf: field)
            return
        }
        out.append(0x22)
        for b in field {
            out.append(b)
            if b == 0x22 { out.append(0x22) }
        }
        out.append(0x22)
    }

    /// A comma, a quote, CR or LF: a field holding one is quoted.
    static func needsQuotes(_ b: UInt8) -> Bool { b == 0x2C || b == 0x22 || b == 0x0D || b == 0x0A }

    /// Attribute-value escaping: markup characters and whitespace that attribute normalisation
    /// would otherwise change.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { XMLEscape.entity($0) != nil }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        out.appendXMLEscaped(text.utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
