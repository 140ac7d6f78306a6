@testable import DroplineCore
@testable import DroplineLoad
import Foundation
import GRDB
import GRDBSQLite
import Testing

struct RawStatementTests {
    /// A row run from its written values (`run(row:)`, bound without SQLite's copy) stores what
    /// binding each value (`bind(_:fields:from:)`) stores, type for type, also when the row
    /// outgrows the statement's buffer halfway; and no parameter stays bound after it.
    @Test
    func aRowRunFromItsWrittenValuesStoresWhatBindingStores() throws {
        let names = ["s", "i", "d2", "d", "day", "open", "none", "flag", "ts", "long", "empty"]
        let (queue, dir) = try walDatabase("r", schema: """
            CREATE TABLE bound (n INTEGER, \(names.joined(separator: ", ")));
            CREATE TABLE written (n INTEGER, \(names.joined(separator: ", ")));
            """)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let long = String(repeating: "Ødegård ", count: 60)
        var fields = FieldMap()
        fields["s"] = .string("värde")
        fields["i"] = .integer(-42)
        fields["d2"] = .decimal(Decimal(string: "37.5")!, scale: 2)
        fields["d"] = .decimal(Decimal(string: "0.125")!, scale: nil)
        fields["day"] = .date(BusinessDate(year: 2026, month: 2, day: 28)!)
        fields["open"] = .date(.openEnd)
        fields["none"] = .null
        fields["flag"] = .boolean(true)
        fields["ts"] = .timestamp("2026-11-27T22:05:00+01:00", Date(timeIntervalSince1970: 1_795_813_500))
        fields["long"] = .string(long)
        fields["empty"] = .string("")
        let record = Record(type: "r", fields: fields, line: 1, ordinal: 1)
        let placeholders = Array(repeating: "?", count: names.count + 1).joined(separator: ", ")
        try queue.write { db in
            let bound = try RawStatement(db, "INSERT INTO bound VALUES (\(placeholders))")
            let written = try RawStatement(db, "INSERT INTO written VALUES (\(placeholders))")
            for n in 1...3 {
                bound.bind(Int64(n))
                bound.bind(record, fields: names, from: 2)
                try bound.run()
                try written.run { row in
                    row.integer(Int64(n))
                    for name in names { row.value(record[name]) }
                }
            }
            // Nothing left bound: run again without values, it inserts a row of NULLs.
            try written.run()
        }
        let select = names.map { "typeof(\($0)), \($0)" }.joined(separator: ", ")
        let (bound, written, last) = try queue.read { db in
            (try Row.fetchAll(db, sql: "SELECT n, \(select) FROM bound ORDER BY n"),
             try Row.fetchAll(db, sql: "SELECT n, \(select) FROM written WHERE n IS NOT NULL ORDER BY n"),
             try Row.fetchAll(db, sql: "SELECT \(names.joined(separator: ", ")) FROM written WHERE n IS NULL"))
        }
        #expect(bound.count == 3)
        #expect(written == bound)
        #expect(written.first?["long"] == long)
        #expect(written.first?["d2"] == "37.50")
        #expect(written.first?["open"] == "9999-12-31")
        #expect(last.count == 1)
        #expect(last.first.map { row in names.indices.allSatisfy { row.hasNull(atIndex: $0) } } == true)
    }
}
