import DroplineCore
@testable import DroplineProfessionalServices
@testable import DroplineRuntime
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Utilization reads the workers once for every week a run touched: each week's rows are what
/// that week alone gives, and what the run stored.
struct UtilizationQueryTests {
    @Test func allWeeksInOnePassGiveEachWeeksOwnRows() throws {
        let dir = NSTemporaryDirectory() + "dropline-utilization-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let generated = try runProcess("/usr/bin/env", ["python3", TestPaths.repository + "/bench/generate.py", dir, "0.3"])
        #expect(generated.exitCode == 0, "\(generated.stderr)")
        let zone = try TemporaryDropZone()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".xml") { try zone.drop(dir + "/" + name) }
        let summary = try zone.run(asOf: "2026-11-28")
        #expect(summary.files.allSatisfy { $0.outcome == "loaded" })
        let db = try DatabaseQueue(path: zone.root + "/warehouse.sqlite")
        let weeks = try db.read { try String.fetchAll($0, sql: "SELECT DISTINCT week_start FROM utilization_weekly ORDER BY week_start") }
            .compactMap { BusinessDate(iso: $0) }.map { ISOWeek(containing: $0) }
        #expect(weeks.count >= 5)
        // A week nobody worked in has capacity rows only.
        let empty = ISOWeek(containing: BusinessDate(iso: "2026-11-23")!)
        let all = try db.read { try UtilizationQuery.rows($0, weeks: weeks + [empty]) }
        for (i, week) in weeks.enumerated() {
            let alone = try db.read { try UtilizationQuery.rows($0, week: week) }
            #expect(all[i] == alone, "\(week.label)")
            let stored = try db.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM utilization_weekly WHERE iso_week = ? ORDER BY region, practice, job_code, billable_role", arguments: [week.label])
                    .map { row in UtilizationRow.columns.map { c in c == "workers" ? (row[c] as Int?).map(String.init) : row[c] as String? } }
            }
            #expect(all[i].map { $0.fields } == stored, "\(week.label)")
        }
        let idle = try #require(all.last)
        #expect(!idle.isEmpty && idle.allSatisfy { $0.hours[9] == "0.00" && $0.hours[3] == "0.00" })
    }

    /// Weeks accumulated together share their groups' numbers, not their groups: a group with a
    /// worker in one week only is in that week's rows only, and each week's rows are those it
    /// gives accumulated alone, with hours of every bucket (an unknown one counting nowhere).
    @Test func weeksSharingGroupNumbersKeepTheirOwnGroups() throws {
        let w1 = ISOWeek(containing: BusinessDate(iso: "2026-11-02")!), w2 = ISOWeek(containing: BusinessDate(iso: "2026-11-09")!)
        func range(_ from: String, _ to: String, _ region: String, _ practice: String, _ hours: Decimal = 40) -> WorkerRange {
            WorkerRange(from: BusinessDate(iso: from)!, to: BusinessDate(iso: to)!, region: region, practice: practice, jobCode: "CONS", billableRole: "Y", stdHoursWeek: hours)
        }
        // Each worker's ranges, and their postings in each week.
        let workers: [([WorkerRange], [[(bucket: String, hundredths: Int64)]])] = [
            ([range("2025-01-01", "2026-11-06", "EMEA", "DATA")], [[("billable", 3_200), ("absence", 800)], []]),
            ([range("2025-01-01", "9999-12-31", "AMER", "CLOUD")], [[("internal", 400)], [("billable", 4_000), ("bench", 50), ("nonsense", 99)]]),
            ([range("2026-11-09", "9999-12-31", "APAC", "SEC", 37.5)], [[], [("training", 750), ("strategic", 125), ("productive", 300)]]),
            ([range("2025-01-01", "9999-12-31", "EMEA", "DATA")], [[("billable", 100)], [("billable", 200)]]),
        ]
        let groups = UtilizationWeek.Groups()
        var together = [UtilizationWeek(w1, groups: groups), UtilizationWeek(w2, groups: groups)]
        var alone = [UtilizationWeek(w1), UtilizationWeek(w2)]
        for (ranges, postings) in workers {
            for i in 0..<2 {
                guard ranges.contains(where: { $0.from <= together[i].week.sunday && $0.to >= together[i].week.monday }) || !postings[i].isEmpty else { continue }
                together[i].add(sorted: ranges, postings: postings[i])
                alone[i].add(sorted: ranges, postings: postings[i])
            }
        }
        #expect(together[0].rows() == alone[0].rows())
        #expect(together[1].rows() == alone[1].rows())
        #expect(together[0].rows().map(\.region) == ["AMER", "EMEA"])
        #expect(together[1].rows().map(\.region) == ["AMER", "APAC", "EMEA"])
        // AMER in week 2: capacity, absence, available, billable, productive, strategic,
        // internal, training, bench, actual.
        let amer = try #require(together[1].rows().first)
        #expect(amer.hours == ["40.00", "0.00", "40.00", "40.00", "0.00", "0.00", "0.00", "0.00", "0.50", "40.50"])
        let emea = try #require(together[0].rows().last)
        #expect(emea.workers == 2 && emea.hours[0] == "80.00" && emea.hours[1] == "8.00" && emea.hours[3] == "33.00")
        let apac = try #require(together[1].rows().dropFirst().first)
        #expect(apac.hours[0] == "37.50" && apac.hours[4...7] == ["3.00", "1.25", "0.00", "7.50"])
    }

    /// A full week's capacity is the standard hours rounded half-up to hundredths for each worker,
    /// though the weeks accumulated together remember the last one worked out
    /// (`Groups.fullWeekHundredths`): hours that differ in the third decimal, equal hours
    /// written two ways, and a worker with two ranges in the week, one after another in two weeks.
    @Test func rememberedFullWeekCapacityIsEachWorkersOwn() throws {
        let w1 = ISOWeek(containing: BusinessDate(iso: "2026-11-02")!), w2 = ISOWeek(containing: BusinessDate(iso: "2026-11-09")!)
        let hours: [Decimal] = [40, Decimal(string: "40.00")!, Decimal(string: "37.505")!, Decimal(string: "37.504")!, 40, Decimal(string: "0.004")!, 20, Decimal(string: "37.505")!]
        let groups = UtilizationWeek.Groups()
        var weeks = [UtilizationWeek(w1, groups: groups), UtilizationWeek(w2, groups: groups)]
        for (n, h) in hours.enumerated() {
            // Each worker a group of its own; the last one's range ends on Wednesday of week 2.
            let to = n == hours.count - 1 ? "2026-11-11" : "9999-12-31"
            let r = WorkerRange(from: BusinessDate(iso: "2025-01-01")!, to: BusinessDate(iso: to)!, region: "R\(n)", practice: "P", jobCode: "J", billableRole: "Y", stdHoursWeek: h)
            for i in 0..<2 { weeks[i].add(sorted: [r], postings: []) }
        }
        let expected = hours.map { DecimalText.format(DecimalText.roundHalfUp($0, scale: 2), scale: 2) }
        #expect(weeks[0].rows().map { $0.hours[0] } == expected)
        // Week 2: the last worker works Monday to Wednesday, three fifths of 37.505.
        #expect(weeks[1].rows().map { $0.hours[0] } == Array(expected.dropLast()) + ["22.50"])
        #expect(expected == ["40.00", "40.00", "37.51", "37.50", "40.00", "0.00", "20.00", "37.51"])
    }
}
