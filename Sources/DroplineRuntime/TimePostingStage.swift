import DroplineCore
import DroplineLoad
import DroplineProfessionalServices
import DroplineXML
import Foundation
import GRDB

/// The warehouse side of time approval and posting: implements the rules' lookups on the
/// warehouse tables and records every decision (postings, holds, evaluations) in the caller's
/// transaction. One instance per transaction; `finish()` or `close()` before it ends.
///
/// Deciding a file, writes run behind, on a second thread (`WriteBehind`), while the next
/// entries are decided. In a real run (everything before this transaction is committed) lookups
/// read through a second connection (`ReadConnection`), which sees the warehouse as it was
/// before the transaction; a dry run's transaction holds earlier files too, so its lookups read
/// the writer's connection, between two rows. `written` remembers, in fixed memory, which entry
/// ids and worker weeks the transaction wrote: a lookup of one of those (or a false "maybe")
/// reads the writer's connection, after the queue when a write for that key is still in it.
/// The re-evaluation of holds does everything on the caller's thread and one connection.
final class TimePostingStage: TimeEntryLookup {
    enum Outcome {
        case posted(Int)
        case held(ReasonCode)
        case rejected([RecordIssue])
        case skipped(ReasonCode)
    }

    let db: Database
    let load: TimePostingLoad
    let runID: String
    let runDate: BusinessDate
    let rules: TimeEntryRules
    let categories: TextTable<CategoryInfo>
    /// Held entries dropped because the current run's export carries them again.
    var superseded = 0
    /// False when the holds table was empty as the transaction began: then only an entry this
    /// stage wrote (`written` says "maybe") needs a hold lookup, not every entry after the first
    /// hold.
    let holdsBefore: Bool
    /// The entry ids on hold as the transaction began, when the file has at least as many
    /// entries as there are holds (reading them once then costs less than asking the holds
    /// table for every entry, as every night after the first did); nil otherwise.
    let heldBefore: KeyFilter?
    /// True when postings and their weekly sums were both empty as the transaction began (the
    /// first load of a zone, a history loaded in one go): then every key this stage writes is
    /// kept in `written`, and an entry or worker week it certainly did not write has no posting
    /// and no posted hours, without asking the warehouse.
    let nothingPostedBefore: Bool
    /// ISO weeks (their Mondays' day numbers) this transaction posted to, marked in
    /// `utilization_due` by `finish`, just before the commit. Marked as the entries came, the
    /// table's two pages were sent to the log when the cache was full and changed again later,
    /// which SQLite does by writing over their frames in the log; a commit then reads back and
    /// checksums every frame after the first one written over (on the 100 MB night, from 7 MB
    /// of a 171 MB log on; from 71 MB without these pages).
    var dueWeeks: Set<Int> = []
    let writes: WriteBehind
    /// Keys (entry ids, and worker weeks as `weekKey`) of what this stage wrote that a lookup
    /// must know of: with writes behind or `nothingPostedBefore` every key (`read`,
    /// `postings(of:)`, `postedHundredths`), else (synchronous writes: everything is read on the
    /// caller's connection, current) only the entries it held (`mayBeHeld`).
    var written: OrderedKeyFilter
    /// The lookups on the writer's connection, and on the second connection when there is one.
    let mainReads: ReadStatements
    let readerReads: ReadStatements?
    let reader: ReadConnection?

    struct ReadStatements {
        let holdExists, postingsOfEntry, postedWeek: RawStatement
        let workerRanges: RawStatement?

        init(_ prepare: (String) throws -> RawStatement, hasWorkers: Bool) throws {
            holdExists = try prepare("SELECT 1 FROM holds WHERE entry_id = ?")
            postingsOfEntry = try prepare("""
                SELECT \(Warehouse.postingID("p.n")), p.entry_id, \(Warehouse.postingID("p.reverses")), \(Warehouse.postingID("p.reversed_by")), p.pernr, p.erp_project, p.labor_class,
                    p.posting_date, p.period, p.hours, p.cost_amount, p.bill_amount, p.currency, p.bucket,
                    \(Warehouse.postingContent("pernr")), \(Warehouse.postingContent("date")), p.content_project, p.content_hours, \(Warehouse.postingContent("category")), p.seq
                FROM posting_row p WHERE p.entry_id = ?
                """)
            postedWeek = try prepare("SELECT \(TimePostingStage.dayColumns.map { "SUM(\($0))" }.joined(separator: ", ")) FROM posted_week WHERE monday = ? AND pernr = ?")
            workerRanges = hasWorkers ? try prepare("SELECT valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers WHERE pernr = ? ORDER BY valid_from") : nil
        }
    }

    /// The statements the writer runs (`WriteBehind.statements`, in this order).
    enum Write: Int, CaseIterable {
        case timesheetStatus, holdDelete, holdInsert, evaluation, latest, latestDelete, postingInsert, postingReversed, weekDue, postedWeekAdd

        var sql: String {
            switch self {
            case .timesheetStatus: "INSERT INTO timesheet_status (timesheet_id, status, submitted_at, export_business_date, export_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT(timesheet_id) DO UPDATE SET status = excluded.status, submitted_at = excluded.submitted_at, export_business_date = excluded.export_business_date, export_id = excluded.export_id WHERE excluded.export_business_date >= timesheet_status.export_business_date"
            case .holdDelete: "DELETE FROM holds WHERE entry_id = ?"
            case .holdInsert: """
                INSERT OR REPLACE INTO holds (entry_id, reason, business_date, timesheet_id, week_start, export_id, pernr, entry_date, project, hours, category, file_name, position, held_since_run)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, COALESCE((SELECT held_since_run FROM holds WHERE entry_id = ?1), ?14))
                """
            case .evaluation: "INSERT INTO time_entry_evaluation_row (id, entry_id, timesheet_id, origin, outcome, primary_reason, reasons, pernr, entry_date, hours) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            // The row's posted hundredths are the entry's postings' sum, as written by the rows before it.
            case .latest: """
                INSERT INTO time_entry_latest_row (entry_id, outcome, primary_reason, pernr, entry_date, hours_cents, posted_cents)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(SUM(hours_cents), 0) FROM posting_row WHERE entry_id = ?1))
                ON CONFLICT(entry_id) DO UPDATE SET outcome = excluded.outcome, primary_reason = excluded.primary_reason, pernr = excluded.pernr, entry_date = excluded.entry_date, hours_cents = excluded.hours_cents, posted_cents = excluded.posted_cents
                """
            case .latestDelete: "DELETE FROM time_entry_latest_row WHERE entry_id = ?"
            case .postingInsert: Self.postingRows(1)
            case .postingReversed: "UPDATE posting_row SET reversed_by = ? WHERE entry_id = ? AND n = ?"
            case .weekDue: "INSERT OR IGNORE INTO utilization_due (iso_week_monday) VALUES (?)"
            case .postedWeekAdd: Self.postedWeekRows(1)
            }
        }

        /// `rows` postings at once: one, the plain insert; several, a group of `.postingInsert`
        /// for the writer (`WriteBehind.init`), `OR FAIL`.
        static func postingRows(_ rows: Int) -> String {
            """
            INSERT \(rows > 1 ? "OR FAIL " : "")INTO posting_row (entry_id, n, reverses, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                content_pernr, content_date, content_project, content_hours, content_category, origin, evaluation, timesheet_id)
            VALUES \(values(rows, parameters: 22))
            """
        }

