import DroplineCore
import Foundation

/// What decides whether a re-sent entry is identical (contract §4.5): worker, date, project,
/// hours by value, category. Task, note and timesheet timestamps are not content.
public struct EntryContent: Sendable, Hashable, Codable {
    public var pernr: String
    public var date: BusinessDate
    public var project: String
    public var hours: Decimal { didSet { exactHundredths = DecimalText.exactHundredths(hours) } }
    public var category: String
    /// `hours` in exact hundredths, nil when it has more than two decimals or does not fit:
    /// worked out once where the content is made, for the rules, the posting and the audit rows
    /// that each read it.
    public private(set) var exactHundredths: Int64?

    public init(pernr: String, date: BusinessDate, project: String, hours: Decimal, category: String) {
        self.pernr = pernr
        self.date = date
        self.project = project
        self.hours = hours
        self.category = category
        exactHundredths = DecimalText.exactHundredths(hours)
    }

    /// `hours` in hundredths: exact, or truncated toward zero (`DecimalText.hundredths`).
    public var hundredths: Int64 { exactHundredths ?? DecimalText.hundredths(hours) }

    /// `DecimalText.canonical(hours)`.
    public var canonicalHours: String { exactHundredths.map(DecimalText.canonical(hundredths:)) ?? DecimalText.canonical(hours) }

    enum CodingKeys: String, CodingKey { case pernr, date, project, hours, category }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(pernr: try c.decode(String.self, forKey: .pernr), date: try c.decode(BusinessDate.self, forKey: .date), project: try c.decode(String.self, forKey: .project),
                  hours: try c.decode(Decimal.self, forKey: .hours), category: try c.decode(String.self, forKey: .category))
    }
}

/// One time entry as evaluated: its content plus timesheet context and where it came from.
public struct TimeEntry: Sendable, Codable {
    public var entryID: String
    public var timesheetID: String
    public var weekStart: BusinessDate
    public var content: EntryContent
    public var exportID: String
    /// Business date of the export it came in: starts the hold clock.
    public var businessDate: BusinessDate

    public init(entryID: String, timesheetID: String, weekStart: BusinessDate, content: EntryContent, exportID: String, businessDate: BusinessDate) {
        self.entryID = entryID
        self.timesheetID = timesheetID
        self.weekStart = weekStart
        self.content = content
        self.exportID = exportID
        self.businessDate = businessDate
    }
}

/// One ERP labor posting (contract §7.1). Amounts are exact decimals.
public struct Posting: Sendable, Hashable, Codable {
    /// The entry posted.
    public var ref: String
    /// The posting's number among its entry's (from 1, in the order they are made): the id is
    /// made from it only where it is written out, not for every posting decided.
    public var number: Int
    /// The number of the entry's posting this one reverses, if it is a reversal.
    public var reversesNumber: Int?
    public var pernr: String
    public var erpProject: String
    public var laborClass: String
    public var postingDate: BusinessDate
    public var period: String
    public var hours: Decimal
    public var costAmount: Decimal
    public var billAmount: Decimal
    public var currency: String
    /// Utilization bucket of the category (not written to the ERP file).
    public var bucket: String

    public init(ref: String, number: Int, reverses: Int?, pernr: String, erpProject: String, laborClass: String, postingDate: BusinessDate, period: String, hours: Decimal, costAmount: Decimal, billAmount: Decimal, currency: String, bucket: String) {
        self.ref = ref
        self.number = number
        self.reversesNumber = reverses
        self.pernr = pernr
        self.erpProject = erpProject
        self.laborClass = laborClass
        self.postingDate = postingDate
        self.period = period
        self.hours = hours
        self.costAmount = costAmount
        self.billAmount = billAmount
        self.currency = currency
        self.bucket = bucket
    }

    /// The id of an entry's posting number `n` (from 1, in the order they are made):
    /// `P-<entry id>-<n, at least 3 digits>` (contract §7.1).
    public static func id(entryID: String, number n: Int) -> String { "P-\(entryID)-\(zeroPad(n, 3))" }

