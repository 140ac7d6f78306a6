import DroplineCore
import DroplineLoad
import DroplineProfessionalServices
import Foundation
import GRDB

/// The warehouse side of time approval and posting: implements the rules' lookups on the
/// warehouse tables and records every decision (postings, holds, evaluations) in the caller's
/// transaction. One instance per transaction.
final class TimePostingStage: TimeEntryLookup {
    enum Outcome {
        case posted(Int)
        case held(ReasonCode)
        case rejected([RecordIssue])
        case skipped(ReasonCode)
    }

    let db: Database
    let load: TimePostingLoad
    let company: String
    let runID: String
    let runDate: BusinessDate
    let rules: TimeEntryRules
    let categories: [String: CategoryInfo]
    let statement: StatementCache
    /// Held entries dropped because the current run's export carries them again.
    var superseded = 0

    init(db: Database, load: TimePostingLoad, settings: ZoneSettings, runID: String, runDate: BusinessDate) {
        self.db = db
        self.statement = StatementCache(db)
        self.load = load
        self.company = settings.company
        self.runID = runID
        self.runDate = runDate
        self.rules = TimeEntryRules(holdDays: load.holdDays ?? settings.holdDays)
        var map: [String: CategoryInfo] = [:]
        for (key, row) in load.categories.rows {
            map[key] = CategoryInfo(laborClass: row["erp_labor_class"] ?? "", bucket: row["utilization_bucket"] ?? "")
        }
        categories = map
    }

    // MARK: records from a file

    /// A timesheet header: remembers its latest status (approval backlog).
    func header(_ r: DroplineCore.Record, exportID: String, businessDate: BusinessDate) throws {
        try statement("INSERT INTO timesheet_status (timesheet_id, status, submitted_at, export_business_date, export_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT(timesheet_id) DO UPDATE SET status = excluded.status, submitted_at = excluded.submitted_at, export_business_date = excluded.export_business_date, export_id = excluded.export_id WHERE excluded.export_business_date >= timesheet_status.export_business_date")
            .execute(arguments: [r["timesheet_id"].text, r["status"].text, r["submitted_at"].text, businessDate.iso, exportID])
    }

    /// An entry from a loaded export (§4.2 steps 2-5).
    func entry(_ r: DroplineCore.Record, exportID: String, businessDate: BusinessDate, fileName: String) throws -> Outcome {
        let id = r["entry_id"].text ?? ""
        if try Int.fetchOne(statement("SELECT 1 FROM holds WHERE entry_id = ?"), arguments: [id]) != nil {
            try statement("DELETE FROM holds WHERE entry_id = ?").execute(arguments: [id])
            try evaluation(id, r["timesheet_id"].text, exportID, "dropped", .superseded, [.superseded], nil)
            superseded += 1
        }
        guard r["status"].text == "approved" else {
            try evaluation(id, r["timesheet_id"].text, exportID, "skipped", .notApproved, [.notApproved], nil)
            return .skipped(.notApproved)
        }
        guard let pernr = r["worker"].text, let date = r["date"].date, let project = r["project"].text,
            let hours = r["hours"].decimal, let category = r["category"].text, let weekStart = r["week_start"].date
        else {
            return .rejected([RecordIssue(code: .invalidField, field: nil, expected: "worker, date, project, hours and category", actual: nil, hint: "the entry misses a required attribute")])
        }
        let entry = TimeEntry(entryID: id, timesheetID: r["timesheet_id"].text ?? "", weekStart: weekStart,
                              content: EntryContent(pernr: pernr, date: date, project: project, hours: hours, category: category),
                              exportID: exportID, businessDate: businessDate)
        return try decide(entry, fileName: fileName, position: r.ordinal)
    }

