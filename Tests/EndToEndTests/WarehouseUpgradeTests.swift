import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// A warehouse written by an earlier version (migrations v1 and v2 only) is upgraded in place
/// when a newer Dropline opens it, without losing or changing what reports and metrics read.
struct WarehouseUpgradeTests {
    static let v2 = "v2: postings, holds, time_entry_evaluation, timesheet_status, outbound files and sequences, sent_row, utilization"

    /// The tables lint lets an outbound file read without a pipeline loading them are tables (or
    /// views) a new warehouse has.
    @Test func builtInTablesAreTablesOfANewWarehouse() throws {
        let dir = NSTemporaryDirectory() + "dropline-builtin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tables = try Warehouse.open(path: dir + "/warehouse.sqlite").read { try Set(String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")) }
        #expect(Warehouse.builtInTables.isSubset(of: tables), "\(Warehouse.builtInTables.subtracting(tables))")
    }

    /// A new warehouse gets 32 KiB pages; an existing one keeps its page size (changing it
    /// would rewrite the whole file) and is upgraded as usual. Both are opened with a 16 MiB
    /// page cache (a file's load is one transaction: see `Warehouse.open`) and without zeroing
    /// freed space (`secure_delete`, on in Debian's build).
    @Test func newWarehousesTakeLargePagesExistingOnesKeepTheirs() throws {
        let dir = NSTemporaryDirectory() + "dropline-pages-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = try Warehouse.open(path: dir + "/new.sqlite")
        let (freshPages, freshCache, freshZeroing) = try fresh.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size"), try Int.fetchOne(db, sql: "PRAGMA cache_size"), try Int.fetchOne(db, sql: "PRAGMA secure_delete"))
        }
        #expect(freshPages == 32768 && freshCache == -16384 && freshZeroing == 0)
        try fresh.close()
        let existing = try DatabaseQueue(path: dir + "/old.sqlite")
        try existing.write { try $0.execute(sql: "CREATE TABLE left_by_someone (x)") }
        try existing.close()
        let upgraded = try Warehouse.open(path: dir + "/old.sqlite")
        let (pages, cache, zeroing, postings) = try upgraded.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size"), try Int.fetchOne(db, sql: "PRAGMA cache_size"), try Int.fetchOne(db, sql: "PRAGMA secure_delete"), try db.viewExists("postings"))
        }
        #expect(pages == 4096 && cache == -16384 && zeroing == 0 && postings)
    }

    /// A zone whose warehouse an earlier version left: its migrations up to `migration`, then
    /// the rows `fill` writes.
    static func zone(withWarehouseUpTo migration: String, _ fill: (Database) throws -> Void) throws -> String {
        let root = NSTemporaryDirectory() + "dropline-upgrade-" + UUID().uuidString
        #expect(try runDropline(["init", root]).exitCode == 0)
        let path = root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let old = try Warehouse.open(path: path, upTo: migration)
        try old.write(fill)
        try old.close()
        return root
    }

    @Test func v2WarehouseUpgradesToPostingRanges() throws {
        let root = try Self.zone(withWarehouseUpTo: Self.v2) { db in
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
        defer { try? FileManager.default.removeItem(atPath: root) }

        let reports = try ZoneReports(root: root)  // opens the warehouse: migrates to the latest version
        let upgraded = try Warehouse.open(path: root + "/warehouse.sqlite")
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
            #expect(try !db.indexes(on: "posting_row").contains { $0.name == "postings_day" })
            // v6: the same postings under the same seq, no AUTOINCREMENT counter; v9: one unique
            // index by entry and posting number.
            let postings = try Row.fetchAll(db, sql: "SELECT seq, posting_id FROM postings ORDER BY seq")
            #expect(postings.map { "\($0[0] as Int) \($0[1] as String)" } == ["1 P-TE-1-001", "2 P-TE-2-001", "3 P-TE-3-001", "4 P-TE-4-001", "5 P-TE-5-001", "6 P-TE-6-001", "7 P-TE-8-001"])
            #expect(try db.indexes(on: "posting_row").map { "\($0.name) \($0.columns) \($0.isUnique)" } == ["posting_row_entry [\"entry_id\", \"n\"] true"])
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
                INSERT INTO posting_row (n, entry_id, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket, origin)
                VALUES (?, ?, '1001', 'P-1', 'BIL', '2026-12-04', '2026-12', '1.00', 100, '0.00', '0.00', 'EUR', 'billable', 1)
                """
            try db.execute(sql: insert, arguments: [1, "TE-9"])
            #expect(try Int.fetchOne(db, sql: "SELECT seq FROM postings WHERE posting_id = 'P-TE-9-001'") == 8)
            #expect(throws: DatabaseError.self) { try db.execute(sql: insert, arguments: [1, "TE-9"]) }
            return .rollback
        }
        // Held 5.00 + rejected 3.00 - 2.00 still posted for it + not in any file 3.00 + 2.00
        // + in a file not yet written 7.25.
        #expect(try reports.gapCents() == 1825)
        let reconciliation = try reports.reconcile(period: nil, gaps: false)
        #expect(reconciliation.approved_hours == "32.75")
        #expect(reconciliation.posted_hours == "14.50")
    }

    /// An outbound file may read the postings and evaluations, which are views since v9: the
    /// snapshot reads them like tables (it checked for a table and found none, writing nothing).
    @Test func anOutboundFileReadsThePostingsView() throws {
        let zone = try TemporaryDropZone()
        let yaml = zone.root + "/pipelines/time_entries.yaml"
        try (String(contentsOfFile: yaml, encoding: .utf8) + """
              - csv_file:
                  target: audit
                  name: "POSTINGS_{business_date:yyyyMMdd}_{seq:03}.csv"
                  table: postings
                  order_by: [seq]
                  columns: [posting_id, entry_id, reverses, hours, export_id]

            """).write(toFile: yaml, atomically: true, encoding: .utf8)
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        #expect(summary.exit_code <= 1)
        let csv = try String(contentsOfFile: zone.root + "/outbound/audit/POSTINGS_20261127_001.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "posting_id,entry_id,reverses,hours,export_id")
        #expect(csv.count == 6)
        #expect(csv.dropFirst().allSatisfy { $0.hasPrefix("P-TE-") && $0.hasSuffix(",PSA-T-20261127-001") })
    }

    static let v8 = "v8: held, skipped and reasons of a loaded file"

    /// Every column of every posting and evaluation, as the tables of v8 held them.
    static func postingsAndEvaluations(_ db: Database) throws -> [String] {
        var out: [String] = []
        for (table, order) in [("postings", "seq"), ("time_entry_evaluation", "id")] {
            let cols = try db.columns(in: table).map(\.name)
            out += try String.fetchAll(db, sql: "SELECT \(cols.map { "COALESCE(quote(\($0)), 'NULL')" }.joined(separator: " || '|' || ")) FROM \(table) ORDER BY \(order)").map { "\(table): \($0)" }
        }
        return out
    }

    /// v9 keeps postings and evaluations in narrower rows (a reference to their run and export,
    /// posting numbers instead of ids): the views with the old names give back every column of
    /// every row as v8 stored it, reversals, NULL export ids and posting numbers past 999 too,
    /// and the upgraded warehouse goes on posting.
    @Test func v8PostingsAndEvaluationsReadTheSameThroughTheViews() throws {
        let zone = try TemporaryDropZone()
        let root = zone.root
        let path = root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let old = try Warehouse.open(path: path, upTo: Self.v8)
        let before = try old.write { db -> [String] in
            let rows: [(String, String, String?, String?, String, String?, String, String?)] = [
                // posting id, entry, reverses, reversed_by, hours, content hours, run, export
                ("P-TE-1-001", "TE-1", nil, "P-TE-1-002", "8.00", "8", "r1", "E1"),
                ("P-TE-1-002", "TE-1", "P-TE-1-001", nil, "-8.00", nil, "r2", "E2"),
                ("P-TE-1-003", "TE-1", nil, nil, "7.50", "7.5", "r2", "E2"),
                ("P-TE-2-001", "TE-2", nil, nil, "1.25", "1.25", "r1", nil),
                ("P-TE-3-1000", "TE-3", nil, nil, "2.00", "2", "r1", "E1"),
            ]
            for (seq, r) in rows.enumerated() {
                try db.execute(sql: """
                    INSERT INTO postings (seq, posting_id, entry_id, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                        content_pernr, content_date, content_project, content_hours, content_category, export_id, run_id)
                    VALUES (?, ?, ?, ?, ?, '1001', '4000001', 'LBR-BILL', '2026-11-23', '2026-11', ?, 0, '1.00', '2.00', 'EUR', 'billable', '1001', '2026-11-23', 'PRJ-1', ?, 'billable', ?, ?)
                    """, arguments: [seq + 1, r.0, r.1, r.2, r.3, r.4, r.5, r.7, r.6])
            }
            try db.execute(sql: """
                INSERT INTO time_entry_evaluation (entry_id, timesheet_id, export_id, run_id, outcome, primary_reason, reasons, pernr, entry_date, hours) VALUES
                    ('TE-1', 'TS-1', 'E1', 'r1', 'posted', NULL, '', '1001', '2026-11-23', '8'),
                    ('TE-4', 'TS-1', 'E1', 'r1', 'rejected', 'no_rate', 'no_rate,period_closed', '1001', '2026-11-24', '3'),
                    ('TE-4', NULL, 'E9', 'r2', 'held', 'unknown_worker', 'unknown_worker', NULL, NULL, NULL),
                    ('TE-2', 'TS-2', NULL, 'r1', 'posted', NULL, '', '1001', '2026-11-23', '1.25')
                """)
            return try Self.postingsAndEvaluations(db)
        }
        try old.close()
        #expect(before.count == 9)
        let upgraded = try Warehouse.open(path: path)
        let (after, views, pairs) = try upgraded.read { db in
            (try Self.postingsAndEvaluations(db), try db.viewExists("postings") && db.viewExists("time_entry_evaluation"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_export"))
        }
        #expect(after == before)
        #expect(views && pairs == 4)
        // The next run posts on top of it, and its labor file carries every posting not yet in one.
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let summary = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        #expect(summary.exit_code <= 1)
        let labor = try #require(try FileManager.default.contentsOfDirectory(atPath: root + "/outbound/erp").first { $0.hasPrefix("ERP_LABOR_") && $0.hasSuffix(".xml") })
        let xml = try String(contentsOfFile: root + "/outbound/erp/" + labor, encoding: .utf8)
        #expect(xml.contains("<Posting id=\"P-TE-1-002\" ref=\"TE-1\" reverses=\"P-TE-1-001\" pernr=\"1001\""))
        #expect(xml.contains("<Posting id=\"P-TE-3-1000\" ref=\"TE-3\" pernr=\"1001\""))
        #expect(xml.contains("<Posting id=\"P-TE-00000001-001\" ref=\"TE-00000001\" pernr=\""))
    }

    /// A posting id Dropline would never write (here edited by hand) cannot be kept as a number:
    /// the upgrade stops with exit 78, naming the posting, and the warehouse stays as it was.
    @Test func aPostingIDNotOfItsEntryStopsTheUpgrade() throws {
        let root = try Self.zone(withWarehouseUpTo: Self.v8) { db in
            try db.execute(sql: """
                INSERT INTO postings (seq, posting_id, entry_id, reverses, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket, run_id)
                VALUES (1, 'P-TE-1-001', 'TE-1', NULL, '1', '4', 'L', '2026-11-23', '2026-11', '1.00', 100, '0.00', '0.00', 'EUR', 'billable', 'r1'),
                       (2, 'P-TE-1-002', 'TE-1', 'P-TE-7-001', '1', '4', 'L', '2026-11-23', '2026-11', '-1.00', -100, '0.00', '0.00', 'EUR', 'billable', 'r1')
                """)
        }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try runDropline(["run", "--root", root])
        #expect(result.exitCode == 78, "\(result.stderr)")
        #expect(result.stderr.contains("posting seq 2 has a reverses that is not P-<entry id>-<number> of its own entry"), "\(result.stderr)")
        let migrations = try DatabaseQueue(path: root + "/warehouse.sqlite").read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations.last == Self.v8 && migrations.count == 8)
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

    static let v9 = "v9: postings and evaluations refer to their run and export; postings keep their numbers, not their ids; views postings and time_entry_evaluation"

    /// Entries of a timesheet export in document order: id, timesheet id, worker, date, hours.
    static func entries(of path: String) throws -> [(id: String, timesheet: String, worker: String, date: String, hours: String)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let attribute = try NSRegularExpression(pattern: "([A-Za-z]+)=\"([^\"]*)\"")
        var timesheet: [String: String] = [:]
        var out: [(String, String, String, String, String)] = []
        for tag in text.components(separatedBy: "<") where tag.hasPrefix("Timesheet ") || tag.hasPrefix("Entry ") {
            let body = String(tag.prefix { $0 != ">" })
            var a: [String: String] = [:]
            for m in attribute.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
                a[String(body[Range(m.range(at: 1), in: body)!])] = String(body[Range(m.range(at: 2), in: body)!])
            }
            if tag.hasPrefix("Timesheet ") { timesheet = a } else {
                out.append((a["id"] ?? "", timesheet["id"] ?? "", timesheet["worker"] ?? "", a["date"] ?? "", a["hours"] ?? ""))
            }
        }
        return out
    }

    /// v10 keeps a posted decision's evaluation on the posting it wrote instead of in a row of
    /// its own. The evaluations v9 stored read the same; later ones are numbered on from them,
    /// every outcome in the order the entries were decided, and a posted one has the values an
    /// evaluation row had (the entry's timesheet, worker, date and hours as the export gave them).
    /// A correction (a reversal, then the new posting) is one evaluation, on the new posting.
    @Test func postedEvaluationsAreKeptOnTheirPostingsInOrder() throws {
        let zone = try TemporaryDropZone()
        let path = zone.root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let old = try Warehouse.open(path: path, upTo: Self.v9)
        let before = try old.write { db -> [String] in
            try db.execute(sql: """
                INSERT INTO run_export (id, run_id, export_id) VALUES (1, 'r1', 'E1');
                INSERT INTO posting_row (seq, entry_id, n, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                    content_pernr, content_date, content_project, content_hours, content_category, origin)
                    VALUES (1, 'TE-1', 1, '1001', '4000001', 'LBR-BILL', '2026-11-23', '2026-11', '8.00', 800, '1.00', '2.00', 'EUR', 'billable', '1001', '2026-11-23', 'PRJ-1', '8', 'billable', 1);
                INSERT INTO time_entry_evaluation_row (id, entry_id, timesheet_id, origin, outcome, primary_reason, reasons, pernr, entry_date, hours) VALUES
                    (7, 'TE-1', 'TS-1', 1, 'posted', NULL, '', '1001', '2026-11-23', '8'),
                    (40, 'TE-4', 'TS-1', 1, 'rejected', 'no_rate', 'no_rate,period_closed', '1001', '2026-11-24', '3');
                """)
            return try Self.postingsAndEvaluations(db)
        }
        try old.close()
        #expect(before.count == 3)
        #expect(try Warehouse.open(path: path).read(Self.postingsAndEvaluations) == before)

        func evaluations(run: String) throws -> [Row] {
            try DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: "SELECT id, entry_id, timesheet_id, outcome, primary_reason, reasons, pernr, entry_date, hours FROM time_entry_evaluation WHERE run_id = ? ORDER BY id", arguments: [run])
            }
        }
        func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
            try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: sql, arguments: arguments) ?? -1 }
        }
        for name in WorkedExampleTests.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let first = try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        let firstRows = try evaluations(run: first.run_id)
        // The first night decides each entry once, in document order.
        let file = try Self.entries(of: TestPaths.examples + "/inbound/PSA_TIMESHEETS_PSA01_20261127_001.xml")
        #expect(firstRows.map { $0["entry_id"] as String } == file.map(\.id))
        let ids = firstRows.map { $0["id"] as Int64 }
        #expect(ids.first.map { $0 > 40 } == true && ids == ids.sorted() && Set(ids).count == ids.count, "\(ids)")
        let posted = firstRows.filter { $0["outcome"] as String == "posted" }
        #expect(posted.count == first.files.first { $0.name.hasPrefix("PSA_TIMESHEETS_") }?.records["loaded"])
        for row in posted {
            let entry = try #require(file.first { $0.id == row["entry_id"] })
            #expect(row["timesheet_id"] as String? == entry.timesheet && row["pernr"] as String? == entry.worker && row["entry_date"] as String? == entry.date)
            #expect(row["hours"] as String? == Decimal(string: entry.hours)?.description && row["primary_reason"] as String? == nil && row["reasons"] as String? == "")
        }
        // Only the evaluations that posted nothing have rows; the posted ones are on postings.
        #expect(try count("SELECT COUNT(*) FROM time_entry_evaluation_row WHERE id > 40") == firstRows.count - posted.count)
        #expect(try count("SELECT COUNT(*) FROM time_entry_evaluation_row WHERE outcome = 'posted'") == 1)

        // The second night's master data alone: the held entry is released by its re-evaluation,
        // so the warehouse's last evaluation is one kept on a posting when the export's turn comes.
        let data = WorkedExampleTests.run2.filter { !$0.hasPrefix("PSA_TIMESHEETS_") }, export = WorkedExampleTests.run2.filter { $0.hasPrefix("PSA_TIMESHEETS_") }
        for name in data { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let released = try evaluations(run: try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:14:07Z").run_id)
        #expect(released.map { "\($0["entry_id"] as String) \($0["outcome"] as String)" } == ["TE-00000003 posted"])
        for name in export { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        let second = try zone.run(asOf: "2026-11-29", at: "2026-11-29T02:14:07Z")
        let secondRows = try evaluations(run: second.run_id)
        let secondIDs = secondRows.map { $0["id"] as Int64 }
        #expect(secondIDs.first.map { $0 > released.last?["id"] ?? Int64.max } == true && Set(secondIDs).count == secondIDs.count)
        let secondPosted = secondRows.filter { $0["outcome"] as String == "posted" }.map { $0["entry_id"] as String }
        // One posted evaluation per entry posted, however many postings it took.
        #expect(!secondPosted.isEmpty && Set(secondPosted).count == secondPosted.count)
        let origins = "(SELECT id FROM run_export WHERE run_id = ?)"
        #expect(try count("SELECT COUNT(DISTINCT entry_id) FROM posting_row WHERE origin IN \(origins)", [second.run_id]) == secondPosted.count)
        #expect(try count("SELECT COUNT(*) FROM posting_row WHERE origin IN \(origins) AND reverses IS NOT NULL", [second.run_id]) > 0, "the second night corrects a posting")
        #expect(try count("SELECT COUNT(*) FROM posting_row WHERE reverses IS NOT NULL AND evaluation IS NOT NULL") == 0)
        #expect(try count("SELECT COUNT(*) - COUNT(DISTINCT id) FROM time_entry_evaluation") == 0)
    }

    static let v10 = "v10: a posted evaluation is kept on its posting"

    /// v11 keeps no latest-outcome row for an entry whose latest decision posted. The rows an
    /// earlier version wrote (posted ones too) read the same through the view, once each, and a
    /// posted entry without a row reads as its current posting.
    @Test func latestOutcomesReadTheSameAfterV11() throws {
        let zone = try TemporaryDropZone()
        let path = zone.root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let old = try Warehouse.open(path: path, upTo: Self.v10)
        let latest = "SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents FROM time_entry_latest ORDER BY entry_id"
        let before = try old.write { db -> [Row] in
            try db.execute(sql: """
                INSERT INTO run_export (id, run_id, export_id) VALUES (1, 'r1', 'E1');
                INSERT INTO posting_row (seq, entry_id, n, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                    content_pernr, content_date, content_project, content_hours, content_category, origin) VALUES
                    (1, 'TE-1', 1, NULL, NULL, '1001', '4000001', 'LBR-BILL', '2026-11-23', '2026-11', '8.00', 800, '1.00', '2.00', 'EUR', 'billable', '1001', '2026-11-23', 'PRJ-1', '8', 'billable', 1),
                    (2, 'TE-2', 1, NULL, 2, '1001', '4000001', 'LBR-BILL', '2026-11-24', '2026-11', '7.25', 725, '1.00', '2.00', 'EUR', 'billable', '1001', '2026-11-24', 'PRJ-1', '7.25', 'billable', 1),
                    (3, 'TE-2', 2, 1, NULL, '1001', '4000001', 'LBR-BILL', '2026-11-24', '2026-11', '-7.25', -725, '-1.00', '-2.00', 'EUR', 'billable', NULL, NULL, NULL, NULL, NULL, 1);
                INSERT INTO time_entry_latest (entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents) VALUES
                    ('TE-1', 'posted', NULL, '1001', '2026-11-23', 800, 800),
                    ('TE-2', 'rejected', 'no_rate', '1001', '2026-11-24', 500, 0),
                    ('TE-3', 'held', 'unknown_worker', '1002', '2026-11-25', 600, 0);
                """)
            return try Row.fetchAll(db, sql: latest)
        }
        try old.close()
        let upgraded = try Warehouse.open(path: path)
        #expect(try upgraded.read { try Row.fetchAll($0, sql: latest) } == before)
        // A posting of v11 without a row: its entry reads as posted, with its postings' sum.
        try upgraded.write { db in
            try db.execute(sql: """
                INSERT INTO posting_row (seq, entry_id, n, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                    content_pernr, content_date, content_project, content_hours, content_category, origin, evaluation, timesheet_id)
                    VALUES (4, 'TE-4', 1, '1003', '4000001', 'LBR-BILL', '2026-11-26', '2026-11', '1.50', 150, '1.00', '2.00', 'EUR', 'billable', '1003', '2026-11-26', 'PRJ-1', '1.5', 'billable', 1, 9, 'TS-9')
                """)
        }
        let after = try upgraded.read { try Row.fetchAll($0, sql: latest) }
        #expect(after.count == 4 && Array(after.prefix(3)) == before)
        #expect(after.last == ["entry_id": "TE-4", "outcome": "posted", "primary_reason": nil, "pernr": "1003", "entry_date": "2026-11-26", "hours_cents": 150, "posted_cents": 150])
    }

    static let v11 = "v11: the latest outcome of a posted entry is its current posting"

    /// v12 keeps a posting's content worker, date and category only where they differ from the
    /// posting's. Rows written before read the same through the views; a run's postings leave
    /// them NULL where they repeat the posting (and only there), and the views give them back.
    @Test func postingContentReadsTheSameAfterV12() throws {
        let zone = try TemporaryDropZone()
        let path = zone.root + "/warehouse.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let views = [
            "SELECT * FROM postings ORDER BY seq",
            "SELECT * FROM time_entry_evaluation ORDER BY id",
            "SELECT * FROM time_entry_latest ORDER BY entry_id",
        ]
        func read(_ db: Database) throws -> [[Row]] { try views.map { try Row.fetchAll(db, sql: $0) } }
        let old = try Warehouse.open(path: path, upTo: Self.v11)
        let before = try old.write { db -> [[Row]] in
            // A posting whose content repeats it, one whose content differs in worker, date and
            // category, its reversal (no content), and a posting kept without content.
            try db.execute(sql: """
                INSERT INTO run_export (id, run_id, export_id) VALUES (1, 'r1', 'E1');
                INSERT INTO posting_row (seq, entry_id, n, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                    content_pernr, content_date, content_project, content_hours, content_category, origin, evaluation, timesheet_id) VALUES
                    (1, 'TE-1', 1, NULL, NULL, '1001', '4000001', 'LBR-BILL', '2026-11-23', '2026-11', '8.00', 800, '1.00', '2.00', 'EUR', 'billable', '1001', '2026-11-23', 'PRJ-1', '8', 'billable', 1, 1, 'TS-1'),
                    (2, 'TE-2', 1, NULL, 2, '1001', '4000001', 'LBR-INT', '2026-11-24', '2026-11', '7.25', 725, '1.00', '2.00', 'EUR', 'internal', '1002', '2026-11-25', 'PRJ-1', '7.25', 'admin', 1, 2, 'TS-1'),
                    (3, 'TE-2', 2, 1, NULL, '1001', '4000001', 'LBR-INT', '2026-11-24', '2026-11', '-7.25', -725, '-1.00', '-2.00', 'EUR', 'internal', NULL, NULL, NULL, NULL, NULL, 1, NULL, 'TS-1'),
                    (4, 'TE-3', 1, NULL, NULL, '1003', '4000001', 'LBR-BILL', '2026-11-26', '2026-11', '1.50', 150, '1.00', '2.00', 'EUR', 'billable', NULL, NULL, NULL, NULL, NULL, 1, 3, 'TS-2');
                """)
            return try read(db)
        }
        try old.close()
        #expect(before.map(\.count) == [4, 3, 2])
        #expect(try Warehouse.open(path: path).read(read) == before)

        // A night and the next (a correction among its postings), on a zone of its own.
        let nights = try TemporaryDropZone()
        for name in WorkedExampleTests.run1 { try nights.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try nights.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
        for name in WorkedExampleTests.run2 { try nights.drop(TestPaths.examples + "/inbound/" + name) }
        _ = try nights.run(asOf: "2026-11-29", at: "2026-11-29T01:14:07Z")
        func count(_ sql: String) throws -> Int {
            try DatabaseQueue(path: nights.root + "/warehouse.sqlite").read { try Int.fetchOne($0, sql: sql) ?? -1 }
        }
        #expect(try count("SELECT COUNT(*) FROM posting_row WHERE content_pernr = pernr OR content_date = posting_date OR content_category = bucket") == 0)
        #expect(try count("SELECT COUNT(*) FROM posting_row WHERE content_project IS NOT NULL AND content_pernr IS NULL AND content_date IS NULL") > 0)
        // Through the view, every posting with content has all of it; a reversal has none.
        #expect(try count("SELECT COUNT(*) FROM postings WHERE content_project IS NOT NULL") > 0)
        #expect(try count("SELECT COUNT(*) FROM postings WHERE content_project IS NOT NULL AND (content_pernr IS NULL OR content_date IS NULL OR content_category IS NULL)") == 0)
        #expect(try count("SELECT COUNT(*) FROM postings WHERE reverses IS NOT NULL") > 0)
        #expect(try count("SELECT COUNT(*) FROM postings WHERE reverses IS NOT NULL AND COALESCE(content_pernr, content_date, content_project, content_hours, content_category) IS NOT NULL") == 0)
    }
}
