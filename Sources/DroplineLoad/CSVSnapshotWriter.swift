import DroplineCore
import GRDB

/// Writes a warehouse table as CSV per the interface conventions: UTF-8, header row, comma,
/// LF after every row, quotes only where a field holds a comma, quote, CR or LF.
public enum CSVSnapshotWriter {
    public static func write(_ load: CSVFileLoad, from db: Database, to sink: (String) throws -> Void) throws -> Int {
        try sink(load.columns.map { field($0.header) }.joined(separator: ",") + "\n")
        guard try db.tableExists(load.table) else { return 0 }
        let order = load.orderBy.isEmpty ? "" : " ORDER BY " + load.orderBy.map(quoted).joined(separator: ", ")
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM \(quoted(load.table))\(order)")
        var count = 0
        while let row = try cursor.next() {
            let line = load.columns.map { column in
                field(column.source.render { name in
                    let v: DatabaseValue = row[name] ?? .null
                    switch v.storage {
                    case .null: return .null
                    case .int64(let i): return .integer(i)
                    case .string(let s): return .string(s)
                    case .double(let d): return .string(String(d))
                    case .blob: return .null
                    }
                })
            }.joined(separator: ",")
            try sink(line + "\n")
            count += 1
        }
        return count
    }

    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
