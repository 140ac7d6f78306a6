import DroplineCore
import DroplineLoad
import Foundation
import GRDB

/// The warehouse database (SQLite via GRDB, WAL). Pipeline tables are created from definitions;
/// `_dropline_file_load` records, in the same transaction as the data, which file was loaded,
/// so a rerun after a crash can tell.
public enum Warehouse {
    /// The tables of the warehouse's own (made by its migrations, not by a pipeline's loads)
    /// that an outbound file may read: the time stage's facts.
    public static let builtInTables: Set<String> = ["postings", "time_entry_latest", "time_entry_evaluation", "posted_week", "timesheet_status", "holds", "utilization_weekly"]

    /// `dryRun`: the caller keeps one transaction open for the whole run and rolls it back
    /// (see `DatabaseQueue.unitOfWork`), so each file sees what the files before it loaded.
    /// `upTo`: stop after the named migration (for upgrade tests: a warehouse as an earlier
    /// version left it).
    public static func open(path: String, dryRun: Bool = false, upTo: String? = nil) throws -> DatabaseQueue {
        _ = SQLiteSetup.applied
        var config = Configuration()
        config.allowsUnsafeTransactions = dryRun
        config.prepareDatabase { db in
            // 32 KiB pages for a new warehouse (a no-op on an existing one): an eighth of the WAL
            // frames, system calls and B-tree pages per row of 4 KiB pages. 1 GB night, run
            // 101.8 s -> 89.0 s with 16 KiB (`bench/ab 1 1000`), 72.55 s -> 68.69 s from 16 to
            // 32 KiB. 64 KiB ran the night as fast but doubled the rerun (2.1 s -> 4.0 s: each
            // re-evaluated hold dirties a whole page of the latest outcomes); 32 KiB leaves it.
            try db.execute(sql: "PRAGMA page_size = 32768")
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            // Every commit synced: files move to the archive after their load commits, and with
            // NORMAL a power cut may roll the last commits back (the database stays consistent,
            // the archived file would be loaded by nobody). No cost measured: 1 GB night
            // 72.91 s NORMAL, 68.22 s FULL; 100 MB 6.15 s, 6.18 s (`bench/ab`).
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // A 16 MiB page cache, not SQLite's 2 MB (62 pages of 32 KiB): a file's load is one
            // transaction, and with 62 pages the B-tree pages every row goes through (roots,
            // interior pages, the last leaves of seven tables and their indexes) were written to
            // the log, read back and written again over and over. On the 1 GB night 11,732 pages
            // were written over in the log, 2.03 GB written to it in all; with 16 MiB 211 pages
            // and 1.64 GB (strace). Interleaved, two rounds each: 1 GB run 92.03 -> 87.86 s and
            // 90.97 -> 88.95 s, CPU 161.2 -> 154.2 s and 161.8 -> 156.0 s; 100 MB 9.78 -> 9.39 s
            // (four rounds). Peak RSS 90 -> 103 MB at 1 GB, 63 -> 78 MB at 100 MB: a fixed
            // amount, the same for any size of file.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Debian builds SQLite with SECURE_DELETE on: every B-tree page rebuilt as rows are
            // inserted in the middle of an index, and every cell freed, is zeroed first. On the
            // 10 MB night that zeroed 11,353 pages of 32 KiB on the writer's thread (63 M
            // instructions, 4 % of its work). Nothing is kept secret by it here: the rows the
            // warehouse deletes or rewrites (holds, latest outcomes, due weeks, week sums) keep
            // their values in its history and audit rows and in the archived exports.
            try db.execute(sql: "PRAGMA secure_delete = OFF")
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
        // A labor file takes every posting not yet in one, and postings are numbered in the order
        // they are written, so each file's postings are one range of `seq`: kept in outbound_file
        // (first_seq, last_seq) instead of an indexed column updated on every posting.
        m.registerMigration("v3: labor files as posting ranges; oldest export per labor file; latest outcome without rowid and a partial index of open outcomes; evaluations numbered without AUTOINCREMENT (rows are never deleted; no sqlite_sequence write per row); holds in evaluation order; posted hours per ISO week, worker and bucket") { db in
            // The posting-latency metric reads one column instead of joining every posting of
            // the last labor file; reconciliation only ever filters held and rejected outcomes.
            try db.execute(sql: """
                ALTER TABLE outbound_file ADD COLUMN oldest_generated_at TEXT;
                ALTER TABLE outbound_file ADD COLUMN first_seq INTEGER;
                ALTER TABLE outbound_file ADD COLUMN last_seq INTEGER;
                UPDATE outbound_file SET
                    first_seq = (SELECT MIN(seq) FROM postings p WHERE p.output_file = outbound_file.name),
                    last_seq = (SELECT MAX(seq) FROM postings p WHERE p.output_file = outbound_file.name),
                    oldest_generated_at = (SELECT MIN(f.generated_at) FROM postings p JOIN _dropline_file_load f ON f.export_id = p.export_id
                                           WHERE p.output_file = outbound_file.name AND f.generated_at IS NOT NULL)
                    WHERE kind = 'erp_labor';
                DROP INDEX postings_output;
                ALTER TABLE postings DROP COLUMN output_file;
                CREATE INDEX outbound_file_postings ON outbound_file(kind, first_seq);
                DROP INDEX time_entry_latest_outcome;
                CREATE TABLE time_entry_latest_v3 (
                    entry_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, primary_reason TEXT,
                    pernr TEXT, entry_date TEXT, hours_cents INTEGER) WITHOUT ROWID;
                INSERT INTO time_entry_latest_v3 SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours_cents FROM time_entry_latest;
                DROP TABLE time_entry_latest;
                ALTER TABLE time_entry_latest_v3 RENAME TO time_entry_latest;
                CREATE TABLE time_entry_evaluation_v3 (
                    id INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, timesheet_id TEXT, export_id TEXT,
                    run_id TEXT NOT NULL, outcome TEXT NOT NULL, primary_reason TEXT, reasons TEXT,
                    pernr TEXT, entry_date TEXT, hours TEXT);
                INSERT INTO time_entry_evaluation_v3 SELECT id, entry_id, timesheet_id, export_id, run_id, outcome, primary_reason, reasons, pernr, entry_date, hours FROM time_entry_evaluation;
                DROP TABLE time_entry_evaluation;
                ALTER TABLE time_entry_evaluation_v3 RENAME TO time_entry_evaluation;
                CREATE INDEX time_entry_evaluation_entry ON time_entry_evaluation(entry_id);
                CREATE INDEX time_entry_latest_open ON time_entry_latest(outcome, hours_cents) WHERE outcome IN ('held', 'rejected');
                CREATE INDEX holds_order ON holds(business_date, file_name, position, entry_id);
                CREATE TABLE posted_week (
                    monday TEXT NOT NULL, pernr TEXT NOT NULL, bucket TEXT NOT NULL, hours_cents INTEGER NOT NULL,
                    PRIMARY KEY (monday, pernr, bucket)) WITHOUT ROWID;
                INSERT INTO posted_week (monday, pernr, bucket, hours_cents)
                    SELECT date(posting_date, '-6 days', 'weekday 1'), pernr, bucket, SUM(hours_cents) FROM postings GROUP BY 1, 2, 3;
                """)
        }
        // Indexes only for the queries Dropline runs. Nothing looks evaluations up by entry id
        // (the latest outcome is its own table, keyed by entry id), and that index cost one
        // random B-tree write per evaluation: on a warehouse of a few million entries, a night's
        // re-evaluated holds dirtied one leaf page each. Check 12's daily hours per worker read
        // `hours_cents` from the index itself instead of one table row per posting. The latest
        // outcome carries the entry's net posted hundredths, so the reconciliation-gap metric
        // reads one partial index instead of probing the postings of every held or rejected entry.
        m.registerMigration("v4: no index of evaluations by entry id; posted hours per worker and day read from the index; net posted hours on the latest outcome") { db in
            try db.execute(sql: """
                DROP INDEX time_entry_evaluation_entry;
                DROP INDEX postings_day;
                CREATE INDEX postings_day ON postings(pernr, posting_date, hours_cents);
                ALTER TABLE time_entry_latest ADD COLUMN posted_cents INTEGER NOT NULL DEFAULT 0;
                UPDATE time_entry_latest SET posted_cents = p.cents
                    FROM (SELECT entry_id, SUM(hours_cents) AS cents FROM postings GROUP BY entry_id) AS p
                    WHERE p.entry_id = time_entry_latest.entry_id;
                DROP INDEX time_entry_latest_open;
                CREATE INDEX time_entry_latest_open ON time_entry_latest(outcome, hours_cents, posted_cents) WHERE outcome IN ('held', 'rejected');
                """)
        }
        // Check 12 sums a worker's postings of one day. An index of every posting by worker and
        // day took one random B-tree insert per posting (and, on a large night, one page written
        // to the WAL per timesheet); the week's row per worker and bucket, which utilization
        // already keeps, carries the seven daily sums instead.
        m.registerMigration("v5: posted hours per day on the week's row; postings not indexed by worker and day") { db in
            let days = (1...7).map { "day\($0)_cents" }
            try db.execute(sql: days.map { "ALTER TABLE posted_week ADD COLUMN \($0) INTEGER NOT NULL DEFAULT 0;" }.joined(separator: "\n"))
            try db.execute(sql: """
                UPDATE posted_week SET \(days.map { "\($0) = d.\($0)" }.joined(separator: ", "))
                    FROM (SELECT date(posting_date, '-6 days', 'weekday 1') AS monday, pernr, bucket,
                                 \((0..<7).map { "SUM(CASE WHEN CAST(julianday(posting_date) - julianday(date(posting_date, '-6 days', 'weekday 1')) AS INTEGER) = \($0) THEN hours_cents ELSE 0 END) AS \(days[$0])" }.joined(separator: ", "))
                          FROM postings GROUP BY 1, 2, 3) AS d
                    WHERE d.monday = posted_week.monday AND d.pernr = posted_week.pernr AND d.bucket = posted_week.bucket;
                DROP INDEX postings_day;
                """)
        }
        // Every posting wrote two B-trees more than its lookups need: the unique index of posting
        // ids and AUTOINCREMENT's `sqlite_sequence` row, rewritten by every insert. A posting id
        // is `P-<entry id>-<n>` (n digits only), so it is unique exactly when the pair (entry id,
        // posting id) is: one unique index by entry serves the lookups and keeps the guarantee.
        // Postings are never deleted, so SQLite's choice of rowid without AUTOINCREMENT (the
        // largest plus one) never gives again a seq that a labor file's range names.
        m.registerMigration("v6: postings numbered without AUTOINCREMENT; one unique index of postings by entry and posting id") { db in
            let columns = "posting_id, entry_id, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket, content_pernr, content_date, content_project, content_hours, content_category, export_id, run_id"
            try db.execute(sql: """
                CREATE TABLE postings_v6 (
                    seq INTEGER PRIMARY KEY,
                    posting_id TEXT NOT NULL, entry_id TEXT NOT NULL, reverses TEXT, reversed_by TEXT,
                    pernr TEXT NOT NULL, erp_project TEXT NOT NULL, labor_class TEXT NOT NULL,
                    posting_date TEXT NOT NULL, period TEXT NOT NULL,
                    hours TEXT NOT NULL, hours_cents INTEGER NOT NULL, cost_amount TEXT NOT NULL, bill_amount TEXT NOT NULL,
                    currency TEXT NOT NULL, bucket TEXT NOT NULL,
                    content_pernr TEXT, content_date TEXT, content_project TEXT, content_hours TEXT, content_category TEXT,
                    export_id TEXT, run_id TEXT NOT NULL);
                INSERT INTO postings_v6 (seq, \(columns)) SELECT seq, \(columns) FROM postings ORDER BY seq;
                DROP TABLE postings;
                ALTER TABLE postings_v6 RENAME TO postings;
                CREATE UNIQUE INDEX postings_entry ON postings(entry_id, posting_id);
                DELETE FROM sqlite_sequence WHERE name = 'postings';
                """)
        }
        // Held entries rejected by a re-evaluation leave the hold store in its transaction; their
        // reject files are written to work/ before it commits and put in place after. This row,
        // committed with them, tells the next run's recovery which of those files it must
        // complete when the run died in between (a file's load has _dropline_file_load for that).
        m.registerMigration("v7: reject files of held entries committed, not yet in place") { db in
            try db.execute(sql: """
                CREATE TABLE pending_reject_file (
                    run_id TEXT NOT NULL, name TEXT NOT NULL, pipeline TEXT NOT NULL, run_date TEXT NOT NULL,
                    export_id TEXT NOT NULL, records INTEGER NOT NULL, PRIMARY KEY (run_id, name))
                """)
        }
        // What the ledger entry of a loaded file says besides loaded and rejected, committed with
        // the load: recovery writes the entry of a file whose run died before the ledger did.
        m.registerMigration("v8: held, skipped and reasons of a loaded file") { db in
            try db.execute(sql: """
                ALTER TABLE _dropline_file_load ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE _dropline_file_load ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE _dropline_file_load ADD COLUMN reasons TEXT;
                """)
        }
        // Every posting and evaluation carried its run id and export id as text (35 bytes a row,
        // 16 % of the warehouse), and a posting its own id and the one it reverses, which are
        // `P-<entry id>-<n>` of its own entry. Rows now keep a reference to the (run, export)
        // pair and the posting numbers; views with the old names and columns give the rows as
        // before, so reports, outbound files and queries read them unchanged. `origin` is not
        // declared a foreign key: with foreign keys on (GRDB's default) every row written would
        // look its pair up again (run 6.57 s -> 6.91 s, `bench/ab 3 100`); the stage takes the
        // id from the pair it added.
        m.registerMigration("v9: postings and evaluations refer to their run and export; postings keep their numbers, not their ids; views postings and time_entry_evaluation") { db in
            try Self.refuseNonCanonicalPostingIDs(db)
            try db.execute(sql: """
                CREATE TABLE run_export (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, export_id TEXT, UNIQUE (run_id, export_id));
                INSERT INTO run_export (run_id, export_id)
                    SELECT run_id, export_id FROM postings UNION SELECT run_id, export_id FROM time_entry_evaluation ORDER BY 1, 2;
                CREATE TABLE posting_row (
                    seq INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, n INTEGER NOT NULL, reverses INTEGER, reversed_by INTEGER,
                    pernr TEXT NOT NULL, erp_project TEXT NOT NULL, labor_class TEXT NOT NULL,
                    posting_date TEXT NOT NULL, period TEXT NOT NULL,
                    hours TEXT NOT NULL, hours_cents INTEGER NOT NULL, cost_amount TEXT NOT NULL, bill_amount TEXT NOT NULL,
                    currency TEXT NOT NULL, bucket TEXT NOT NULL,
                    content_pernr TEXT, content_date TEXT, content_project TEXT, content_hours TEXT, content_category TEXT,
                    origin INTEGER NOT NULL);
                INSERT INTO posting_row
                    SELECT seq, entry_id, \(Self.postingNumber("posting_id")), \(Self.postingNumber("reverses")), \(Self.postingNumber("reversed_by")),
                        pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                        content_pernr, content_date, content_project, content_hours, content_category,
                        (SELECT o.id FROM run_export o WHERE o.run_id = p.run_id AND o.export_id IS p.export_id)
                    FROM postings p ORDER BY seq;
                DROP TABLE postings;
                CREATE UNIQUE INDEX posting_row_entry ON posting_row(entry_id, n);
                CREATE TABLE time_entry_evaluation_row (
                    id INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, timesheet_id TEXT, origin INTEGER NOT NULL,
                    outcome TEXT NOT NULL, primary_reason TEXT, reasons TEXT, pernr TEXT, entry_date TEXT, hours TEXT);
                INSERT INTO time_entry_evaluation_row
                    SELECT id, entry_id, timesheet_id, (SELECT o.id FROM run_export o WHERE o.run_id = e.run_id AND o.export_id IS e.export_id),
                        outcome, primary_reason, reasons, pernr, entry_date, hours
                    FROM time_entry_evaluation e ORDER BY id;
                DROP TABLE time_entry_evaluation;
                CREATE VIEW postings AS
                    SELECT p.seq, \(Self.postingID("p.n")) AS posting_id, p.entry_id,
                        \(Self.postingID("p.reverses")) AS reverses, \(Self.postingID("p.reversed_by")) AS reversed_by,
                        p.pernr, p.erp_project, p.labor_class, p.posting_date, p.period, p.hours, p.hours_cents, p.cost_amount, p.bill_amount,
                        p.currency, p.bucket, p.content_pernr, p.content_date, p.content_project, p.content_hours, p.content_category,
                        o.export_id, o.run_id
                    FROM posting_row p JOIN run_export o ON o.id = p.origin;
                CREATE VIEW time_entry_evaluation AS
                    SELECT e.id, e.entry_id, e.timesheet_id, o.export_id, o.run_id, e.outcome, e.primary_reason, e.reasons, e.pernr, e.entry_date, e.hours
                    FROM time_entry_evaluation_row e JOIN run_export o ON o.id = e.origin;
                """)
        }
        // A posted decision wrote its posting and an evaluation row repeating the posting's
        // entry, origin and content: a third of the rows of a night (run 6.30 s -> 5.89 s at
        // 100 MB without them, `bench/ab 4 100`). Its evaluation is now kept on the posting it
        // wrote (the decision's last, never a reversal): `evaluation` is its id, from the same
        // counting as the evaluation rows (`TimePostingStage.nextEvaluation`), so the view gives
        // every evaluation, in order, with the columns it had. Rows written before stay as they are.
        m.registerMigration("v10: a posted evaluation is kept on its posting") { db in
            try db.execute(sql: """
                ALTER TABLE posting_row ADD COLUMN evaluation INTEGER;
                ALTER TABLE posting_row ADD COLUMN timesheet_id TEXT;
                DROP VIEW time_entry_evaluation;
                CREATE VIEW time_entry_evaluation AS
                    SELECT e.id, e.entry_id, e.timesheet_id, o.export_id, o.run_id, e.outcome, e.primary_reason, e.reasons, e.pernr, e.entry_date, e.hours
                    FROM time_entry_evaluation_row e JOIN run_export o ON o.id = e.origin
                    UNION ALL
                    SELECT p.evaluation, p.entry_id, p.timesheet_id, o.export_id, o.run_id, 'posted', NULL, '', p.content_pernr, p.content_date, p.content_hours
                    FROM posting_row p JOIN run_export o ON o.id = p.origin WHERE p.evaluation IS NOT NULL;
                """)
        }
        // A posted decision also upserted the entry's latest outcome, which repeats its current
        // posting (run 5.91 s -> 5.50 s at 100 MB without those rows, `bench/ab 4 100`). An
        // entry whose latest decision posted now has no row (a row of an earlier decision is
        // deleted); the view gives its current posting (neither a reversal nor reversed) in its
        // place, with the entry's net posted hundredths. Rows written before stay as they are.
        m.registerMigration("v11: the latest outcome of a posted entry is its current posting") { db in
            try db.execute(sql: """
                ALTER TABLE time_entry_latest RENAME TO time_entry_latest_row;
                CREATE VIEW time_entry_latest AS
                    SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents FROM time_entry_latest_row
                    UNION ALL
                    SELECT p.entry_id, 'posted', NULL, p.content_pernr, p.content_date, p.hours_cents,
                        (SELECT SUM(q.hours_cents) FROM posting_row q WHERE q.entry_id = p.entry_id)
                    FROM posting_row p
                    WHERE p.reverses IS NULL AND p.reversed_by IS NULL AND NOT EXISTS (SELECT 1 FROM time_entry_latest_row l WHERE l.entry_id = p.entry_id);
                """)
        }
        // A posting's content (the entry it came from) repeated the posting's worker and date in
        // every row, and its category where that is the bucket (nine postings in ten): 28 of the
        // 155 bytes of a posting row, a row per entry posted, all of it written to the log and
        // copied again by the checkpoint. Those three are now NULL where they equal the posting's
        // (`TimePostingStage.insert`); a posting with content always has its project, a reversal
        // has no content at all, so `postingContent` tells the two NULLs apart. The views give
        // the columns as before; rows written before stay as they are.
        m.registerMigration("v12: a posting's content keeps its worker, date and category only where they differ from the posting's") { db in
            try db.execute(sql: """
                DROP VIEW postings;
                CREATE VIEW postings AS
                    SELECT p.seq, \(Self.postingID("p.n")) AS posting_id, p.entry_id,
                        \(Self.postingID("p.reverses")) AS reverses, \(Self.postingID("p.reversed_by")) AS reversed_by,
                        p.pernr, p.erp_project, p.labor_class, p.posting_date, p.period, p.hours, p.hours_cents, p.cost_amount, p.bill_amount,
                        p.currency, p.bucket, \(Self.postingContent("pernr")) AS content_pernr, \(Self.postingContent("date")) AS content_date, p.content_project, p.content_hours,
                        \(Self.postingContent("category")) AS content_category,
                        o.export_id, o.run_id
                    FROM posting_row p JOIN run_export o ON o.id = p.origin;
                DROP VIEW time_entry_evaluation;
                CREATE VIEW time_entry_evaluation AS
                    SELECT e.id, e.entry_id, e.timesheet_id, o.export_id, o.run_id, e.outcome, e.primary_reason, e.reasons, e.pernr, e.entry_date, e.hours
                    FROM time_entry_evaluation_row e JOIN run_export o ON o.id = e.origin
                    UNION ALL
                    SELECT p.evaluation, p.entry_id, p.timesheet_id, o.export_id, o.run_id, 'posted', NULL, '', \(Self.postingContent("pernr")), \(Self.postingContent("date")), p.content_hours
                    FROM posting_row p JOIN run_export o ON o.id = p.origin WHERE p.evaluation IS NOT NULL;
                DROP VIEW time_entry_latest;
                CREATE VIEW time_entry_latest AS
                    SELECT entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents FROM time_entry_latest_row
                    UNION ALL
                    SELECT p.entry_id, 'posted', NULL, \(Self.postingContent("pernr")), \(Self.postingContent("date")), p.hours_cents,
                        (SELECT SUM(q.hours_cents) FROM posting_row q WHERE q.entry_id = p.entry_id)
                    FROM posting_row p
                    WHERE p.reverses IS NULL AND p.reversed_by IS NULL AND NOT EXISTS (SELECT 1 FROM time_entry_latest_row l WHERE l.entry_id = p.entry_id);
                """)
        }
        // A statement that writes several rows and may abort half way makes SQLite keep the
        // pages it changes in a statement journal, so as to undo just that statement: a copy of
        // a whole 32 KiB page, per page and statement, spilled to a temporary file. The writer's
        // grouped inserts say `OR FAIL` (`TimePostingStage.Write`), but the week sums' `DO
        // UPDATE` checks the NOT NULL of the sums it sets with ABORT whatever the insert says,
        // so each group of week sums wrote a page to that file: on the 1 GB night 25 GB of
        // copies (30.4 GB written by the run, 4.8 GB without; /proc/PID/io). The sums are
        // written by Dropline only, always as integers: without NOT NULL, nothing can abort.
        m.registerMigration("v13: week sums without NOT NULL: a group of them is added without a statement journal") { db in
            let days = TimePostingStage.dayColumns
            try db.execute(sql: """
                CREATE TABLE posted_week_v13 (
                    monday TEXT NOT NULL, pernr TEXT NOT NULL, bucket TEXT NOT NULL, hours_cents INTEGER, \(days.map { "\($0) INTEGER DEFAULT 0" }.joined(separator: ", ")),
                    PRIMARY KEY (monday, pernr, bucket)) WITHOUT ROWID;
                INSERT INTO posted_week_v13 (monday, pernr, bucket, hours_cents, \(days.joined(separator: ", ")))
                    SELECT monday, pernr, bucket, hours_cents, \(days.joined(separator: ", ")) FROM posted_week ORDER BY monday, pernr, bucket;
                DROP TABLE posted_week;
                ALTER TABLE posted_week_v13 RENAME TO posted_week;
                """)
        }
        try m.refuseNewer(queue, path: path)
        if let upTo { try m.migrate(queue, upTo: upTo) } else { try m.migrate(queue) }
        return queue
    }

    /// SQL for `Posting.id` of number `n` (a column of `posting_row p`), NULL when `n` is.
    static func postingID(_ n: String) -> String {
        "CASE WHEN \(n) IS NULL THEN NULL WHEN \(n) BETWEEN 0 AND 999 THEN 'P-' || p.entry_id || '-' || substr('00' || \(n), -3) ELSE 'P-' || p.entry_id || '-' || \(n) END"
    }

    /// SQL for the content column `content_<name>` of `posting_row p` as it was written before
    /// v12: NULL in a row with content (its project is never NULL) stands for the posting's own
    /// value (`pernr`, `posting_date`, `bucket`); a row without content (a reversal) stays NULL.
    static func postingContent(_ name: String) -> String {
        let own = ["pernr": "pernr", "date": "posting_date", "category": "bucket"][name]!
        return "COALESCE(p.content_\(name), CASE WHEN p.content_project IS NOT NULL THEN p.\(own) END)"
    }

    /// SQL for the number of a posting id column of `postings p` (the digits after the entry id).
    static func postingNumber(_ column: String) -> String {
        "CAST(substr(p.\(column), length(p.entry_id) + 4) AS INTEGER)"
    }

    /// Posting ids, and the ids a posting reverses or is reversed by, must be postings of the
    /// same entry as Dropline numbers them, for v9 to keep only their numbers: anything else
    /// stops the upgrade (and the run) with the first such posting named, changing nothing.
    static func refuseNonCanonicalPostingIDs(_ db: Database) throws {
        for column in ["posting_id", "reverses", "reversed_by"] {
            let canonical = postingID(postingNumber(column))
            let odd = try Row.fetchOne(db, sql: "SELECT p.seq, p.\(column) FROM postings p WHERE p.\(column) IS NOT NULL AND p.\(column) IS NOT (\(canonical)) LIMIT 1")
            if let odd {
                let seq: Int64 = odd[0]
                throw RunError.notUpgradable("warehouse.sqlite cannot be upgraded to this version: posting seq \(seq) has a \(column) that is not P-<entry id>-<number> of its own entry, which Dropline never writes. Restore the warehouse from a backup or correct that posting with the sqlite3 shell, then run again; nothing was changed.")
            }
        }
    }
}

extension DatabaseQueue {
    /// One unit of work (a file, a hold re-evaluation): a transaction of its own in a real run;
    /// in a dry run a savepoint inside the run's outer transaction, which the runner rolls back
    /// at the end. Refuses to run a dry-run unit outside that outer transaction.
    /// `spool`: the run's labor lines, which keep what the unit adds only if it commits.
    func unitOfWork(dryRun: Bool, spool: LaborSpool? = nil, _ body: (Database) throws -> Void) throws {
        try writeWithoutTransaction { db in
            if dryRun && !db.isInsideTransaction {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "a dry run writes only inside its outer transaction")
            }
            spool?.begin()
            do {
                try db.inSavepoint {
                    try body(db)
                    return .commit
                }
            } catch {
                spool?.rollback()
                throw error
            }
            spool?.commit()
        }
    }

    /// Opens the dry run's outer transaction.
    func beginDryRun() throws {
        try writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE TRANSACTION") }
    }

    /// Discards everything the dry run wrote.
    func endDryRun() {
        try? writeWithoutTransaction { db in
            if db.isInsideTransaction { try db.execute(sql: "ROLLBACK TRANSACTION") }
        }
    }
}

extension DatabaseMigrator {
    /// Throws when the database holds migrations this version does not know: a newer Dropline
    /// upgraded it, and this one would read and write it with the older schema's assumptions.
    func refuseNewer(_ queue: DatabaseQueue, path: String) throws {
        let unknown = try queue.read { db in try appliedIdentifiers(db).subtracting(migrations) }
        guard let first = unknown.sorted().first else { return }
        throw RunError.newerZone("\((path as NSString).lastPathComponent) was upgraded by a newer Dropline (migration '\(first)' is unknown to version \(DroplineInfo.version)). Run that version or a newer one; nothing was changed.")
    }
}
