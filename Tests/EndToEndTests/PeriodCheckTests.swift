import DroplineCore
import DroplineProfessionalServices
import Foundation
import Testing

/// Check 11 of a correction: the period of the entry's new date and that of the posting it
/// reverses both count. A closed or unknown period rejects (the new date's code first), a
/// closing one holds; the rules are evaluated on a lookup that has everything else right.
struct PeriodCheckTests {
    /// Periods by the first day of their month: November 2026 and December 2026 as the case
    /// says, nothing for January 2027 (an unknown period).
    final class Lookup: TimeEntryLookup {
        let periods: [Int: PeriodInfo]
        let current: (posting: Posting, content: EntryContent)?

        init(november: String?, december: String?, current: (posting: Posting, content: EntryContent)?) {
            var p: [Int: PeriodInfo] = [:]
            if let november { p[11] = PeriodInfo(id: "2026-11", status: november) }
            if let december { p[12] = PeriodInfo(id: "2026-12", status: december) }
            periods = p
            self.current = current
        }

        func workerRanges(pernr: String) throws -> [WorkerRange] {
            [WorkerRange(from: BusinessDate(iso: "2020-01-01")!, to: BusinessDate(iso: "2030-12-31")!, region: "EMEA", practice: "DATA", jobCode: "CONS", billableRole: "Y", stdHoursWeek: 40)]
        }
        func project(code: String) throws -> ProjectInfo? {
            ProjectInfo(code: code, status: "active", start: BusinessDate(iso: "2020-01-01")!, end: nil, engagementType: "client", billingType: "time_and_materials", erpNumber: "ERP-1")
        }
        func rate(role: String, region: String, project: String, on date: BusinessDate) throws -> RateInfo? { RateInfo(bill: 150, cost: 80, currency: "EUR") }
        func period(on date: BusinessDate) throws -> PeriodInfo? { date.year == 2026 ? periods[date.month] : nil }
        func category(_ name: String) -> CategoryInfo? { CategoryInfo(laborClass: "BILL", bucket: "billable") }
        func postedHundredths(pernr: String, on date: BusinessDate) throws -> Int64 { 0 }
        func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)? { current }
        func postingCount(entryID: String) throws -> Int { current == nil ? 0 : 1 }
    }

    static let runDate = BusinessDate(iso: "2027-01-04")!

    /// An entry now dated `newDate`, posted before on `oldDate` (with other hours).
    static func decide(newDate: String, oldDate: String, november: String?, december: String?) throws -> TimeEntryDecision {
        let new = BusinessDate(iso: newDate)!, old = BusinessDate(iso: oldDate)!
        let before = EntryContent(pernr: "00012345", date: old, project: "PRJ-1", hours: 8, category: "billable")
        let posting = Posting(ref: "TE-1", number: 1, reverses: nil, pernr: "00012345", erpProject: "ERP-1", laborClass: "BILL", postingDate: old, period: "2026-11", hours: 8, costAmount: 640, billAmount: 1200, currency: "EUR", bucket: "billable")
        let entry = TimeEntry(entryID: "TE-1", timesheetID: "TS-1", weekStart: ISOWeek(containing: new).monday, content: EntryContent(pernr: "00012345", date: new, project: "PRJ-1", hours: 6, category: "billable"),
                              exportID: "X", businessDate: runDate)
        return try TimeEntryRules(holdDays: 30).evaluate(entry, runDate: runDate, lookup: Lookup(november: november, december: december, current: (posting, before)))
    }

    @Test(arguments: [
        // new date's period, reversed date's period: the decision.
        ("open", "open", "posted"),
        ("closing", "open", "held period_closing"),
        ("open", "closing", "held period_closing"),
        ("closing", "closing", "held period_closing"),
        ("closed", "open", "rejected period_closed"),
        ("open", "closed", "rejected period_closed"),
        ("closing", "closed", "rejected period_closed"),
        ("closed", "closing", "rejected period_closed"),
        ("closing", nil, "rejected period_unknown"),
        ("closed", nil, "rejected period_closed"),
        (nil, "closed", "rejected period_unknown"),
        (nil, "closing", "rejected period_unknown"),
    ] as [(String?, String?, String)])
    func aCorrectionCountsBothPeriods(new: String?, reversed: String?, expected: String) throws {
        // The new date in December (or January 2027, whose period is unknown), the reversed
        // posting in November.
        let decision = try Self.decide(newDate: new == nil ? "2027-01-05" : "2026-12-02", oldDate: "2026-11-25", november: reversed, december: new)
        #expect(Self.describe(decision) == expected)
    }

    /// The same date: only its period counts.
    @Test func aCorrectionOnTheSameDateCountsOnePeriod() throws {
        let decision = try Self.decide(newDate: "2026-11-25", oldDate: "2026-11-25", november: "closing", december: "closed")
        #expect(Self.describe(decision) == "held period_closing")
    }

    static func describe(_ d: TimeEntryDecision) -> String {
        switch d {
        case .posted: "posted"
        case .held(let r): "held \(r.rawValue)"
        case .rejected(let codes): "rejected " + codes.map(\.rawValue).joined(separator: ",")
        case .skipped(let r): "skipped \(r.rawValue)"
        }
    }
}
