import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// A warehouse written by an earlier version (migrations v1 and v2 only) is upgraded in place
/// when a newer Dropline opens it, without losing or changing what reports and metrics read.
struct WarehouseUpgradeTests {
    static let v2 = "v2: postings, holds, time_entry_evaluation, timesheet_status, outbound files and sequences, sent_row, utilization"

    /// A new warehouse gets 32 KiB pages; an existing one keeps its page size (changing it
    /// would rewrite the whole file) and is upgraded as usual.
    /// The tables lint lets an outbound file read without a pipeline loading them are tables a
    /// new warehouse has.
    @Test func builtInTablesAreTablesOfANewWarehouse() throws {
        let dir = NSTemporaryDirectory() + "dropline-builtin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tables = try Warehouse.open(path: dir + "/warehouse.sqlite").read { try Set(String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")) }
        #expect(Warehouse.builtInTables.isSubset(of: tables), "\(Warehouse.builtInTables.subtracting(tables))")
    }

    @Test func newWarehousesTakeLargePagesExistingOnesKeepTheirs() throws {
        let dir = NSTemporaryDirectory() + "dropline-pages-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = try Warehouse.open(path: dir + "/new.sqlite")
        let freshPages = try fresh.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }
        #expect(freshPages == 32768)
        try fresh.close()
        let existing = try DatabaseQueue(path: dir + "/old.sqlite")
        try existing.write { try $0.execute(sql: "CREATE TABLE left_by_someone (x)") }
        try existing.close()
        let upgraded = try Warehouse.open(path: dir + "/old.sqlite")
        let (pages, postings) = try upgraded.read { db in (try Int.fetchOne(db, sql: "PRAGMA page_size"), try db.tableExists("postings")) }
        #expect(pages == 4096 && postings)
    }

    @Test func v2WarehouseUpgradesToPostingRanges() throws {
        let root = NSTemporaryDirectory() + "dropline-upgrade-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try runDropline(["init", root]).exitCode == 0)
        let path = root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let old = try Warehouse.open(path: path, upTo: Self.v2)
        try old.write { db in
            // Labor file 001 (written) took postings 1-3, 002 (not yet written) 4-5; 6 is in none.
            let postings: [(String, String, String, Int, String, String?, String)] = [
                ("TE-1", "1001", "2026-11-23", 800, "billable", "ERP_LABOR_1000_20261128_001.xml", "E1"),
                ("TE-2", "1001", "2026-11-24", 400, "billable", "ERP_LABOR_1000_20261128_001.xml", "E2"),
                ("TE-3", "1002", "2026-11-25", 250, "internal", "ERP_LABOR_1000_20261128_001.xml", "E1"),
                ("TE-4", "1001", "2026-11-30", 600, "billable", "ERP_LABOR_1000_20261129_001.xml", "E3"),
                ("TE-5", "1001", "2026-12-01", 125, "billable", "ERP_LABOR_1000_20261129_001.xml", "E3"),
                ("TE-6", "1002", "2026-12-02", 300, "billable", nil, "E3"),
                ("TE-8", "1002", "2026-12-03", 200, "billable", nil, "E3"),
            ]
            for (id, pernr, date, cents, bucket, file, export) in postings {
                let hours = String(format: "%d.%02d", cents / 100, cents % 100)
                try db.execute(sql: """
                    INSERT INTO postings (posting_id, entry_id, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket, export_id, run_id, output_file)
                    VALUES (?, ?, ?, 'P-1', 'BIL', ?, '2026-11', ?, ?, '0.00', '0.00', 'EUR', ?, ?, 'r1', ?)
                    """, arguments: ["P-\(id)-001", id, pernr, date, hours, cents, bucket, export, file])
                try db.execute(sql: "INSERT INTO time_entry_latest (entry_id, outcome, pernr, entry_date, hours_cents) VALUES (?, 'posted', ?, ?, ?)", arguments: [id, pernr, date, cents])
            }
            try db.execute(sql: "INSERT INTO time_entry_latest (entry_id, outcome, primary_reason, pernr, entry_date, hours_cents) VALUES ('TE-7', 'held', 'unknown_worker', '1003', '2026-11-25', 500)")
            // TE-8 was posted (2.00), then a corrected version (3.00) was rejected.
            try db.execute(sql: "UPDATE time_entry_latest SET outcome = 'rejected', primary_reason = 'unknown_project', hours_cents = 300 WHERE entry_id = 'TE-8'")
            try db.execute(sql: "INSERT INTO time_entry_evaluation (entry_id, export_id, run_id, outcome, primary_reason, reasons) VALUES ('TE-7', 'E1', 'r1', 'held', 'unknown_worker', 'unknown_worker'), ('TE-1', 'E1', 'r1', 'posted', NULL, '')")
            for (name, status, seq) in [("ERP_LABOR_1000_20261128_001.xml", "written", 1), ("ERP_LABOR_1000_20261129_001.xml", "pending", 1)] {
                try db.execute(sql: """
                    INSERT INTO outbound_file (name, target, kind, run_id, pipeline, run_date, seq, created_at, status)
                    VALUES (?, 'erp', 'erp_labor', 'r1', 'time_entries', '2026-11-28', ?, '2026-11-28T02:00:00Z', ?)
                    """, arguments: [name, seq, status])
            }
            for (export, generated) in [("E1", "2026-11-27T20:00:00Z"), ("E2", "2026-11-26T08:00:00Z"), ("E3", "2026-11-29T10:00:00Z")] {
                try db.execute(sql: "INSERT INTO _dropline_file_load (sha256, pipeline, name, export_id, generated_at, run_id, loaded, rejected) VALUES (?, 'time_entries', ?, ?, ?, 'r1', 1, 0)",
                               arguments: [export, export + ".xml", export, generated])
            }
        }
        try old.close()

        let reports = try ZoneReports(root: root)  // opens the warehouse: migrates to the latest version
        let upgraded = try Warehouse.open(path: path)
        try upgraded.read { db in
            #expect(try !db.columns(in: "postings").contains { $0.name == "output_file" })
            let files = try Row.fetchAll(db, sql: "SELECT name, first_seq, last_seq, oldest_generated_at FROM outbound_file ORDER BY name")
            #expect(files.map { [$0[0] as String, String($0[1] as Int), String($0[2] as Int), $0[3] as String] } == [
                ["ERP_LABOR_1000_20261128_001.xml", "1", "3", "2026-11-26T08:00:00Z"],
                ["ERP_LABOR_1000_20261129_001.xml", "4", "5", "2026-11-29T10:00:00Z"],
            ])
            let weeks = try Row.fetchAll(db, sql: "SELECT monday, pernr, bucket, hours_cents, day1_cents, day2_cents, day3_cents, day4_cents, day5_cents, day6_cents, day7_cents FROM posted_week ORDER BY 1, 2, 3")
            #expect(weeks.map { row in "\(row[0] as String) \(row[1] as String) \(row[2] as String) \(row[3] as Int) " + (4...10).map { String(row[$0] as Int) }.joined(separator: ",") } == [
                "2026-11-23 1001 billable 1200 800,400,0,0,0,0,0", "2026-11-23 1002 internal 250 0,0,250,0,0,0,0",
                "2026-11-30 1001 billable 725 600,125,0,0,0,0,0", "2026-11-30 1002 billable 500 0,0,300,200,0,0,0",
            ])
            #expect(try !db.indexes(on: "postings").contains { $0.name == "postings_day" })
            // v6: the same postings under the same seq, one unique index by entry and posting id,
            // no AUTOINCREMENT counter.
            let postings = try Row.fetchAll(db, sql: "SELECT seq, posting_id FROM postings ORDER BY seq")
            #expect(postings.map { "\($0[0] as Int) \($0[1] as String)" } == ["1 P-TE-1-001", "2 P-TE-2-001", "3 P-TE-3-001", "4 P-TE-4-001", "5 P-TE-5-001", "6 P-TE-6-001", "7 P-TE-8-001"])
            #expect(try db.indexes(on: "postings").map { "\($0.name) \($0.columns) \($0.isUnique)" } == ["postings_entry [\"entry_id\", \"posting_id\"] true"])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'postings'") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM time_entry_latest") == 8)
            let net = try Row.fetchAll(db, sql: "SELECT entry_id, posted_cents FROM time_entry_latest ORDER BY entry_id")
            #expect(net.map { "\($0[0] as String) \($0[1] as Int)" } == ["TE-1 800", "TE-2 400", "TE-3 250", "TE-4 600", "TE-5 125", "TE-6 300", "TE-7 0", "TE-8 200"])
            #expect(try String.fetchOne(db, sql: "SELECT outcome FROM time_entry_latest WHERE entry_id = 'TE-7'") == "held")
            let evaluations = try Row.fetchAll(db, sql: "SELECT id, entry_id, outcome FROM time_entry_evaluation ORDER BY id")
            #expect(evaluations.map { "\($0[0] as Int) \($0[1] as String) \($0[2] as String)" } == ["1 TE-7 held", "2 TE-1 posted"])
        }
        // A new posting takes the next seq; a repeated posting id is refused (rolled back after).
        try upgraded.inTransaction { db in
            let insert = """
                INSERT INTO postings (posting_id, entry_id, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket, run_id)
                VALUES (?, ?, '1001', 'P-1', 'BIL', '2026-12-04', '2026-12', '1.00', 100, '0.00', '0.00', 'EUR', 'billable', 'r2')
                """
            try db.execute(sql: insert, arguments: ["P-TE-9-001", "TE-9"])
            #expect(try Int.fetchOne(db, sql: "SELECT seq FROM postings WHERE posting_id = 'P-TE-9-001'") == 8)
            #expect(throws: DatabaseError.self) { try db.execute(sql: insert, arguments: ["P-TE-9-001", "TE-9"]) }
            return .rollback
        }
        // Held 5.00 + rejected 3.00 - 2.00 still posted for it + not in any file 3.00 + 2.00
        // + in a file not yet written 7.25.
        #expect(try reports.gapCents() == 1825)
        let reconciliation = try reports.reconcile(period: nil, gaps: false)
        #expect(reconciliation.approved_hours == "32.75")
        #expect(reconciliation.posted_hours == "14.50")
    }

    /// A zone upgraded by a newer Dropline is refused (exit 78, nothing moved), not read with the
    /// older schema's assumptions.
    @Test(arguments: ["warehouse.sqlite", "state/ledger.sqlite"])
    func zoneOfANewerVersionIsRefused(_ database: String) throws {
        let root = NSTemporaryDirectory() + "dropline-newer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try runDropline(["init", root]).exitCode == 0)
        #expect(try runDropline(["run", "--root", root]).exitCode == 0)
        try DatabaseQueue(path: root + "/" + database).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        try Data("<x/>".utf8).write(to: URL(fileURLWithPath: root + "/inbox/PSA_TIMESHEETS_PSA01_20261127_001.xml"))
        try Data().write(to: URL(fileURLWithPath: root + "/inbox/PSA_TIMESHEETS_PSA01_20261127_001.xml.done"))
        let result = try runDropline(["run", "--root", root])
        #expect(result.exitCode == 78, "\(result.stderr)")
        #expect(result.stderr.contains("upgraded by a newer Dropline (migration 'v99: from the future'"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: root + "/inbox/PSA_TIMESHEETS_PSA01_20261127_001.xml"))
    }
}
