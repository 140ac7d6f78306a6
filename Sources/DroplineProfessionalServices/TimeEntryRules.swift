import DroplineCore
import Foundation

/// The outcome of evaluating one entry (contract §4).
public enum TimeEntryDecision: Sendable, Equatable {
    /// The entry's new posting, and the reversal of its current one when it replaces it (the
    /// reversal is written first). Not an array of postings: that was allocated and freed for
    /// every posted entry, the deciding thread's most frequent allocation.
    case posted(Posting, reversal: Posting?)
    /// Held with its one hold reason.
    case held(ReasonCode)
    /// Rejected: every failing check in the contract's order, primary first.
    case rejected([ReasonCode])
    case skipped(ReasonCode)
}

/// Contract §4.2-§5: checks 2-13 with their fixed primary order, holds and expiry,
/// `already_posted` and corrections, amounts half-up to 2 decimals. Pure: all state comes
/// through `TimeEntryLookup`.
public struct TimeEntryRules: Sendable {
    public var holdDays: Int
    /// `reject` (contract) or `roll_forward` is not offered: a closed period always rejects.
    public init(holdDays: Int) { self.holdDays = holdDays }

    public static let holdReasons: Set<ReasonCode> = [.unknownWorker, .periodClosing, .noErpProjectNumber]

    /// Evaluates from step 4 of §4.2 (header, status and schema were checked by the caller).
    /// Generic, not `any TimeEntryLookup`: specialized for the stage that calls it, its nine
    /// lookups an entry are direct calls, not witness-table calls through an existential.
    public func evaluate<Lookup: TimeEntryLookup>(_ entry: TimeEntry, runDate: BusinessDate, lookup: Lookup) throws -> TimeEntryDecision {
        let c = entry.content
        let current = try lookup.currentPosting(entryID: entry.entryID)
        // What the checks read of the current posting, taken out of it once: each use of it was
        // a copy of its 297 bytes (every string in it retained and released).
        var currentDate: BusinessDate?
        var currentHours: Decimal?
        if let current {
            if current.content == c { return .skipped(.alreadyPosted) }
            currentDate = current.posting.postingDate
            currentHours = current.posting.hours
        }

        var failed: [ReasonCode] = []
        // 2
        // Exact hundredths, or nil for more than two decimals (or a value far above 24).
        let hoursCents = c.exactHundredths
        let hoursOK = hoursCents.map { $0 > 0 && $0 <= 2400 } ?? false
        if !hoursOK { failed.append(.invalidHours) }
        // 3
        if c.date < entry.weekStart || c.date > entry.weekStart.adding(days: 6) { failed.append(.dateOutsideWeek) }
        // 4, 5
        let ranges = try lookup.workerRanges(pernr: c.pernr)
        // By index: the range itself (four strings and a decimal) is read in place, not copied.
        let range = ranges.firstIndex { $0.covers(c.date) }
        if ranges.isEmpty { failed.append(.unknownWorker) } else if range == nil { failed.append(.workerInactive) }
        // 6, 7
        let project = try lookup.project(code: c.project)
        if let p = project {
            if p.status != "active" || c.date < p.start || (p.end.map { c.date > $0 } ?? false) { failed.append(.projectNotOpen) }
        } else {
            failed.append(.unknownProject)
        }
        // 8
        let category = lookup.category(c.category)
        if category == nil { failed.append(.unmappedCategory) }
        // 9
        if let p = project, c.category == "billable", p.billingType == "non_billable" || p.engagementType != "client" {
            failed.append(.billableOnNonbillable)
        }
        // 10
        var rate: RateInfo?
        if let range {
            rate = try lookup.rate(role: ranges[range].jobCode, region: ranges[range].region, project: c.project, on: c.date)
            if rate == nil { failed.append(.noRate) }
        }
        // 11: for a correction the reversal's date counts too.
        let period = try lookup.period(on: c.date)
        var periodCode = Self.periodCode(period)
        if let currentDate, currentDate != c.date {
            periodCode = Self.stricter(periodCode, Self.periodCode(try lookup.period(on: currentDate)))
        }
        if let periodCode { failed.append(periodCode) }
        // 12
        if hoursOK, let hoursCents {
            var posted = try lookup.postedHundredths(pernr: c.pernr, on: c.date)
            if currentDate == c.date, let currentHours {
                posted -= DecimalText.hundredths(currentHours)
            }
            if posted + hoursCents > 2400 { failed.append(.dayOver24) }
        }
        // 13
        if let p = project, p.erpNumber == nil { failed.append(.noErpProjectNumber) }

        if let primary = failed.first {
            if Self.holdReasons.contains(primary) {
                return runDate >= entry.businessDate.adding(days: holdDays) ? .rejected([primary]) : .held(primary)
            }
            return .rejected(failed)
        }
        guard let rate, let category, let period, let erp = project?.erpNumber else {
            preconditionFailure("checks passed without their inputs")
        }
        var n = try lookup.postingCount(entryID: entry.entryID)
        func nextNumber() -> Int {
            n += 1
            return n
        }
        let reversal = current?.posting.reversal(number: nextNumber())
        let cost = Self.amount(c.hours, hoursCents, rate.cost, rate.costExact)
        let bill = c.category == "billable" ? Self.amount(c.hours, hoursCents, rate.bill, rate.billExact) : 0
        let posting = Posting(ref: entry.entryID, number: nextNumber(), reverses: nil, pernr: c.pernr, erpProject: erp, laborClass: category.laborClass, postingDate: c.date, period: period.id, hours: c.hours, costAmount: cost, billAmount: bill, currency: rate.currency, bucket: category.bucket)
        return .posted(posting, reversal: reversal)
    }

    /// Hours times rate, rounded half-up to cents: integer arithmetic when both are exact.
    static func amount(_ hours: Decimal, _ hoursCents: Int64?, _ rate: Decimal, _ rateExact: DecimalText.Exact?) -> Decimal {
        if let hoursCents, let rateExact, let product = DecimalText.product(hundredths: hoursCents, rateExact, scale: 2) { return product }
        return DecimalText.roundHalfUp(hours * rate, scale: 2)
    }

    /// Of the codes of two dates' periods (nil: open), the first that is not `periodClosing`,
    /// else `periodClosing` if either is (a closing period holds, a closed or unknown one rejects).
    static func stricter(_ a: ReasonCode?, _ b: ReasonCode?) -> ReasonCode? {
        if let a, a != .periodClosing { return a }
        if let b, b != .periodClosing { return b }
        return a ?? b
    }

    static func periodCode(_ p: PeriodInfo?) -> ReasonCode? {
        guard let p else { return .periodUnknown }
        switch p.status {
        case "open": return nil
        case "closing": return .periodClosing
        default: return .periodClosed
        }
    }
}
