import DroplineCore
import Foundation

/// An ISO 8601 week (Monday to Sunday).
public struct ISOWeek: Sendable, Hashable, Comparable {
    public var monday: BusinessDate

    public init(containing date: BusinessDate) { monday = date.adding(days: 1 - date.isoWeekday) }

    /// `2026-W48`.
    public init?(label: String) {
        let parts = label.split(separator: "-W")
        guard parts.count == 2, let year = Int(parts[0]), let week = Int(parts[1]), (1...53).contains(week),
            let jan4 = BusinessDate(year: year, month: 1, day: 4)
        else { return nil }
        let monday = jan4.adding(days: 1 - jan4.isoWeekday).adding(days: (week - 1) * 7)
        self.monday = monday
        guard self.label == label else { return nil }
    }

    public var sunday: BusinessDate { monday.adding(days: 6) }
    /// The ISO week-year is the year of the week's Thursday.
    public var year: Int { monday.adding(days: 3).year }
    public var number: Int {
        let thursday = monday.adding(days: 3)
        let jan1 = BusinessDate(year: thursday.year, month: 1, day: 1)!
        return (thursday.dayNumber - jan1.dayNumber) / 7 + 1
    }
    public var label: String { "\(year)-W\(number < 10 ? "0" : "")\(number)" }
    public static func < (a: ISOWeek, b: ISOWeek) -> Bool { a.monday < b.monday }
}

/// One row of UTILIZATION_FACTS (contract §7.4), already formatted as the CSV shows it.
public struct UtilizationRow: Sendable, Equatable {
    public var isoWeek: String
    public var weekStart: String
    public var region: String
    public var practice: String
    public var jobCode: String
    public var billableRole: String
    public var workers: Int
    /// capacity, absence, available, billable, productive, strategic, internal, training, bench, actual
    public var hours: [String]
    /// billable_utilization, productive_utilization; nil when available <= 0
    public var ratios: [String?]

    public init(isoWeek: String, weekStart: String, region: String, practice: String, jobCode: String, billableRole: String, workers: Int, hours: [String], ratios: [String?]) {
        self.isoWeek = isoWeek
        self.weekStart = weekStart
        self.region = region
        self.practice = practice
        self.jobCode = jobCode
        self.billableRole = billableRole
        self.workers = workers
        self.hours = hours
        self.ratios = ratios
    }

    public static let columns = ["iso_week", "week_start", "region", "practice", "job_code", "billable_role", "workers", "capacity_hours", "absence_hours", "available_hours", "billable_hours", "productive_hours", "strategic_hours", "internal_hours", "training_hours", "bench_hours", "actual_hours", "billable_utilization", "productive_utilization"]

    public var fields: [String?] {
        [isoWeek, weekStart, region, practice, jobCode, billableRole, String(workers)] + hours.map { Optional($0) } + ratios
    }
}

/// Contract §7.4: attribution of each worker to one group per week, capacity from standard hours
/// and validity, posted hours by bucket, ratios half-up to 4 decimals. One ISO week, accumulated a
/// worker at a time: memory holds the groups (region, practice, job, billable role), never the
/// workers, so a week of any workforce streams. Hours are summed as exact hundredths (posted
/// hours have at most two decimals, capacities are rounded to two).
public struct UtilizationWeek {

    struct Group: Hashable { var region, practice, job, billable: String }
    /// Posted hours by bucket, in the order of `TimePostingLoad.buckets` (a bucket is found
    /// among its seven short names, not hashed for every posting).
    struct Sums { var workers = 0; var capacity: Int64 = 0; var buckets = [Int64](repeating: 0, count: TimePostingLoad.buckets.count) }

    /// A number for each group, shared by the weeks accumulated together: a worker added to
    /// every due week (47 on the 1 GB night) is in the same group in each, mostly, and the
    /// group of the last worker added is tried before the hash lookup (comparing four short
    /// names costs less than hashing them; hashing them for every worker and week was a third
    /// of the time utilization took).
    public final class Groups {
        var numbers: [Group: Int] = [:]
        var groups: [Group] = []
        var last: (group: Group, number: Int)?
        /// The last full week's capacity worked out, by the standard hours' bytes: a worker is
        /// added to every due week in turn, mostly with one range over all of them, and rounding
        /// and converting their hours for each week was a third of adding them.
        var lastFullWeek: (hours: DecimalBytes, hundredths: Int64)?

        public init() {}

        /// `roundHalfUp(hours, scale: 2)` in hundredths: a week's capacity from one range over
        /// its working days.
        func fullWeekHundredths(_ hours: Decimal) -> Int64 {
            let bytes = DecimalBytes(hours)
            if let bytes, let last = lastFullWeek, last.hours == bytes { return last.hundredths }
            let n = DecimalText.hundredths(DecimalText.roundHalfUp(hours, scale: 2))
            if let bytes { lastFullWeek = (bytes, n) }
            return n
        }

