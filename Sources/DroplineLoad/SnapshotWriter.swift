import DroplineCore
import GRDB

/// Writes a warehouse table snapshot as an outbound file, streaming rows to `sink`.
/// CSV per the interface conventions (UTF-8, header row, comma, LF after every row, quotes only
/// where needed); XML as UTF-8 with declaration, one element per row, a counting trailer.
public enum SnapshotWriter {
    /// Returns the number of records written. `run` supplies run-level values (run_date, seq...).
    /// `sentIn`: for send-once snapshots, the file whose recorded rows are written.
    public static func write(_ load: SnapshotFileLoad, from db: Database, run: @escaping (String) -> Value?, sentIn: String? = nil, to sink: (String) throws -> Void) throws -> Int {
        let runValues: (String) -> Value = { run($0) ?? .null }
        var count = 0
        switch load.format {
        case .csv(let columns):
            var templates = RowTemplates(columns.map(\.source), run: run)
            try sink(columns.map { csvField($0.header) }.joined(separator: ",") + "\n")
            try rows(load, db, sentIn: sentIn) { row in
                templates.resolve(row)
                var line = ""
                for k in columns.indices {
                    if k > 0 { line += "," }
                    line += csvField(templates.render(k, row))
                }
                line += "\n"
                try sink(line)
                count += 1
            }
        case .xml(let layout):
            var templates = RowTemplates(layout.recordAttributes.map(\.value), run: run)
            let names = layout.recordAttributes.map(\.name)
            var root = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(layout.root)"
            if let ns = layout.namespace { root += " xmlns=\"\(escape(ns))\"" }
            try sink(root + attributes(layout.rootAttributes, runValues) + ">\n")
            try rows(load, db, sentIn: sentIn) { row in
                templates.resolve(row)
                try sink("  <\(layout.record)" + attributes(names, omitted: { templates.isNullField($0, row) }, rendered: { templates.render($0, row) }) + "/>\n")
                count += 1
            }
            let n = count
            try sink("  <\(layout.control)" + attributes(layout.controlAttributes) { $0 == "count" ? .integer(Int64(n)) : runValues($0) } + "/>\n</\(layout.root)>\n")
        }
        return count
    }

    /// The templates a snapshot renders for every row (its columns, or its record's
    /// attributes), each name resolved once, at the first row, to where its value comes from:
    /// the run's values (fixed for the file), else the row's column of that name (found as `Row`
    /// finds it by name: case-insensitively, the first of equal names); a name that is neither is
    /// null. Every row of a snapshot comes from one statement, so its columns stand in the same
    /// order. Looked up by name, through a dictionary, for every field of every row, they were
    /// a tenth of the PSA resource feed's work (which holds the warehouse while the next
    /// pipeline waits); most of the rest is reading each value and building the lines.
    struct RowTemplates {
        enum Slot {
            case fixed(Value)
            case column(Int)
            case missing
        }

        enum Piece {
            case literal(String)
            case field(Slot, format: String?)
        }

        let templates: [Template]
        let run: (String) -> Value?
        /// Each template's parts with their names resolved; filled at the first row.
        var pieces: [[Piece]]?

        init(_ templates: [Template], run: @escaping (String) -> Value?) {
            self.templates = templates
            self.run = run
        }

        mutating func resolve(_ row: Row) {
            guard pieces == nil else { return }
            let columns = Array(row.columnNames).map { $0.lowercased() }
            var slots: [String: Slot] = [:]
            for name in templates.flatMap(\.fields) where slots[name] == nil {
                if let v = run(name) {
                    slots[name] = .fixed(v)
                } else {
                    let lower = name.lowercased()
                    slots[name] = columns.firstIndex(of: lower).map(Slot.column) ?? .missing
                }
            }
            pieces = templates.map { t in
                t.parts.map { part in
                    switch part {
                    case .literal(let s): .literal(s)
                    case .field(let name, let format): .field(slots[name] ?? .missing, format: format)
                    }
                }
            }
        }

        /// Template `k` rendered for `row` (after `resolve`).
        func render(_ k: Int, _ row: Row) -> String {
            var out = ""
            for piece in pieces?[k] ?? [] {
                switch piece {
                case .literal(let s): out += s
                case .field(let slot, let format): Template.append(Self.value(slot, row), format: format, to: &out)
                }
            }
            return out
        }

        /// Whether template `k` is one field, null in `row` (an XML attribute then left out).
        func isNullField(_ k: Int, _ row: Row) -> Bool {
            guard let p = pieces?[k], p.count == 1, case .field(let slot, _) = p[0] else { return false }
            return Self.value(slot, row).isNull
        }

        static func value(_ slot: Slot, _ row: Row) -> Value {
            switch slot {
            case .fixed(let v): return v
            case .missing: return .null
            case .column(let i):
                switch (row[i] as DatabaseValue).storage {
                case .null, .blob: return .null
                case .int64(let i): return .integer(i)
                case .string(let s): return .string(s)
                case .double(let d): return .string(String(d))
                }
            }
        }
    }

    /// Number of rows the snapshot would hold.
    public static func count(_ load: SnapshotFileLoad, in db: Database) throws -> Int {
        var n = 0
        try rows(load, db) { _ in n += 1 }
        return n
    }

    /// The rows of the snapshot; with `send_once`, only rows whose key and content were not sent
    /// before (`sent_row`).
    /// With `sentIn`, the rows recorded as sent in that file.
    static func rows(_ load: SnapshotFileLoad, _ db: Database, sentIn: String? = nil, _ each: (Row) throws -> Void) throws {
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

    static func identity(_ row: Row, _ once: (key: [String], content: [String])) -> (String, String) {
        func text(_ c: String) -> String {
            let v: DatabaseValue = row[c] ?? .null
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

    static func allRows(_ load: SnapshotFileLoad, _ db: Database, _ each: (Row) throws -> Void) throws {
        var sql = "SELECT * FROM \(quoted(load.table))"
        var args: [DatabaseValueConvertible?] = []
        if !load.filter.isEmpty {
            sql += " WHERE " + load.filter.map { f in
                if let v = f.value { args.append(v); return "\(quoted(f.column)) = ?" }
                return "\(quoted(f.column)) IS NULL"
            }.joined(separator: " AND ")
        }
        if !load.orderBy.isEmpty { sql += " ORDER BY " + load.orderBy.map(quoted).joined(separator: ", ") }
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
        while let row = try cursor.next() { try each(row) }
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
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Attribute-value escaping: markup characters and whitespace that attribute normalisation
    /// would otherwise change.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