    /// An entry rejected before the rules ran (schema, cast or its timesheet header): recorded
    /// like every evaluation, so that reconciliation and audits see it.
    func rejectedBeforeEvaluation(_ r: DroplineCore.Record, exportID: String, issues: [RecordIssue]) throws {
        let codes = issues.map(\.code)
        try statement("INSERT INTO time_entry_evaluation (entry_id, timesheet_id, export_id, run_id, outcome, primary_reason, reasons, pernr, entry_date, hours) VALUES (?, ?, ?, ?, 'rejected', ?, ?, ?, ?, ?)")
            .execute(arguments: [r["entry_id"].text ?? "", r["timesheet_id"].text, exportID, runID, codes.first?.rawValue, codes.map(\.rawValue).joined(separator: ","), r["worker"].text, r["date"].date?.iso, r["hours"].decimal.map(DecimalText.canonical)])
        try latest(r["entry_id"].text ?? "", "rejected", codes.first, r["worker"].text, r["date"].date, r["hours"].decimal)
    }

    func decide(_ entry: TimeEntry, fileName: String, position: Int) throws -> Outcome {
        let decision = try rules.evaluate(entry, runDate: runDate, lookup: self)
        switch decision {
        case .posted(let postings):
            for p in postings { try insert(p, entry) }
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "posted", nil, [], entry)
            return .posted(postings.count)
        case .held(let reason):
            try statement("""
                INSERT OR REPLACE INTO holds (entry_id, reason, business_date, timesheet_id, week_start, export_id, pernr, entry_date, project, hours, category, file_name, position, held_since_run)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT held_since_run FROM holds WHERE entry_id = ?), ?))
                """).execute(arguments: [entry.entryID, reason.rawValue, entry.businessDate.iso, entry.timesheetID, entry.weekStart.iso, entry.exportID, entry.content.pernr, entry.content.date.iso, entry.content.project, DecimalText.canonical(entry.content.hours), entry.content.category, fileName, position, entry.entryID, runID])
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "held", reason, [reason], entry)
            return .held(reason)
        case .rejected(let codes):
            try statement("DELETE FROM holds WHERE entry_id = ?").execute(arguments: [entry.entryID])
            try evaluation(entry.entryID, entry.timesheetID, entry.exportID, "rejected", codes[0], codes, entry)
            return .rejected(codes.map { issue($0, entry) })
        case .skipped(let reason):
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
    }

    func heldEntries() throws -> [HeldEntry] {
        try Row.fetchAll(db, sql: "SELECT * FROM holds ORDER BY business_date, file_name, position").compactMap { row in
            guard let b = BusinessDate(iso: row["business_date"] as String), let w = BusinessDate(iso: row["week_start"] as String),
                let d = BusinessDate(iso: row["entry_date"] as String), let h = DecimalText.parse(row["hours"] as String)
            else { return nil }
            let content = EntryContent(pernr: row["pernr"], date: d, project: row["project"], hours: h, category: row["category"])
            return HeldEntry(entry: TimeEntry(entryID: row["entry_id"], timesheetID: row["timesheet_id"], weekStart: w, content: content, exportID: row["export_id"], businessDate: b),
                             reason: ReasonCode(rawValue: row["reason"]) ?? .unknownWorker, fileName: row["file_name"], position: row["position"])
        }
    }

    // MARK: writes

    func insert(_ p: Posting, _ entry: TimeEntry) throws {
        lastPostings = nil
        let cents = NSDecimalNumber(decimal: p.hours * 100).int64Value
        let c = p.reverses == nil ? entry.content : nil
        try statement("""
            INSERT INTO postings (posting_id, entry_id, reverses, pernr, erp_project, labor_class, posting_date, period, hours, hours_cents, cost_amount, bill_amount, currency, bucket,
                content_pernr, content_date, content_project, content_hours, content_category, export_id, run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [p.id, p.ref, p.reverses, p.pernr, p.erpProject, p.laborClass, p.postingDate.iso, p.period,
                                     DecimalText.format(p.hours, scale: 2), cents, DecimalText.format(p.costAmount, scale: 2), DecimalText.format(p.billAmount, scale: 2), p.currency, p.bucket,
                                     c?.pernr, c?.date.iso, c?.project, c.map { DecimalText.canonical($0.hours) }, c?.category, entry.exportID, runID])
        try statement("INSERT OR IGNORE INTO utilization_due (iso_week_monday) VALUES (?)").execute(arguments: [ISOWeek(containing: p.postingDate).monday.iso])
        if let reversed = p.reverses {
            try statement("UPDATE postings SET reversed_by = ? WHERE posting_id = ?").execute(arguments: [p.id, reversed])
        }
    }

    func evaluation(_ id: String, _ timesheet: String?, _ exportID: String, _ outcome: String, _ primary: ReasonCode?, _ reasons: [ReasonCode], _ entry: TimeEntry?) throws {
        try statement("INSERT INTO time_entry_evaluation (entry_id, timesheet_id, export_id, run_id, outcome, primary_reason, reasons, pernr, entry_date, hours) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [id, timesheet, exportID, runID, outcome, primary?.rawValue, reasons.map(\.rawValue).joined(separator: ","), entry?.content.pernr, entry?.content.date.iso, entry.map { DecimalText.canonical($0.content.hours) }])
        try latest(id, outcome, primary, entry?.content.pernr, entry?.content.date, entry?.content.hours)
    }

    /// The entry's latest evaluation that says something about approved time (not a superseded
    /// hold, not an unapproved timesheet), for reconciliation.
    func latest(_ id: String, _ outcome: String, _ primary: ReasonCode?, _ pernr: String?, _ date: BusinessDate?, _ hours: Decimal?) throws {
        guard outcome != "dropped", !(outcome == "skipped" && primary == .notApproved) else { return }
        let cents = hours.map { NSDecimalNumber(decimal: $0 * 100).int64Value }
        try statement("INSERT INTO time_entry_latest (entry_id, outcome, primary_reason, pernr, entry_date, hours_cents) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(entry_id) DO UPDATE SET outcome = excluded.outcome, primary_reason = excluded.primary_reason, pernr = excluded.pernr, entry_date = excluded.entry_date, hours_cents = excluded.hours_cents")
            .execute(arguments: [id, outcome, primary?.rawValue, pernr, date?.iso, cents])
    }

    func issue(_ code: ReasonCode, _ e: TimeEntry) -> RecordIssue {
        let c = e.content
        let (field, actual): (String, String) = switch code {
        case .invalidHours, .dayOver24: ("hours", DecimalText.canonical(c.hours))
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
    // periods are read once per transaction (they are small next to the timesheets); worker
    // ranges and postings are read per entry through indexes, the last worker's ranges reused
    // (a timesheet's entries share their worker).
    lazy var projects: [String: ProjectInfo] = (try? Self.loadProjects(db)) ?? [:]
    lazy var rates: [String: [(from: BusinessDate, to: BusinessDate, project: String, rate: RateInfo)]] = (try? Self.loadRates(db)) ?? [:]
    lazy var periods: [(from: BusinessDate, to: BusinessDate, info: PeriodInfo)] = (try? Self.loadPeriods(db, company: company)) ?? []
    lazy var hasWorkers: Bool = (try? db.tableExists("workers")) ?? false
    var lastWorker: (pernr: String, ranges: [WorkerRange])?
    var lastPostings: (entryID: String, rows: [Row])?

    func workerRanges(pernr: String) throws -> [WorkerRange] {
        if let last = lastWorker, last.pernr == pernr { return last.ranges }
        guard hasWorkers else { return [] }
        let ranges = try Row.fetchAll(statement("SELECT valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers WHERE pernr = ? ORDER BY valid_from"), arguments: [pernr]).compactMap(Self.range)
        lastWorker = (pernr, ranges)
        return ranges
    }

    /// A worker range from a row with columns valid_from, valid_to, region, practice, job_code,
    /// billable_role, std_hours_week (by name, for any column order).
    static func range(_ row: Row) -> WorkerRange? {
        guard let f = BusinessDate(iso: row["valid_from"] as String), let t = BusinessDate(iso: row["valid_to"] as String),
            let h = DecimalText.parse(row["std_hours_week"] as String? ?? "")
        else { return nil }
        return WorkerRange(from: f, to: t, region: row["region"], practice: row["practice"], jobCode: row["job_code"], billableRole: row["billable_role"], stdHoursWeek: h)
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

    static func loadRates(_ db: Database) throws -> [String: [(from: BusinessDate, to: BusinessDate, project: String, rate: RateInfo)]] {
        guard try db.tableExists("rates") else { return [:] }
        var out: [String: [(from: BusinessDate, to: BusinessDate, project: String, rate: RateInfo)]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT role, region, project_key, valid_from, valid_to, bill_rate, cost_rate, currency FROM rates") {
            guard let from = BusinessDate(iso: row[3] as String), let to = BusinessDate(iso: row[4] as String),
                let bill = DecimalText.parse(row[5] as String), let cost = DecimalText.parse(row[6] as String)
            else { continue }
            out[(row[0] as String) + "\u{1}" + (row[1] as String), default: []].append((from, to, row[2] as String? ?? "", RateInfo(bill: bill, cost: cost, currency: row[7])))
        }
        return out
    }

    static func loadPeriods(_ db: Database, company: String) throws -> [(from: BusinessDate, to: BusinessDate, info: PeriodInfo)] {
        guard try db.tableExists("periods") else { return [] }
        return try Row.fetchAll(db, sql: "SELECT start_date, end_date, period_id, status FROM periods WHERE company = ? ORDER BY start_date", arguments: [company]).compactMap { row in
            guard let from = BusinessDate(iso: row[0] as String), let to = BusinessDate(iso: row[1] as String) else { return nil }
            return (from, to, PeriodInfo(id: row[2], status: row[3]))
        }
    }

    func project(code: String) throws -> ProjectInfo? { projects[code] }

    func rate(role: String, region: String, project: String, on date: BusinessDate) throws -> RateInfo? {
        let candidates = (rates[role + "\u{1}" + region] ?? []).filter { $0.from <= date && date <= $0.to && ($0.project == project || $0.project.isEmpty) }
        return (candidates.first { $0.project == project } ?? candidates.first { $0.project.isEmpty })?.rate
    }

    func period(on date: BusinessDate) throws -> PeriodInfo? {
        periods.first { $0.from <= date && date <= $0.to }?.info
    }

    func category(_ name: String) -> CategoryInfo? { categories[name] }

    func postedHours(pernr: String, on date: BusinessDate) throws -> Decimal {
        let cents = try Int64.fetchOne(statement("SELECT COALESCE(SUM(hours_cents), 0) FROM postings WHERE pernr = ? AND posting_date = ?"), arguments: [pernr, date.iso]) ?? 0
        return Decimal(cents) / 100
    }

    /// Every posting of an entry id, oldest first (one query serves both lookups below).
    func postings(of entryID: String) throws -> [Row] {
        if let last = lastPostings, last.entryID == entryID { return last.rows }
        let rows = try Row.fetchAll(statement("SELECT posting_id, entry_id, reverses, reversed_by, pernr, erp_project, labor_class, posting_date, period, hours, cost_amount, bill_amount, currency, bucket, content_pernr, content_date, content_project, content_hours, content_category FROM postings WHERE entry_id = ? ORDER BY seq"), arguments: [entryID])
        lastPostings = (entryID, rows)
        return rows
    }

    func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)? {
        guard let row = try postings(of: entryID).last(where: { ($0[2] as String?) == nil && ($0[3] as String?) == nil }) else { return nil }
        guard let date = BusinessDate(iso: row[7] as String), let cdate = BusinessDate(iso: row[15] as String),
            let hours = DecimalText.parse(row[9] as String), let cost = DecimalText.parse(row[10] as String),
            let bill = DecimalText.parse(row[11] as String), let chours = DecimalText.parse(row[17] as String)
        else { return nil }
        let p = Posting(id: row[0], ref: row[1], reverses: nil, pernr: row[4], erpProject: row[5], laborClass: row[6], postingDate: date, period: row[8], hours: hours, costAmount: cost, billAmount: bill, currency: row[12], bucket: row[13])
        return (p, EntryContent(pernr: row[14], date: cdate, project: row[16], hours: chours, category: row[18]))
    }

    func postingCount(entryID: String) throws -> Int { try postings(of: entryID).count }
}