        func number(of group: Group) -> Int {
            if let last, last.group == group { return last.number }
            let n: Int
            if let known = numbers[group] {
                n = known
            } else {
                n = groups.count
                groups.append(group)
                numbers[group] = n
            }
            last = (group, n)
            return n
        }
    }

    public let week: ISOWeek
    let numbering: Groups
    /// By group number; nil: no worker of the group in this week.
    var sums: [Sums?] = []

    /// `groups`: shared with the other weeks accumulated worker by worker with this one.
    public init(_ week: ISOWeek, groups: Groups = Groups()) {
        self.week = week
        numbering = groups
    }

    /// One worker: every range of theirs, sorted by start, and their posted hours of the week by
    /// bucket, in hundredths.
    public mutating func add(sorted rs: [WorkerRange], postings: [(bucket: String, hundredths: Int64)]) {
        guard let range = Self.attribution(rs, week) else { return }
        // The worker's hours of the week's working days, in hundredths rounded half-up: one range
        // over the whole working week makes the week's hours (five exact fifths), else each day
        // takes a fifth of its own range's.
        let capacity = Self.coversWorkingDays(rs, week) ? numbering.fullWeekHundredths(rs[0].stdHoursWeek) : Self.partWeekHundredths(rs, week)
        let i = numbering.number(of: Group(region: range.region, practice: range.practice, job: range.jobCode, billable: range.billableRole))
        if i >= sums.count { sums += Array(repeating: nil, count: i + 1 - sums.count) }
        if sums[i] == nil { sums[i] = Sums() }
        if capacity > 0 { sums[i]!.workers += 1 }
        sums[i]!.capacity += capacity
        // A bucket of no name the rows read (the mapping admits none) counts nowhere.
        for p in postings {
            if let b = TimePostingLoad.buckets.firstIndex(of: p.bucket) { sums[i]!.buckets[b] += p.hundredths }
        }
    }

    /// Whether the worker has one range, over every working day of the week.
    static func coversWorkingDays(_ rs: [WorkerRange], _ week: ISOWeek) -> Bool {
        rs.count == 1 && rs[0].covers(week.monday) && rs[0].covers(week.monday.adding(days: 4))
    }

    /// The hours of the working days the worker's ranges cover, a fifth of each day's range's
    /// week, in hundredths rounded half-up (a week not covered by one range alone).
    static func partWeekHundredths(_ rs: [WorkerRange], _ week: ISOWeek) -> Int64 {
        var capacity: Decimal = 0
        for offset in 0..<5 {
            let day = week.monday.adding(days: offset)
            if let r = rs.first(where: { $0.covers(day) }) { capacity += r.stdHoursWeek / 5 }
        }
        return DecimalText.hundredths(DecimalText.roundHalfUp(capacity, scale: 2))
    }

    public func rows() -> [UtilizationRow] {
        sums.indices.compactMap { i in sums[i].map { (key: numbering.groups[i], sums: $0) } }.sorted { a, b in
            (a.key.region, a.key.practice, a.key.job, a.key.billable) < (b.key.region, b.key.practice, b.key.job, b.key.billable)
        }.map { key, s in
            func sum(_ bucket: String) -> Int64 { TimePostingLoad.buckets.firstIndex(of: bucket).map { s.buckets[$0] } ?? 0 }
            let absence = sum("absence")
            let available = s.capacity - absence
            let values = TimePostingLoad.countedBuckets.map(sum)
            let actual = values.reduce(0, +)
            func f2(_ n: Int64) -> String { DecimalText.format(hundredths: n) }
            func ratio(_ n: Int64) -> String? { available > 0 ? DecimalText.format(DecimalText.fromHundredths(n) / DecimalText.fromHundredths(available), scale: 4) : nil }
            return UtilizationRow(
                isoWeek: week.label, weekStart: week.monday.iso, region: key.region, practice: key.practice,
                jobCode: key.job, billableRole: key.billable, workers: s.workers,
                hours: [f2(s.capacity), f2(absence), f2(available)] + values.map(f2) + [f2(actual)],
                ratios: [ratio(values[0]), ratio(values[0] + values[1])])
        }
    }

    /// The range valid on Monday; else the first later day of the week covered by a range; else
    /// the range with the latest start on or before Sunday.
    static func attribution(_ ranges: [WorkerRange], _ week: ISOWeek) -> WorkerRange? {
        for offset in 0..<7 {
            if let r = ranges.first(where: { $0.covers(week.monday.adding(days: offset)) }) { return r }
        }
        return ranges.filter { $0.from <= week.sunday }.max { $0.from < $1.from }
    }
}

/// A decimal's 20 bytes, compared as two words and a half: equal bytes are an equal value (an
/// equal value may have other bytes, which only misses a memory of it). Nil where `Decimal` is
/// not 20 bytes.
struct DecimalBytes: Equatable {
    let low: UInt64, middle: UInt64, high: UInt32

    init?(_ d: Decimal) {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        (low, middle, high) = withUnsafeBytes(of: d) { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) }
    }
}
