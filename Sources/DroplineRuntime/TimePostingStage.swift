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

    func workerRanges(pernr: String) throws -> [WorkerRange] {
        guard try db.tableExists("workers") else { return [] }
        return try Row.fetchAll(statement("SELECT valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers WHERE pernr = ? ORDER BY valid_from"), arguments: [pernr]).compactMap(Self.range)
    }

    static func range(_ row: Row) -> WorkerRange? {
        guard let f = BusinessDate(iso: row["valid_from"] as String), let t = BusinessDate(iso: row["valid_to"] as String),
            let h = DecimalText.parse(row["std_hours_week"] as String? ?? "")
        else { return nil }
        return WorkerRange(from: f, to: t, region: row["region"], practice: row["practice"], jobCode: row["job_code"], billableRole: row["billable_role"], stdHoursWeek: h)
    }

    func project(code: String) throws -> ProjectInfo? {
        guard try db.tableExists("projects"),
            let row = try Row.fetchOne(statement("SELECT status, start_date, end_date, engagement_type, billing_type, erp_project_number FROM projects WHERE code = ?"), arguments: [code]),
            let start = BusinessDate(iso: row["start_date"] as String)
        else { return nil }
        let end = (row["end_date"] as String?).flatMap { BusinessDate(iso: $0) }
        let erp: String? = row["erp_project_number"]
        return ProjectInfo(code: code, status: row["status"], start: start, end: end, engagementType: row["engagement_type"], billingType: row["billing_type"], erpNumber: erp?.isEmpty == false ? erp : nil)
    }

    func rate(role: String, region: String, project: String, on date: BusinessDate) throws -> RateInfo? {
        guard try db.tableExists("rates") else { return nil }
        let row = try Row.fetchOne(statement("""
            SELECT bill_rate, cost_rate, currency FROM rates
            WHERE role = ? AND region = ? AND (project_key = ? OR project_key = '') AND valid_from <= ? AND valid_to >= ?
            ORDER BY project_key DESC LIMIT 1
            """), arguments: [role, region, project, date.iso, date.iso])
        guard let row, let bill = DecimalText.parse(row["bill_rate"] as String), let cost = DecimalText.parse(row["cost_rate"] as String) else { return nil }
        return RateInfo(bill: bill, cost: cost, currency: row["currency"])
    }

    func period(on date: BusinessDate) throws -> PeriodInfo? {
        guard try db.tableExists("periods") else { return nil }
        return try Row.fetchOne(statement("SELECT period_id, status FROM periods WHERE company = ? AND start_date <= ? AND end_date >= ? LIMIT 1"), arguments: [company, date.iso, date.iso])
            .map { PeriodInfo(id: $0["period_id"], status: $0["status"]) }
    }

    func category(_ name: String) -> CategoryInfo? { categories[name] }

    func postedHours(pernr: String, on date: BusinessDate) throws -> Decimal {
        let cents = try Int64.fetchOne(statement("SELECT COALESCE(SUM(hours_cents), 0) FROM postings WHERE pernr = ? AND posting_date = ?"), arguments: [pernr, date.iso]) ?? 0
        return Decimal(cents) / 100
    }

    func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)? {
        guard let row = try Row.fetchOne(statement("SELECT * FROM postings WHERE entry_id = ? AND reverses IS NULL AND reversed_by IS NULL ORDER BY seq DESC LIMIT 1"), arguments: [entryID]) else { return nil }
        guard let date = BusinessDate(iso: row["posting_date"] as String), let cdate = BusinessDate(iso: row["content_date"] as String),
            let hours = DecimalText.parse(row["hours"] as String), let cost = DecimalText.parse(row["cost_amount"] as String),
            let bill = DecimalText.parse(row["bill_amount"] as String), let chours = DecimalText.parse(row["content_hours"] as String)
        else { return nil }
        let p = Posting(id: row["posting_id"], ref: row["entry_id"], reverses: nil, pernr: row["pernr"], erpProject: row["erp_project"], laborClass: row["labor_class"], postingDate: date, period: row["period"], hours: hours, costAmount: cost, billAmount: bill, currency: row["currency"], bucket: row["bucket"])
        return (p, EntryContent(pernr: row["content_pernr"], date: cdate, project: row["content_project"], hours: chours, category: row["content_category"]))
    }

    func postingCount(entryID: String) throws -> Int {
        try Int.fetchOne(statement("SELECT COUNT(*) FROM postings WHERE entry_id = ?"), arguments: [entryID]) ?? 0
    }
}