    /// `P-<entry id>-<number>`.
    public var id: String { Self.id(entryID: ref, number: number) }
    /// The id of the posting this one reverses.
    public var reverses: String? { reversesNumber.map { Self.id(entryID: ref, number: $0) } }

    /// The exact negation, number `n` of the entry, posted on the reversed posting's date
    /// (contract §4.5).
    public func reversal(number n: Int) -> Posting {
        Posting(ref: ref, number: n, reverses: number, pernr: pernr, erpProject: erpProject, laborClass: laborClass, postingDate: postingDate, period: period, hours: -hours, costAmount: -costAmount, billAmount: -billAmount, currency: currency, bucket: bucket)
    }
}

public struct WorkerRange: Sendable, Hashable {
    public var from: BusinessDate
    public var to: BusinessDate
    public var region: String
    public var practice: String
    public var jobCode: String
    public var billableRole: String
    public var stdHoursWeek: Decimal

    public init(from: BusinessDate, to: BusinessDate, region: String, practice: String, jobCode: String, billableRole: String, stdHoursWeek: Decimal) {
        self.from = from
        self.to = to
        self.region = region
        self.practice = practice
        self.jobCode = jobCode
        self.billableRole = billableRole
        self.stdHoursWeek = stdHoursWeek
    }

    public func covers(_ d: BusinessDate) -> Bool { from <= d && d <= to }
}

/// A class, immutable: the rules look up an entry's project once and read it in place; as a
/// struct, each lookup copied and destroyed its five strings (about 20 M instructions per 10 MB
/// of timesheets on the deciding thread).
public final class ProjectInfo: Sendable {
    public let code: String
    public let status: String
    public let start: BusinessDate
    public let end: BusinessDate?
    public let engagementType: String
    public let billingType: String
    public let erpNumber: String?

    public init(code: String, status: String, start: BusinessDate, end: BusinessDate?, engagementType: String, billingType: String, erpNumber: String?) {
        self.code = code
        self.status = status
        self.start = start
        self.end = end
        self.engagementType = engagementType
        self.billingType = billingType
        self.erpNumber = erpNumber
    }
}

public struct RateInfo: Sendable {
    public let bill: Decimal
    public let cost: Decimal
    public let currency: String
    /// The rates as exact integers, worked out once: an amount is then integer arithmetic.
    public let billExact, costExact: DecimalText.Exact?
    public init(bill: Decimal, cost: Decimal, currency: String) {
        self.bill = bill
        self.cost = cost
        self.currency = currency
        billExact = DecimalText.exact(bill)
        costExact = DecimalText.exact(cost)
    }
}

public struct PeriodInfo: Sendable {
    public var id: String
    public var status: String
    public init(id: String, status: String) {
        self.id = id
        self.status = status
    }
}

public struct CategoryInfo: Sendable {
    public var laborClass: String
    public var bucket: String
    public init(laborClass: String, bucket: String) {
        self.laborClass = laborClass
        self.bucket = bucket
    }
}

/// Master data and posting state the rules read. The runtime implements it on the warehouse;
/// tests can implement it in memory.
public protocol TimeEntryLookup {
    func workerRanges(pernr: String) throws -> [WorkerRange]
    func project(code: String) throws -> ProjectInfo?
    /// The most specific rate effective on the date: project rate over general rate.
    func rate(role: String, region: String, project: String, on date: BusinessDate) throws -> RateInfo?
    /// The period of the configured company covering the date.
    func period(on date: BusinessDate) throws -> PeriodInfo?
    func category(_ name: String) -> CategoryInfo?
    /// Net hundredths of the worker's current postings on the date (reversals included; posted
    /// hours have at most two decimals).
    func postedHundredths(pernr: String, on date: BusinessDate) throws -> Int64
    /// The entry's current posting (latest non-reversal, not reversed) and its content.
    func currentPosting(entryID: String) throws -> (posting: Posting, content: EntryContent)?
    /// Number of postings made for the entry id so far (for `P-<id>-<NNN>`).
    func postingCount(entryID: String) throws -> Int
}
