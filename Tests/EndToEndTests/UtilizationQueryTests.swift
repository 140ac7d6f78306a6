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
}
