import DroplineCore
import Foundation
import GRDB

/// The warehouse database (SQLite via GRDB, WAL). Pipeline tables are created from definitions;
/// `_dropline_file_load` records, in the same transaction as the data, which file was loaded,
/// so a rerun after a crash can tell.
public enum Warehouse {
    public static func open(path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let queue = try DatabaseQueue(path: path, configuration: config)
        var m = DatabaseMigrator()
        m.registerMigration("v1: _dropline_file_load") { db in
            try db.execute(sql: """
                CREATE TABLE _dropline_file_load (
                    sha256 TEXT PRIMARY KEY, pipeline TEXT NOT NULL, name TEXT NOT NULL,
                    export_id TEXT, business_date TEXT, generated_at TEXT, run_id TEXT NOT NULL,
                    loaded INTEGER NOT NULL, rejected INTEGER NOT NULL)
                """)
        }
        m.registerMigration("v2: postings, holds, time_entry_evaluation, timesheet_status, outbound files and sequences, sent_row, utilization") { db in
            try db.execute(sql: """
                CREATE TABLE postings (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    posting_id TEXT NOT NULL UNIQUE, entry_id TEXT NOT NULL, reverses TEXT, reversed_by TEXT,
                    pernr TEXT NOT NULL, erp_project TEXT NOT NULL, labor_class TEXT NOT NULL,
                    posting_date TEXT NOT NULL, period TEXT NOT NULL,
                    hours TEXT NOT NULL, hours_cents INTEGER NOT NULL, cost_amount TEXT NOT NULL, bill_amount TEXT NOT NULL,
                    currency TEXT NOT NULL, bucket TEXT NOT NULL,
                    content_pernr TEXT, content_date TEXT, content_project TEXT, content_hours TEXT, content_category TEXT,
                    export_id TEXT, run_id TEXT NOT NULL, output_file TEXT);
                CREATE INDEX postings_entry ON postings(entry_id);
                CREATE INDEX postings_day ON postings(pernr, posting_date);
                CREATE INDEX postings_output ON postings(output_file);
                CREATE TABLE holds (
                    entry_id TEXT PRIMARY KEY, reason TEXT NOT NULL, business_date TEXT NOT NULL,
                    timesheet_id TEXT NOT NULL, week_start TEXT NOT NULL, export_id TEXT NOT NULL,
                    pernr TEXT NOT NULL, entry_date TEXT NOT NULL, project TEXT NOT NULL, hours TEXT NOT NULL, category TEXT NOT NULL,
                    file_name TEXT NOT NULL, position INTEGER NOT NULL, held_since_run TEXT NOT NULL);
                CREATE TABLE time_entry_evaluation (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, entry_id TEXT NOT NULL, timesheet_id TEXT, export_id TEXT,
                    run_id TEXT NOT NULL, outcome TEXT NOT NULL, primary_reason TEXT, reasons TEXT,
                    pernr TEXT, entry_date TEXT, hours TEXT);
                CREATE INDEX time_entry_evaluation_entry ON time_entry_evaluation(entry_id);
                CREATE TABLE time_entry_latest (
                    entry_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, primary_reason TEXT,
                    pernr TEXT, entry_date TEXT, hours_cents INTEGER);
                CREATE INDEX time_entry_latest_outcome ON time_entry_latest(outcome);
                CREATE TABLE timesheet_status (
                    timesheet_id TEXT PRIMARY KEY, status TEXT NOT NULL, submitted_at TEXT,
                    export_business_date TEXT NOT NULL, export_id TEXT NOT NULL);
                CREATE TABLE outbound_file (
                    name TEXT PRIMARY KEY, target TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT NOT NULL,
                    pipeline TEXT NOT NULL, load_index INTEGER, business_date TEXT, run_date TEXT NOT NULL, seq INTEGER NOT NULL,
                    created_at TEXT NOT NULL, status TEXT NOT NULL, sha256 TEXT, records INTEGER);
                CREATE TABLE outbound_sequence (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
                CREATE TABLE snapshot_due (pipeline TEXT PRIMARY KEY, business_date TEXT);
                CREATE TABLE utilization_due (iso_week_monday TEXT PRIMARY KEY);
                CREATE TABLE sent_row (
                    target TEXT NOT NULL, row_key TEXT NOT NULL, content_sha256 TEXT NOT NULL, file TEXT NOT NULL,
                    PRIMARY KEY (target, row_key, content_sha256));
                CREATE TABLE utilization_weekly (
                    iso_week TEXT NOT NULL, week_start TEXT NOT NULL, region TEXT NOT NULL, practice TEXT NOT NULL,
                    job_code TEXT NOT NULL, billable_role TEXT NOT NULL, workers INTEGER NOT NULL,
                    capacity_hours TEXT, absence_hours TEXT, available_hours TEXT, billable_hours TEXT,
                    productive_hours TEXT, strategic_hours TEXT, internal_hours TEXT, training_hours TEXT,
                    bench_hours TEXT, actual_hours TEXT, billable_utilization TEXT, productive_utilization TEXT,
                    PRIMARY KEY (iso_week, region, practice, job_code, billable_role));
                """)
        }
        try m.migrate(queue)
        return queue
    }
}
