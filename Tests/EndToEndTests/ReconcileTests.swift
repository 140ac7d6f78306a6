import DroplineCore
import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// `dropline reconcile` counts a posting as exported once the labor file holding it is written,
/// whatever else stands posted for its entry.
struct ReconcileTests {
    @Test func exportedHoursAreThoseInWrittenLaborFiles() throws {
        let root = try WarehouseUpgradeTests.zone(withWarehouseUpTo: "v11: the latest outcome of a posted entry is its current posting") { db in
            try db.execute(sql: "INSERT INTO run_export (id, run_id, export_id) VALUES (1, 'r1', 'E1')")
            // Labor file 1 (written) holds postings 1-5, file 2 (not yet written) posting 6;
            // 7 and 8 are in no file yet.
            for (name, status, first, last) in [("ERP_LABOR_1000_20261128_001.xml", "written", 1, 5), ("ERP_LABOR_1000_20261129_001.xml", "pending", 6, 6)] {
                try db.execute(sql: """
                    INSERT INTO outbound_file (name, target, kind, run_id, pipeline, run_date, seq, created_at, status, first_seq, last_seq)
                    VALUES (?, 'erp', 'erp_labor', 'r1', 'time_entries', '2026-11-28', 1, '2026-11-28T02:00:00Z', ?, ?, ?)
                    """, arguments: [name, status, first, last])
            }
            // seq, entry, n, hundredths, reverses, reversed by, date
            let postings: [(Int, String, Int, Int, Int?, Int?, String)] = [
                (1, "TE-A", 1, 800, nil, 2, "2026-11-23"), (2, "TE-A", 2, -800, 1, nil, "2026-11-23"),
                (3, "TE-B", 1, 800, nil, 6, "2026-11-24"), (4, "TE-E", 1, 250, nil, nil, "2026-11-26"),
                (5, "TE-F", 1, 100, nil, nil, "2026-11-27"), (6, "TE-B", 2, -800, 3, nil, "2026-11-24"),
                (7, "TE-A", 3, 600, nil, nil, "2026-11-23"), (8, "TE-B", 3, 500, nil, nil, "2026-11-24"),
            ]
            for (seq, entry, n, cents, reverses, reversedBy, date) in postings {
                try db.execute(sql: """
                    INSERT INTO posting_row (seq, entry_id, n, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents,
                        cost_amount, bill_amount, currency, bucket, content_pernr, content_date, origin)
                    VALUES (?, ?, ?, ?, ?, '1001', 'P-1', 'BIL', ?, '2026-11', ?, ?, '0.00', '0.00', 'EUR', 'billable', '1001', ?, 1)
                    """, arguments: [seq, entry, n, reverses, reversedBy, date, DecimalText.format(hundredths: Int64(cents)), cents, date])
            }
            // TE-E's correction to 4.00 was rejected (2.50 stands posted); TE-D is held.
            try db.execute(sql: """
                INSERT INTO time_entry_latest_row (entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents)
                VALUES ('TE-E', 'rejected', 'unknown_project', '1001', '2026-11-26', 400, 250), ('TE-D', 'held', 'unknown_worker', '1001', '2026-11-25', 300, 0)
                """)
        }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reconciliation = try ZoneReports(root: root).reconcile(period: "2026-11")
        // TE-A: 8.00 posted and reversed in the written file, 6.00 in none. TE-B: 8.00 in the
        // written file, reversed in the pending one, 5.00 in none. TE-F: all written.
        #expect(reconciliation.gaps.map { "\($0.entry_id) \($0.approved_hours) \($0.posted_hours) \($0.cause) \($0.reason ?? "-")" } == [
            "TE-A 6.00 0.00 not_exported -", "TE-B 5.00 8.00 not_exported -", "TE-D 3.00 0.00 held unknown_worker", "TE-E 4.00 2.50 rejected unknown_project",
        ])
        #expect(reconciliation.approved_hours == "19.00")
        #expect(reconciliation.posted_hours == "11.50")
        #expect(try ZoneReports(root: root).reconcile(period: "2026-12").gaps.isEmpty)
    }
}