        /// `rows` additions to `posted_week` at once, as `postingRows`.
        static func postedWeekRows(_ rows: Int) -> String {
            """
            INSERT \(rows > 1 ? "OR FAIL " : "")INTO posted_week (monday, pernr, bucket, hours_cents, \(TimePostingStage.dayColumns.joined(separator: ", "))) VALUES \(values(rows, parameters: 11))
            ON CONFLICT(monday, pernr, bucket) DO UPDATE SET hours_cents = hours_cents + excluded.hours_cents, \(TimePostingStage.dayColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """
        }

        static func values(_ rows: Int, parameters: Int) -> String {
            Array(repeating: "(" + Array(repeating: "?", count: parameters).joined(separator: ", ") + ")", count: rows).joined(separator: ", ")
        }

        /// The writer's groups (`WriteBehind.init`), by statement: a timesheet's entries (about
        /// seven) post one after another, and the week sums are added 256 at a time.
        static func groups(_ prepare: (String) throws -> RawStatement) throws -> [Int: [RawStatement]] {
            [Write.postingInsert.rawValue: try [8, 4, 2].map { try prepare(postingRows($0)) },
             Write.postedWeekAdd.rawValue: try [8, 4, 2].map { try prepare(postedWeekRows($0)) }]
        }
    }

    /// False in a dry run: the write-only audit rows (evaluations, latest outcomes, timesheet
    /// statuses) are not written at all, since the transaction is rolled back. Postings and
    /// holds still are: later entries of the same run read them (postings only of the entries
    /// the run's exports may give more than once: `kept`).
    let audit: Bool

    /// A dry run's entries (keys of `RepeatedValueScan`) whose postings are written: the others
    /// occur once in the run, and nothing reads their postings back (which were a fifth of a
    /// dry run's work: `bench/instructions 10 --dry-run`). Nil: every posting. The keys are
    /// also in a filter, asked first: most entries are not kept, and the filter says so for far
    /// less than hashing the key for the set.
    let kept: (keys: Set<String>, filter: KeyFilter)?

    /// Whether the postings of the entry `ref` are written (every one but in a dry run).
    func keeps(_ ref: String) -> Bool {
        guard let kept else { return true }
        let key = RepeatedValueScan.key(ref)
        return kept.filter.mayContain(key) && kept.keys.contains(key)
    }

