import DroplineCore
import DroplineProfessionalServices
import Foundation
import Testing

/// Check 11 of a correction: the period of the entry's new date and that of the posting it
/// reverses both count. A closed or unknown period rejects (the new date's code first), a
/// closing one holds; the rules are evaluated on a lookup that has everything else right. And
/// check 12 of a correction: the reversed posting's hours count nowhere.
struct PeriodCheckTests {
    /// Periods by the first day of their month: November 2026 and December 2026 as the case
    /// says, nothing for January 2027 (an unknown period).
    final class Lookup: TimeEntryLookup {
        let periods: [Int: PeriodInfo]
        let current: (posting: Posting, content: EntryContent)?
        /// The worker's posted hundredths by date (ISO); none elsewhere.
        let posted: [String: Int64]

        init(november: String?, december: String?, current: (posting: Posting, content: EntryContent)?, posted: [String: Int64] = [:]) {
            self.posted = posted
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
        func postedHundredths(pernr: String, on date: BusinessDate) throws -> Int64 { posted[date.iso] ?? 0 }
        func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)? { current }
        func postingCount(entryID: String) throws -> Int { current == nil ? 0 : 1 }
    }

    static let runDate = BusinessDate(iso: "2027-01-04")!

    /// An entry now dated `newDate` with `hours`, posted before on `oldDate` with 8 hours; the
    /// worker's posted hundredths by date are `posted` (the 8 hours among them on `oldDate`).
    static func decide(newDate: String, oldDate: String, november: String?, december: String?, hours: Decimal = 6, posted: [String: Int64] = [:]) throws -> TimeEntryDecision {
        let new = BusinessDate(iso: newDate)!, old = BusinessDate(iso: oldDate)!
        let before = EntryContent(pernr: "00012345", date: old, project: "PRJ-1", hours: 8, category: "billable")
        let posting = Posting(ref: "TE-1", number: 1, reverses: nil, pernr: "00012345", erpProject: "ERP-1", laborClass: "BILL", postingDate: old, period: "2026-11", hours: 8, costAmount: 640, billAmount: 1200, currency: "EUR", bucket: "billable")
        let entry = TimeEntry(entryID: "TE-1", timesheetID: "TS-1", weekStart: ISOWeek(containing: new).monday, content: EntryContent(pernr: "00012345", date: new, project: "PRJ-1", hours: hours, category: "billable"),
                              exportID: "X", businessDate: runDate)
        return try TimeEntryRules(holdDays: 30).evaluate(entry, runDate: runDate, lookup: Lookup(november: november, december: december, current: (posting, before), posted: posted))
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

    /// Check 12 of a correction: the hours of the posting it reverses are left out on that
    /// posting's date (its reversal takes them back there) and nowhere else.
    @Test(arguments: [
        // the reversed posting's date, hundredths posted on the new date 2026-11-25, the new
        // hours: the decision.
        ("2026-11-25", Int64(2000), "12", "posted"),
        ("2026-11-25", Int64(2000), "12.01", "rejected day_over_24"),
        ("2026-11-24", Int64(2000), "4.5", "rejected day_over_24"),
        ("2026-11-24", Int64(1200), "12", "posted"),
    ] as [(String, Int64, String, String)])
    func aCorrectionLeavesOutTheReversedHoursOnTheirDate(reversedOn: String, postedOnNewDate: Int64, hours: String, expected: String) throws {
        var posted = [reversedOn: Int64(800)]
        posted["2026-11-25", default: 0] = postedOnNewDate
        let decision = try Self.decide(newDate: "2026-11-25", oldDate: reversedOn, november: "open", december: "open", hours: Decimal(string: hours)!, posted: posted)
        #expect(Self.describe(decision) == expected)
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