    /// `expectedEntries` sizes `written`. `writeBehind`: writes on a second thread (deciding a
    /// file), and in a real run lookups on a second connection; without it everything runs on the
    /// caller's thread (re-evaluating holds reads them in pages between the writes, so it would
    /// only wait for the writer). `spool`: told of every posting written (`LaborSpool`).
    init(db: Database, load: TimePostingLoad, settings: ZoneSettings, runID: String, runDate: BusinessDate, audit: Bool = true, writeBehind: Bool = false, expectedEntries: Int = 0, spool: LaborSpool? = nil,
         keepingPostingsOf kept: Set<String>? = nil) throws {
        precondition(kept == nil || !audit, "only a dry run leaves postings out")
        self.db = db
        self.audit = audit
        self.kept = kept.map { keys in
            var filter = KeyFilter(expectedKeys: keys.count)
            for key in keys { filter.insert(key) }
            return (keys, filter)
        }
        let hasWorkers = try db.tableExists("workers")
        // Deciding a file, worker ranges come through `workers` instead.
        mainReads = try ReadStatements({ try RawStatement(db, $0) }, hasWorkers: hasWorkers && !writeBehind)
        // A dry run's transaction holds the whole run, earlier files too: one connection.
        let reader = audit && writeBehind ? ReadConnection(besides: db) : nil
        // Its reads all see the warehouse as committed before this transaction anyway.
        try reader?.beginSnapshot()
        self.reader = reader
        readerReads = try reader.map { r in try ReadStatements(r.prepare, hasWorkers: false) }
        // A dry run's file has no second connection: the cursor then stands on the writer's,
        // stepped under its lock like any read there.
        workers = !hasWorkers || !writeBehind ? nil : WorkerCursor(try reader?.prepare(WorkerCursor.sql) ?? RawStatement(db, WorkerCursor.sql))
        writes = WriteBehind(statements: try Write.allCases.map { try RawStatement(db, $0.sql) }, synchronous: !writeBehind, observe: [Write.postingInsert.rawValue], observer: spool?.observer,
                             groups: writeBehind ? try Write.groups { try RawStatement(db, $0) } : [:])
        let holds = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM holds") ?? 0
        holdsBefore = holds > 0
        if holds > 0, expectedEntries >= holds {
            var filter = KeyFilter(expectedKeys: holds)
            let ids = try String.fetchCursor(db, sql: "SELECT entry_id FROM holds")
            while let id = try ids.next() { filter.insert(id) }
            heldBefore = filter
        } else {
            heldBefore = nil
        }
        nothingPostedBefore = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM posting_row) AND NOT EXISTS (SELECT 1 FROM posted_week)") ?? false
        lastLatestRowBefore = try String.fetchOne(db, sql: "SELECT MAX(entry_id) FROM time_entry_latest_row").map { Array($0.utf8) }
        lastEntryPostedBefore = try String.fetchOne(db, sql: "SELECT MAX(entry_id) FROM posting_row").map { Array($0.utf8) }
        lastWeekPostedBefore = try String.fetchOne(db, sql: "SELECT MAX(monday) FROM posted_week").flatMap { BusinessDate(iso: $0) }?.dayNumber ?? Int.min
        written = OrderedKeyFilter(expectedKeys: writes.synchronous && !nothingPostedBefore ? expectedEntries / 16 : expectedEntries, kinds: Int(Self.weekKind) + 1)
        // The last evaluation id is the last row's or the last posting's: every posted decision
        // ends with the posting that carries its evaluation, and ids only grow.
        let lastRow = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM time_entry_evaluation_row") ?? 0
        let lastPosted = try Int64.fetchOne(db, sql: "SELECT evaluation FROM posting_row ORDER BY seq DESC LIMIT 1") ?? 0
        nextEvaluation = max(lastRow, lastPosted) + 1
        projects = TextTable(try Self.loadProjects(db))
        rates = TextTable(try Self.loadRates(db))
        periods = try Self.loadPeriods(db, company: settings.company)
        self.load = load
        self.runID = runID
        self.runDate = runDate
        self.rules = TimeEntryRules(holdDays: load.holdDays ?? settings.holdDays)
        var map: [String: CategoryInfo] = [:]
        for (key, row) in load.categories.rows {
            map[key] = CategoryInfo(laborClass: row["erp_labor_class"] ?? "", bucket: row["utilization_bucket"] ?? "")
        }
        categories = TextTable(map)
    }

    // MARK: records from a file

    /// A timesheet header: remembers its latest status (approval backlog).
    func header(_ r: DroplineCore.Record, exportID: String, businessDate: BusinessDate) throws {
        guard audit else { return }
        try write(.timesheetStatus) {
            $0.text(r["timesheet_id"].text)
            $0.text(r["status"].text)
            $0.text(r["submitted_at"].text)
            $0.date(businessDate)
            $0.text(exportID)
        }
    }

    /// What `entry` reads of an entry record, by field name: taken with `draft(of:places:)` on
    /// the parsing thread (`XMLRecordExtractor.runConcurrently`), off the thread that decides;
    /// in a dry run, which the parsing thread bounds, on the deciding thread.
    struct Draft: Sendable {
        var id: String
        var timesheetID: String?
        var approved: Bool
        /// Nil when one of them is missing.
        var content: EntryContent?
        var weekStart: BusinessDate?
        var ordinal: Int
    }

    /// Where `draft` found each field in the entry before (`FieldMap.index(of:place:)`): one
    /// per thread that makes drafts.
    struct DraftPlaces {
        var worker = -1, date = -1, project = -1, hours = -1, category = -1, id = -1, timesheet = -1, status = -1, weekStart = -1
    }

    static func draft(of r: DroplineCore.Record, places p: inout DraftPlaces) -> Draft {
        let f = r.fields
        var content: EntryContent?
        if let pernr = f.text("worker", place: &p.worker), let date = f.date("date", place: &p.date), let project = f.text("project", place: &p.project),
            let hours = f.decimal("hours", place: &p.hours), let category = f.text("category", place: &p.category) {
            content = EntryContent(pernr: pernr, date: date, project: project, hours: hours, category: category)
        }
        return Draft(id: f.text("entry_id", place: &p.id) ?? "", timesheetID: f.text("timesheet_id", place: &p.timesheet), approved: f.text("status", place: &p.status) == "approved",
                     content: content, weekStart: f.date("week_start", place: &p.weekStart), ordinal: r.ordinal)
    }

    /// An entry from a loaded export (§4.2 steps 2-5).
    func entry(_ d: Draft, exportID: String, businessDate: BusinessDate, fileName: String) throws -> Outcome {
        if try isHeld(d.id) {
            try deleteHold(d.id)
            try evaluation(d.id, d.timesheetID, exportID, "dropped", .superseded, [.superseded], nil)
            superseded += 1
        }
        guard d.approved else {
            try evaluation(d.id, d.timesheetID, exportID, "skipped", .notApproved, [.notApproved], nil)
            return .skipped(.notApproved)
        }
        guard let content = d.content, let weekStart = d.weekStart else {
            return .rejected([RecordIssue(code: .invalidField, field: nil, expected: "worker, date, project, hours and category", actual: nil, hint: "the entry misses a required attribute")])
        }
        let entry = TimeEntry(entryID: d.id, timesheetID: d.timesheetID ?? "", weekStart: weekStart, content: content, exportID: exportID, businessDate: businessDate)
        return try decide(entry, fileName: fileName, position: d.ordinal)
    }

    /// An entry rejected before the rules ran (schema, cast or its timesheet header): recorded
    /// like every evaluation, so that reconciliation and audits see it.
    func rejectedBeforeEvaluation(_ r: DroplineCore.Record, exportID: String, issues: [RecordIssue]) throws {
        guard audit else { return }
        let codes = issues.map(\.code)
        try write(.evaluation, takeEvaluationID(), r["entry_id"].text ?? "", r["timesheet_id"].text, try origin(exportID), "rejected", codes.first?.rawValue, codes.map(\.rawValue).joined(separator: ","),
                  r["worker"].text, r["date"].date?.iso, r["hours"].decimal.map(DecimalText.canonical))
        try latest(r["entry_id"].text ?? "", "rejected", codes.first, r["worker"].text, r["date"].date, r["hours"].decimal.map(DecimalText.hundredths))
    }

    /// `heldAs`: the entry comes from the hold store, held for that reason. It leaves the store
    /// when it posts, is skipped or rejected; held again for the same reason its row stays as is.
    func decide(_ entry: TimeEntry, fileName: String, position: Int, heldAs: ReasonCode? = nil) throws -> Outcome {
        let decision = try rules.evaluate(entry, runDate: runDate, lookup: self)
        // Consumed: the case's bindings take its parts over. Switched on as it was, they were
        // copies, and the decision was destroyed apart (two destroys an entry, one now).
        switch consume decision {
        case .posted(let posting, let reversal):
            if heldAs != nil { try deleteHold(entry.entryID) }
            // The evaluation is kept on the new posting, which has the entry's content.
            let id = audit ? takeEvaluationID() : nil
            if let reversal { try insert(reversal, entry) }
            try insert(posting, entry, evaluation: id)
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "posted", nil, [], entry, keptAs: id)
            return .posted(reversal == nil ? 1 : 2)
        case .held(let reason) where reason == heldAs:
            // Its hold row and latest outcome already say so: only the evaluation is new.
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "held", reason, [reason], entry, latest: false)
            return .held(reason)
        case .held(let reason):
            try write(.holdInsert, key: entry.entryID) {
                $0.text(entry.entryID)
                $0.text(reason.rawValue)
                $0.date(entry.businessDate)
                $0.text(entry.timesheetID)
                $0.date(entry.weekStart)
                $0.text(entry.exportID)
                $0.text(entry.content.pernr)
                $0.date(entry.content.date)
                $0.text(entry.content.project)
                $0.text(entry.content.canonicalHours)
                $0.text(entry.content.category)
                $0.text(fileName)
                $0.integer(Int64(position))
                $0.text(runID)
            }
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "held", reason, [reason], entry)
            return .held(reason)
        case .rejected(let codes):
            try deleteHold(entry.entryID)
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "rejected", codes[0], codes, entry)
            return .rejected(codes.map { issue($0, entry) })
        case .skipped(let reason):
            if heldAs != nil { try deleteHold(entry.entryID) }
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "skipped", reason, [reason], entry)
            return .skipped(reason)
        }
    }

    // MARK: holds

    struct HeldEntry {
        var entry: TimeEntry
        var reason: ReasonCode
        var fileName: String
        var position: Int
        /// The run that held the entry first (its hold row was written anew, not kept, since).
        var heldSinceRun: String
    }

    /// Every held entry oldest first (business date, file, position), read in pages of `page`
    /// by key, so memory stays flat and `body` may change the holds table as it goes (a held
    /// entry keeps its key when it is held again).
    func forEachHeld(page: Int = 512, _ body: (HeldEntry) throws -> Void) throws {
        // The first page starts after a key below every real one (dates and names are never
        // empty, positions are not negative).
        let s = try RawStatement(db, """
            SELECT entry_id, reason, business_date, timesheet_id, week_start, export_id, pernr, entry_date, project, hours, category, file_name, position, held_since_run
            FROM holds WHERE (business_date, file_name, position, entry_id) > (?, ?, ?, ?)
            ORDER BY business_date, file_name, position, entry_id LIMIT ?
            """)
        var after: (business: String, file: String, position: Int64, id: String) = ("", "", -1, "")
        while true {
            // The page reads the holds table, which the entries before it changed.
            try drainWrites()
            s.bind(after.business, after.file, after.position, after.id, Int64(page))
            var batch: [HeldEntry] = []
            var rows = 0
            try writes.withConnection {
                defer { s.reset() }
                while try s.step() {
                    rows += 1
                    let id = s.text(0) ?? "", business = s.text(2) ?? "", file = s.text(11) ?? "", position = s.int64(12) ?? 0
                    after = (business, file, position, id)
                    guard let b = BusinessDate(iso: business), let w = s.text(4).flatMap({ BusinessDate(iso: $0) }),
                        let d = s.text(7).flatMap({ BusinessDate(iso: $0) }), let h = s.text(9).flatMap({ DecimalText.parse($0) })
                    else { continue }
                    let content = EntryContent(pernr: s.text(6) ?? "", date: d, project: s.text(8) ?? "", hours: h, category: s.text(10) ?? "")
                    batch.append(HeldEntry(entry: TimeEntry(entryID: id, timesheetID: s.text(3) ?? "", weekStart: w, content: content, exportID: s.text(5) ?? "", businessDate: b),
                                           reason: ReasonCode(rawValue: s.text(1) ?? "") ?? .unknownWorker, fileName: file, position: Int(position), heldSinceRun: s.text(13) ?? ""))
                }
            }
            for held in batch { try body(held) }
            if rows < page { return }
        }
    }

    // MARK: writes

    /// `evaluation`: the id of the decision's evaluation, kept on this posting (`evaluation`).
    func insert(_ p: Posting, _ entry: TimeEntry, evaluation: Int64? = nil) throws {
        lastPostings = nil
        let c = p.reversesNumber == nil ? entry.content : nil
        // A posting's hours are its entry's (a reversal's, the reversed posting's negated).
        let exact = c.map(\.exactHundredths) ?? DecimalText.exactHundredths(p.hours)
        let cents = exact ?? DecimalText.hundredths(p.hours)
        let n = Int64(p.number), reverses = p.reversesNumber.map(Int64.init)
        if !keeps(p.ref) { return try added(p, cents: cents, reverses: reverses) }
        let origin = try origin(entry.exportID)
        try write(.postingInsert, key: p.ref) {
            $0.text(p.ref)
            $0.integer(n)
            $0.integer(reverses)
            $0.text(p.pernr)
            $0.text(p.erpProject)
            $0.text(p.laborClass)
            $0.date(p.postingDate)
            $0.text(p.period)
            if let exact { $0.decimal(hundredths: exact) } else { $0.decimal(p.hours, scale: 2) }
            $0.integer(cents)
            $0.decimal(p.costAmount, scale: 2)
            $0.decimal(p.billAmount, scale: 2)
            $0.text(p.currency)
            $0.text(p.bucket)
            // The content's worker, date and category only where they differ from the posting's
            // (`Warehouse.postingContent` gives them back).
            $0.text(c.flatMap { $0.pernr == p.pernr ? nil : $0.pernr })
            $0.date(c.flatMap { $0.date == p.postingDate ? nil : $0.date })
            $0.text(c?.project)
            $0.text(c?.canonicalHours)
            $0.text(c.flatMap { $0.category == p.bucket ? nil : $0.category })
            $0.integer(origin)
            $0.integer(evaluation)
            $0.text(entry.timesheetID)
        }
        try added(p, cents: cents, reverses: reverses)
    }

    /// What follows from a posting beside its row: the worker's posted hours by day and week,
    /// the week due for utilization, the reversed posting marked.
    func added(_ p: Posting, cents: Int64, reverses: Int64?) throws {
        // A worker's week is read once (`postedHundredths`), so it is in memory at most once:
        // as the current week (the usual case) or as one of the earlier ones (or not at all, as
        // for a reversal into a week never read). Comparing the worker with each earlier week
        // for every posting cost about 10 M instructions per 10 MB.
        if postedWeek?.pernr == p.pernr, let i = postedWeek?.index(of: p.postingDate) {
            postedWeek?.cents[i] += cents
        } else {
            for w in earlierWeeks.indices where earlierWeeks[w].pernr == p.pernr {
                if let i = earlierWeeks[w].index(of: p.postingDate) { earlierWeeks[w].cents[i] += cents }
            }
        }
        let monday = ISOWeek(containing: p.postingDate).monday.dayNumber
        // Gathered in a dry run too: check 12 reads the daily sums back.
        if !gathered.isCurrent(pernr: p.pernr, monday: monday) {
            if gathered.rows.count >= 256 || gatheredWeeks.count >= 256 { try flushWeekBuckets() }
            gatheredWeeks.append(Self.weekFingerprint(p.pernr, monday))
            gathered.start(pernr: p.pernr, monday: monday)
            dueWeeks.insert(monday)
        }
        gathered.add(cents, bucket: p.bucket, day: p.postingDate.dayNumber - monday)
        if let reverses {
            try write(.postingReversed, key: p.ref, Int64(p.number), p.ref, reverses)
        }
    }

    /// Posted hundredths per ISO week, worker and bucket, Monday to Sunday (`posted_week`: its
    /// total is what utilization reads, its days what check 12 reads), gathered in memory and
    /// added in batches (`flushWeekBuckets`) of at most 256 rows, in the order their postings
    /// came. A timesheet's postings share worker and week: they add to the last rows, one a
    /// bucket. A worker week gathered twice before a batch is written (two timesheets of it, an
    /// entry dated outside its timesheet's week) is two rows, which `posted_week` adds up. Kept
    /// in a dictionary instead, every posting hashed its worker and bucket as strings and a new
    /// bucket's days went through the standard library's unspecialized array path, and the batch
    /// went out in hash order (`added` took about 2,200 instructions a posting, now about 1,000).
    struct GatheredWeeks {
        var rows: [(monday: Int, pernr: String, bucket: String)] = []
        /// Seven a row, Monday first.
        var days: [Int64] = []
        /// The worker week the last postings added to, and its first row; `monday` is `Int.min`
        /// when nothing is gathered.
        var pernr = "", monday = Int.min, first = 0

        func isCurrent(pernr: String, monday: Int) -> Bool { self.monday == monday && self.pernr == pernr }

        mutating func start(pernr: String, monday: Int) {
            self.pernr = pernr
            self.monday = monday
            first = rows.count
        }

        mutating func add(_ cents: Int64, bucket: String, day: Int) {
            var r = rows.count - 1
            while r >= first && rows[r].bucket != bucket { r -= 1 }
            if r < first {
                r = rows.count
                rows.append((monday, pernr, bucket))
                days.append(contentsOf: repeatElement(0, count: 7))
            }
            days[r * 7 + day] += cents
        }

        mutating func removeAll() {
            rows.removeAll(keepingCapacity: true)
            days.removeAll(keepingCapacity: true)
            start(pernr: "", monday: .min)
        }
    }
    var gathered = GatheredWeeks()
    /// The worker weeks of `gathered` (`weekFingerprint`), one for postings of one worker week
    /// one after another: about one a timesheet, at most 256 (then the rows are written).
    /// Whether a week asked about may still be in memory is a scan of numbers; two weeks with
    /// one fingerprint only write the rows sooner.
    var gatheredWeeks: [UInt64] = []

    /// A worker week as a number (`weekKey` as a string would be made for every posting).
    static func weekFingerprint(_ pernr: String, _ monday: Int) -> UInt64 {
        KeyFilter.fingerprint(pernr) ^ UInt64(bitPattern: Int64(monday)) &* 0x9E37_79B9_7F4A_7C15
    }
    static let dayColumns = (1...7).map { "day\($0)_cents" }

    func flushWeekBuckets() throws {
        var key = (pernr: "", monday: Int.min, text: "")
        for (r, row) in gathered.rows.enumerated() {
            if key.monday != row.monday || key.pernr != row.pernr { key = (row.pernr, row.monday, Self.weekKey(row.pernr, row.monday)) }
            let days = gathered.days[(r * 7)..<(r * 7 + 7)]
            try write(.postedWeekAdd, key: key.text) {
                $0.date(BusinessDate(dayNumber: row.monday))
                $0.text(row.pernr)
                $0.text(row.bucket)
                $0.integer(days.reduce(0, +))
                for day in days { $0.integer(day) }
            }
        }
        gathered.removeAll()
        gatheredWeeks.removeAll(keepingCapacity: true)
    }

    /// Writes what is still gathered in memory and waits for every queued write; call before the
    /// transaction commits.
    func finish() throws {
        try flushWeekBuckets()
        for monday in dueWeeks.sorted() { try write(.weekDue, BusinessDate(dayNumber: monday).iso) }
        dueWeeks.removeAll()
        try writes.finish()
        workers?.close()
        reader?.endSnapshot()
    }

    /// Stops the writer without waiting for its queue (the transaction is abandoned) and ends
    /// the second connection's snapshot; idempotent.
    func close() {
        writes.close()
        workers?.close()
        reader?.endSnapshot()
    }

    /// Queues a row, its values written in parameter order with their concrete types; `key`
    /// names what lookups it changes (an entry id, or `weekKey`).
    func write(_ statement: Write, key: String? = nil, _ values: (inout WriteBehind.RowValues) -> Void) throws {
        // A hold row's key is its entry id as another kind (`holdKind`); a worker week's is a
        // kind of its own (`weekKind`).
        let hold = statement == .holdInsert || statement == .holdDelete
        let kind = hold ? Self.holdKind : statement == .postedWeekAdd ? Self.weekKind : 0
        if let key, !writes.synchronous || nothingPostedBefore || statement == .holdInsert { written.insert(key, kind: kind) }
        try writes.row(statement.rawValue, key: hold ? key.map(Self.holdQueueKey) : key, values)
    }

    /// `write` with the values as arguments, for the rare rows (a generic call per value).
    func write<each V: RawBindable>(_ statement: Write, key: String? = nil, _ values: repeat each V) throws {
        try write(statement, key: key) { row in
            for value in repeat each values { value.write(into: &row) }
        }
    }

    /// The key of a worker's ISO week (Monday's day number) in `written`.
    /// `"\u{1}<monday>\u{1}<pernr>"`, written byte by byte: as an interpolation it went through
    /// `description` and two appends, twice for every worker week of a night.
    static func weekKey(_ pernr: String, _ monday: Int) -> String {
        guard monday >= 0 else { return "\u{1}\(monday)\u{1}" + pernr }
        var digits = 1, v = monday
        while v >= 10 {
            v /= 10
            digits += 1
        }
        var pernr = pernr
        return pernr.withUTF8 { p in
            String(unsafeUninitializedCapacity: digits + 2 + p.count) { b in
                b[0] = 1
                var v = monday
                for i in stride(from: digits, through: 1, by: -1) {
                    b[i] = UInt8(48 + v % 10)
                    v /= 10
                }
                b[digits + 1] = 1
                _ = UnsafeMutableBufferPointer(rebasing: b[(digits + 2)...]).initialize(from: p)
                return digits + 2 + p.count
            }
        }
    }

    /// Waits until every queued write ran: the tables are current again.
    func drainWrites() throws { try writes.drain() }

    /// Runs a lookup of `key` (nil: of something this transaction never writes) on the second
    /// connection, unless the transaction may have written the key (or there is no second
    /// connection): then on the writer's connection, after the queued writes for the key.
    /// `kind`: the key's kind in `written` (a hold row's entry id is `holdKind`, a worker
    /// week's `weekKey` is `weekKind`).
    func read<T>(_ key: String?, kind: UInt64 = 0, _ body: (ReadStatements) throws -> T) throws -> T {
        // The writes are synchronous: the caller has the connection.
        if writes.synchronous { return try body(mainReads) }
        let mayBeWritten = key.map { written.mayContain($0, kind: kind) } ?? false
        if !mayBeWritten, let readerReads { return try body(readerReads) }
        if mayBeWritten, let key, writes.isInFlight(kind == Self.holdKind ? Self.holdQueueKey(key) : key) {
            Failpoint.lookupWaitsForWrites.hit()
            try writes.drain()
        }
        return try writes.withConnection { try body(mainReads) }
    }

    /// An entry's hold row is keyed apart from its postings (both by the entry id): dropping a
    /// superseded hold then leaves the entry's postings lookup on the second connection. Keyed
    /// alike, that lookup waited for the whole write queue, for every held entry an export
    /// carried again.
    static let holdKind: UInt64 = 1
    /// The hold row's key in the write queue (`WriteBehind.isInFlight`).
    static func holdQueueKey(_ entryID: String) -> String { "\u{2}" + entryID }

    /// True when nothing can have been posted for `key` (an entry id or `weekKey`): nothing was
    /// posted before the transaction, and this stage did not write the key.
    /// `newer`: the key sorts after every key of its kind the warehouse had as the transaction
    /// began (`lastEntryPostedBefore`, `lastWeekPostedBefore`), so it had nothing for it either;
    /// then only this stage can have written it, which `written` tells when it keeps every key.
    func certainlyUnposted(_ key: String, newer: Bool = false, kind: UInt64 = 0) -> Bool {
        (nothingPostedBefore || (newer && !writes.synchronous)) && !written.mayContain(key, kind: kind)
    }

    /// The greatest entry id with a posting, and the latest week with posted hours, as the
    /// transaction began: exports number their entries and weeks onwards, so most entries of a
    /// night are past both and need no lookup (two index seeks, here, once).
    let lastEntryPostedBefore: [UInt8]?
    let lastWeekPostedBefore: Int

    /// Whether `entryID` sorts after every entry id posted before, as SQLite orders text (bytes).
    func isNewer(_ entryID: String) -> Bool { Self.sorts(entryID, after: lastEntryPostedBefore) }

    /// Whether `key` sorts after `last` as SQLite orders text (by bytes); true when there is no `last`.
    static func sorts(_ key: String, after last: [UInt8]?) -> Bool {
        guard let last else { return true }
        return last.lexicographicallyPrecedes(key.utf8)
    }

    /// Whether a hold row of the entry may exist (false: certainly none). A hold this stage wrote
    /// is in `written` as `holdKind` of the entry id: in the same word as the entry's postings
    /// key, which its postings lookup then reads (one cache miss for both).
    func mayBeHeld(_ entryID: String) -> Bool {
        if let heldBefore { return heldBefore.mayContain(entryID) || written.mayContain(entryID, kind: Self.holdKind) }
        return holdsBefore || written.mayContain(entryID, kind: Self.holdKind)
    }

    func isHeld(_ entryID: String) throws -> Bool {
        guard mayBeHeld(entryID) else { return false }
        return try read(entryID, kind: Self.holdKind) { reads in
            let s = reads.holdExists
            s.bind(entryID)
            defer { s.reset() }
            return try s.step()
        }
    }

    func deleteHold(_ entryID: String) throws {
        guard mayBeHeld(entryID) else { return }
        try write(.holdDelete, key: entryID, entryID)
    }


    /// The id of the next evaluation: evaluation rows and the evaluations kept on postings are
    /// counted together, so that `time_entry_evaluation` orders them all by id.
    var nextEvaluation: Int64

    func takeEvaluationID() -> Int64 {
        defer { nextEvaluation += 1 }
        return nextEvaluation
    }

    /// `keptAs`: the evaluation's id, already kept on the posting it wrote (no row of its own).
    func evaluation(_ id: String, _ timesheet: String?, _ exportID: String, _ outcome: String, _ primary: ReasonCode?, _ reasons: [ReasonCode], _ entry: TimeEntry?, latest updateLatest: Bool = true, keptAs: Int64? = nil) throws {
        guard audit else { return }
        if keptAs == nil {
            let origin = try origin(exportID)
            let evaluationID = takeEvaluationID()
            try write(.evaluation) {
                $0.integer(evaluationID)
                $0.text(id)
                $0.text(timesheet)
                $0.integer(origin)
                $0.text(outcome)
                $0.text(primary?.rawValue)
                $0.text(reasons.count == 1 ? reasons[0].rawValue : reasons.map(\.rawValue).joined(separator: ","))
                $0.text(entry?.content.pernr)
                $0.date(entry?.content.date)
                $0.text(entry?.content.canonicalHours)
            }
        }
        if updateLatest { try latest(id, outcome, primary, entry?.content.pernr, entry?.content.date, entry?.content.hundredths) }
    }

    /// The entry's latest evaluation that says something about approved time (not a superseded
    /// hold, not an unapproved timesheet), for reconciliation. An entry whose latest decision
    /// posted has no row: the view `time_entry_latest` gives its current posting instead (warehouse
    /// v11); a row an earlier decision left is deleted. Any other outcome is a row whose
    /// `posted_cents` is the entry's net posted hundredths (reversals negative).
    func latest(_ id: String, _ outcome: String, _ primary: ReasonCode?, _ pernr: String?, _ date: BusinessDate?, _ hundredths: Int64?) throws {
        guard outcome != "dropped", !(outcome == "skipped" && primary == .notApproved) else { return }
        if outcome == "posted" {
            if !Self.sorts(id, after: lastLatestRowBefore) || written.mayContain(id, kind: Self.latestKind) { try write(.latestDelete, id) }
            return
        }
        written.insert(id, kind: Self.latestKind)
        try write(.latest) {
            $0.text(id)
            $0.text(outcome)
            $0.text(primary?.rawValue)
            $0.text(pernr)
            $0.date(date)
            $0.integer(hundredths)
        }
    }

    /// The greatest entry id of `time_entry_latest_row` as the transaction began (nil: none): an
    /// entry sorting after it has a row only if this stage wrote one (`written`, as `latestKind`
    /// of the entry id).
    let lastLatestRowBefore: [UInt8]?
    static let latestKind: UInt64 = 2
    /// A worker week's key (`weekKey`) in `written`: a kind apart from the entries', so that
    /// `written` keeps the greatest of each (an export listing a week's timesheets worker by
    /// worker asks for each worker week after every one it wrote).
    static let weekKind: UInt64 = 3

    func issue(_ code: ReasonCode, _ e: TimeEntry) -> RecordIssue {
        let c = e.content
        let (field, actual): (String, String) = switch code {
        case .invalidHours, .dayOver24: ("hours", c.canonicalHours)
        case .dateOutsideWeek: ("date", "\(c.date.iso) (week of \(e.weekStart.iso))")
        case .periodUnknown, .periodClosed, .periodClosing: ("date", c.date.iso)
        case .unknownWorker, .workerInactive, .noRate: ("worker", "\(c.pernr) on \(c.date.iso)")
        case .unknownProject, .projectNotOpen, .noErpProjectNumber: ("project", c.project)
        case .unmappedCategory, .billableOnNonbillable: ("category", c.category)
        default: ("", "")
        }
        let expected: String = switch code {
        case .invalidHours: "more than 0, at most 24, at most 2 decimals"
        case .dateOutsideWeek: "a date from \(e.weekStart.iso) to \(e.weekStart.adding(days: 6).iso)"
        case .unknownWorker: "a worker in the worker master"
        case .workerInactive: "a worker range valid on the date"
        case .unknownProject: "a project in the project master"
        case .projectNotOpen: "an active project open on the date"
        case .unmappedCategory: "a category of the governed mapping"
        case .billableOnNonbillable: "a non-billable category on a non-billable or non-client project"
        case .noRate: "a rate for the worker's role and region on the date"
        case .periodUnknown: "a fiscal period covering the date"
        case .periodClosed, .periodClosing: "an open fiscal period"
        case .dayOver24: "at most 24 posted hours for the worker on the date"
        case .noErpProjectNumber: "a project with an ERP number"
        default: code.meaning
        }
        return RecordIssue(code: code, field: field.isEmpty ? nil : field, expected: expected, actual: actual.isEmpty ? nil : actual, hint: code.remedy)
    }

    // MARK: TimeEntryLookup

    // Reference data the time pipeline does not change while a file loads: projects, rates and
    // periods are read once per transaction, as the stage begins (they are small next to the
    // timesheets; a failed read fails the unit instead of deciding every entry without them);
    // postings are read per entry through an index, worker ranges per timesheet (through
    // `WorkerCursor` while deciding a file), the last worker's ranges reused (a timesheet's
    // entries share their worker).
    let projects: TextTable<ProjectInfo>
    /// A value that holds from one date to another, both included: a rate, a period. A struct,
    /// not a tuple: a tuple found by `first(where:)` was copied out through the runtime's
    /// generic witnesses.
    struct Dated<Value> {
        var from: BusinessDate
        var to: BusinessDate
        var value: Value

        func covers(_ d: BusinessDate) -> Bool { from <= d && d <= to }
    }
    typealias RateRange = Dated<RateInfo>
    typealias PeriodRange = Dated<PeriodInfo>
    /// By role and region, then by project (empty: the rates for any project), in the table's
    /// order: an entry's project rate is found without passing over every other project's.
    let rates: TextTable<RoleRates>

    /// The rates of one role and region: by project, and those for any project apart, so that
    /// an entry's rate takes no lookup of its project when the role has no project rates, and
    /// no second lookup (of "") when its project has none. A class: every entry reads the last
    /// role's rates (`lastRates`), and as a struct each read copied its table and array (about
    /// 35 M instructions per 10 MB on the deciding thread).
    final class RoleRates {
        let byProject: TextTable<[RateRange]>
        let general: [RateRange]
        let hasProjectRates: Bool

        init(_ byProject: [String: [RateRange]]) {
            self.byProject = TextTable(byProject)
            general = byProject[""] ?? []
            hasProjectRates = byProject.keys.contains { !$0.isEmpty }
        }
    }
    let periods: [PeriodRange]
    var lastWorker: (pernr: String, ranges: [WorkerRange])?
    var lastPostings: (entryID: String, rows: [StoredPosting])?

    func workerRanges(pernr: String) throws -> [WorkerRange] {
        if let last = lastWorker, last.pernr == pernr { return last.ranges }
        if let workers {
            let ranges = try reader != nil ? workers.ranges(of: pernr) : workers.ranges(of: pernr) { step in try writes.withConnection(step) }
            lastWorker = (pernr, ranges)
            return ranges
        }
        // No workers table: no statement, no ranges.
        let ranges: [WorkerRange] = try read(nil) { reads in
            guard let s = reads.workerRanges else { return [] }
            s.bind(pernr)
            defer { s.reset() }
            var ranges: [WorkerRange] = []
            while try s.step() {
                if let r = Self.workerRange(s, from: 0) { ranges.append(r) }
            }
            return ranges
        }
        lastWorker = (pernr, ranges)
        return ranges
    }

    /// Worker ranges while deciding a file: on the second connection (whose snapshot holds for
    /// the whole file), else on the writer's (a dry run). The time pipeline never writes workers.
    let workers: WorkerCursor?

    /// Worker ranges read in worker order through one statement left open: an export lists a
    /// week's timesheets by worker, so the next worker asked for is usually a row or two on (a
    /// step), not a new search from the root of the index (about 3 µs, which made the lookup a
    /// quarter of the rules' time). An earlier worker, or one more than `maxSteps` rows on, is
    /// searched for anew. Rows come in SQLite's order of the pernr text (its bytes), which is
    /// how workers are compared here.
    ///
    /// Each read also takes the ranges of the next `readAhead` workers: the statement is stepped
    /// in runs, not once per timesheet. In a dry run it stands on the writer's connection, whose
    /// lock the writer takes for every row: asked for one worker at a time, a fifth of the
    /// deciding thread's time went to waiting for that lock and being woken.
    final class WorkerCursor {
        static let sql = "SELECT pernr, valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers WHERE pernr >= ? ORDER BY pernr, valid_from"
        static let maxSteps = 16
        static let readAhead = 32
        let statement: RawStatement
        /// The pernr of the row the statement stands on; nil past the last row or when not open.
        var current: [UInt8]?
        var open = false
        var lastAsked: [UInt8]?
        /// Workers read ahead, in order, from `next` on: every row of the index after the last
        /// worker asked for and before the row the statement stands on.
        var ahead: [(pernr: [UInt8], ranges: [WorkerRange])] = []
        var next = 0

        init(_ statement: RawStatement) { self.statement = statement }

        /// Takes `run`, which may step the statement (the caller holds its connection).
        func ranges(of pernr: String, run: (() throws -> Void) throws -> Void = { try $0() }) throws -> [WorkerRange] {
            let key = Array(pernr.utf8)
            let onwards = open && lastAsked.map { $0.lexicographicallyPrecedes(key) } == true
            if onwards {
                while next < ahead.count, ahead[next].pernr.lexicographicallyPrecedes(key) { next += 1 }
                if next < ahead.count {
                    lastAsked = key
                    // Read ahead already: the worker's rows, or none (it sorts between two read).
                    guard ahead[next].pernr == key else { return [] }
                    next += 1
                    return ahead[next - 1].ranges
                }
            }
            var found: [WorkerRange] = []
            try run {
                if onwards {
                    var steps = 0
                    while let c = self.current, c.lexicographicallyPrecedes(key) {
                        guard steps < Self.maxSteps else {
                            try self.seek(pernr)
                            break
                        }
                        try self.advance()
                        steps += 1
                    }
                } else {
                    try self.seek(pernr)
                }
                self.lastAsked = key
                found = try self.rangesOfCurrent(key)
                self.ahead.removeAll(keepingCapacity: true)
                self.next = 0
                while self.ahead.count < Self.readAhead, let c = self.current {
                    self.ahead.append((c, try self.rangesOfCurrent(c)))
                }
            }
            return found
        }

        /// The ranges of the rows of `pernr` from the current one on (none unless it stands on
        /// one), the statement left on the first row after them.
        func rangesOfCurrent(_ pernr: [UInt8]) throws -> [WorkerRange] {
            var ranges: [WorkerRange] = []
            while let c = current, c == pernr {
                if let r = TimePostingStage.workerRange(statement, from: 1) { ranges.append(r) }
                try advance()
            }
            return ranges
        }

        func seek(_ pernr: String) throws {
            statement.reset()
            statement.bind(pernr)
            open = true
            try advance()
        }

        func advance() throws {
            do {
                current = try statement.step() ? statement.bytes(0).map(Array.init) ?? [] : nil
            } catch {
                close()
                throw error
            }
        }

        /// Resets the statement: the second connection's snapshot can then end.
        func close() {
            statement.reset()
            open = false
            current = nil
            lastAsked = nil
            ahead.removeAll()
            next = 0
        }
    }

    /// A worker range from the current row of `s`, whose columns from `first` on are valid_from,
    /// valid_to, region, practice, job_code, billable_role, std_hours_week; nil if a date or the
    /// hours do not parse.
    static func workerRange(_ s: RawStatement, from first: Int32) -> WorkerRange? {
        // Dates and hours from the column's bytes (no String to parse); hours beyond 18 digits,
        // which no schedule has, from the text.
        guard let f = s.bytes(first).flatMap(BusinessDate.init(isoBytes:)), let t = s.bytes(first + 1).flatMap(BusinessDate.init(isoBytes:)),
            let h = s.bytes(first + 6).flatMap({ DecimalText.parse(bytes: $0) }) ?? DecimalText.parse(s.text(first + 6) ?? "")
        else { return nil }
        return WorkerRange(from: f, to: t, region: s.text(first + 2) ?? "", practice: s.text(first + 3) ?? "", jobCode: s.text(first + 4) ?? "", billableRole: s.text(first + 5) ?? "", stdHoursWeek: h)
    }

    static func loadProjects(_ db: Database) throws -> [String: ProjectInfo] {
        guard try db.tableExists("projects") else { return [:] }
        var out: [String: ProjectInfo] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT code, status, start_date, end_date, engagement_type, billing_type, erp_project_number FROM projects") {
            guard let code: String = row[0], let start = BusinessDate(iso: row[2] as String? ?? "") else { continue }
            let erp: String? = row[6]
            out[code] = ProjectInfo(code: code, status: row[1], start: start, end: (row[3] as String?).flatMap { BusinessDate(iso: $0) }, engagementType: row[4], billingType: row[5], erpNumber: erp?.isEmpty == false ? erp : nil)
        }
        return out
    }

    static func loadRates(_ db: Database) throws -> [String: RoleRates] {
        guard try db.tableExists("rates") else { return [:] }
        var out: [String: [String: [RateRange]]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT role, region, project_key, valid_from, valid_to, bill_rate, cost_rate, currency FROM rates") {
            guard let from = BusinessDate(iso: row[3] as String), let to = BusinessDate(iso: row[4] as String),
                let bill = DecimalText.parse(row[5] as String), let cost = DecimalText.parse(row[6] as String)
            else { continue }
            out[(row[0] as String) + "\u{1}" + (row[1] as String), default: [:]][row[2] as String? ?? "", default: []].append(RateRange(from: from, to: to, value: RateInfo(bill: bill, cost: cost, currency: row[7])))
        }
        return out.mapValues(RoleRates.init)
    }

    static func loadPeriods(_ db: Database, company: String) throws -> [PeriodRange] {
        guard try db.tableExists("periods") else { return [] }
        return try Row.fetchAll(db, sql: "SELECT start_date, end_date, period_id, status FROM periods WHERE company = ? ORDER BY start_date", arguments: [company]).compactMap { row in
            guard let from = BusinessDate(iso: row[0] as String), let to = BusinessDate(iso: row[1] as String) else { return nil }
            return PeriodRange(from: from, to: to, value: PeriodInfo(id: row[2], status: row[3]))
        }
    }

    func project(code: String) throws -> ProjectInfo? { projects[code] }

    /// The rates of the last role and region asked for (a timesheet's entries share them).
    var lastRates: (role: String, region: String, rates: RoleRates)?

    func rate(role: String, region: String, project: String, on date: BusinessDate) throws -> RateInfo? {
        let roleRates: RoleRates
        if let last = lastRates, last.role == role, last.region == region {
            roleRates = last.rates
        } else {
            roleRates = rates[role + "\u{1}" + region] ?? RoleRates([:])
            lastRates = (role, region, roleRates)
        }
        return Self.rate(roleRates, project: project, on: date)
    }

    /// The first rate of `project` effective on `date`, else the first effective general one.
    static func rate(_ r: RoleRates, project: String, on date: BusinessDate) -> RateInfo? {
        if r.hasProjectRates, !project.isEmpty, let x = r.byProject[project]?.first(where: { $0.covers(date) }) { return x.value }
        return r.general.first { $0.covers(date) }?.value
    }

    func period(on date: BusinessDate) throws -> PeriodInfo? {
        periods.first { $0.covers(date) }?.value
    }

    func category(_ name: String) -> CategoryInfo? {
        // Most entries of a night have one of a few categories, often the last one's.
        if let last = lastCategory, last.name == name { return last.info }
        let info = categories[name]
        lastCategory = (name, info)
        return info
    }
    var lastCategory: (name: String, info: CategoryInfo?)?

    /// Posted cents per day of one worker's ISO week, read once per worker and week (a
    /// timesheet's entries share both) and kept current by `insert`. The last few are kept: an
    /// entry dated outside its timesheet's week reads another week, and the entries after it
    /// come back to the first (which may still be in the write queue).
    struct PostedWeek {
        var pernr: String
        var monday: BusinessDate
        var cents: [Int64]

        func index(of date: BusinessDate) -> Int? {
            let i = date.dayNumber - monday.dayNumber
            return (0..<7).contains(i) ? i : nil
        }
    }
    var postedWeek: PostedWeek?
    /// The weeks read before `postedWeek`, newest last.
    var earlierWeeks: [PostedWeek] = []
    static let earlierWeeksKept = 7

    func postedHundredths(pernr: String, on date: BusinessDate) throws -> Int64 {
        if let week = postedWeek, week.pernr == pernr, let i = week.index(of: date) { return week.cents[i] }
        if let w = earlierWeeks.lastIndex(where: { $0.pernr == pernr && $0.index(of: date) != nil }) {
            let week = earlierWeeks.remove(at: w)
            if let current = postedWeek { earlierWeeks.append(current) }
            postedWeek = week
            return week.cents[week.index(of: date)!]
        }
        let monday = ISOWeek(containing: date).monday
        // What is still gathered in memory of this week goes to the table first, so that the
        // sums are whole; not for every week asked about (one a timesheet), which sent the sums
        // to the writer a timesheet at a time, two or three rows a statement, not in groups of
        // eight.
        if !gatheredWeeks.isEmpty, gatheredWeeks.contains(Self.weekFingerprint(pernr, monday.dayNumber)) { try flushWeekBuckets() }
        var week = PostedWeek(pernr: pernr, monday: monday, cents: Array(repeating: 0, count: 7))
        let key = Self.weekKey(pernr, monday.dayNumber)
        if !certainlyUnposted(key, newer: monday.dayNumber > lastWeekPostedBefore, kind: Self.weekKind) {
            try read(key, kind: Self.weekKind) { reads in
                let s = reads.postedWeek
                s.bind(monday.iso, pernr)
                defer { s.reset() }
                if try s.step() {
                    for i in 0..<7 { week.cents[i] = s.int64(Int32(i)) ?? 0 }
                }
            }
        }
        if let current = postedWeek {
            if earlierWeeks.count == Self.earlierWeeksKept { earlierWeeks.removeFirst() }
            earlierWeeks.append(current)
        }
        postedWeek = week
        return week.cents[week.index(of: date)!]
    }

    /// One stored posting, columns as `postingsOfEntry` selects them.
    struct StoredPosting {
        var columns: [String?]
        var seq: Int64
        subscript(_ i: Int) -> String? { columns[i] }
    }

    /// Every posting of an entry id, oldest first (one query serves both lookups below).
    func postings(of entryID: String) throws -> [StoredPosting] {
        if let last = lastPostings, last.entryID == entryID { return last.rows }
        if certainlyUnposted(entryID, newer: isNewer(entryID)) { return [] }
        let rows: [StoredPosting] = try read(entryID) { reads in
            let s = reads.postingsOfEntry
            s.bind(entryID)
            defer { s.reset() }
            var rows: [StoredPosting] = []
            while try s.step() {
                rows.append(StoredPosting(columns: (0..<19).map { s.text(Int32($0)) }, seq: s.int64(19) ?? 0))
            }
            // Oldest first, sorted here: an ORDER BY seq made SQLite open and close a sorter for
            // every lookup (the index is by entry and posting id), nearly always for no row.
            if rows.count > 1 { rows.sort { $0.seq < $1.seq } }
            return rows
        }
        lastPostings = (entryID, rows)
        return rows
    }

    func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)? {
        guard let row = try postings(of: entryID).last(where: { $0[2] == nil && $0[3] == nil }) else { return nil }
        guard let date = row[7].flatMap({ BusinessDate(iso: $0) }), let cdate = row[15].flatMap({ BusinessDate(iso: $0) }),
            let hours = row[9].flatMap({ DecimalText.parse($0) }), let cost = row[10].flatMap({ DecimalText.parse($0) }),
            let bill = row[11].flatMap({ DecimalText.parse($0) }), let chours = row[17].flatMap({ DecimalText.parse($0) })
        else { return nil }
        let p = Posting(ref: entryID, number: Int(try Self.number(row[0] ?? "", of: entryID)), reverses: nil, pernr: row[4] ?? "", erpProject: row[5] ?? "", laborClass: row[6] ?? "", postingDate: date, period: row[8] ?? "", hours: hours, costAmount: cost, billAmount: bill, currency: row[12] ?? "", bucket: row[13] ?? "")
        return (p, EntryContent(pernr: row[14] ?? "", date: cdate, project: row[16] ?? "", hours: chours, category: row[18] ?? ""))
    }

    func postingCount(entryID: String) throws -> Int { try postings(of: entryID).count }

    // MARK: where rows came from

    /// The `run_export` id of this run and `exportID`, which postings and evaluations refer to.
    /// A run meets a few exports, so the ids are kept; a new pair is added on the writer's
    /// connection after the queued writes (the table is small, its reads need no second connection).
    func origin(_ exportID: String) throws -> Int64 {
        // A file's rows all come from its one export: compared, not hashed, for every row.
        if let last = lastOrigin, last.exportID == exportID { return last.id }
        if let id = origins[exportID] {
            lastOrigin = (exportID, id)
            return id
        }
        try drainWrites()
        let id = try writes.withConnection { () throws -> Int64? in
            try db.execute(sql: "INSERT OR IGNORE INTO run_export (run_id, export_id) VALUES (?, ?)", arguments: [runID, exportID])
            return try Int64.fetchOne(db, sql: "SELECT id FROM run_export WHERE run_id = ? AND export_id = ?", arguments: [runID, exportID])
        }
        guard let id else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "run_export has no row for a pair just added") }
        origins[exportID] = id
        lastOrigin = (exportID, id)
        return id
    }
    var origins: [String: Int64] = [:]
    var lastOrigin: (exportID: String, id: Int64)?

    /// The number `n` of posting id `P-<entryID>-<n>` (`Posting.id`), as the warehouse gives a
    /// current posting back; anything else is a fault, thrown before a correction is decided.
    static func number(_ id: String, of entryID: String) throws -> Int64 {
        var id = id, entryID = entryID
        let n = id.withUTF8 { i in
            entryID.withUTF8 { e -> Int64? in
                // "P-", the entry id, "-", then 3 to 18 digits, no zero before a 4th digit.
                let digits = i.count - e.count - 3
                guard digits >= 3, digits <= 18, i[0] == UInt8(ascii: "P"), i[1] == UInt8(ascii: "-"), i[2 + e.count] == UInt8(ascii: "-"),
                    e.count == 0 || memcmp(i.baseAddress! + 2, e.baseAddress!, e.count) == 0,
                    digits == 3 || i[3 + e.count] != UInt8(ascii: "0")
                else { return nil }
                var n: Int64 = 0
                for b in i[(3 + e.count)...] {
                    guard b >= 48, b <= 57 else { return nil }
                    n = n * 10 + Int64(b - 48)
                }
                return n
            }
        }
        if let n { return n }
        throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "posting id \(id) is not P-<entry id>-<number> of entry \(entryID)")
    }
}
