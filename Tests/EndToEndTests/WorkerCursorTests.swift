@testable import DroplineRuntime
import DroplineCore
import DroplineLoad
import DroplineProfessionalServices
import DroplineTesting
import Foundation
import GRDB
import Testing

/// Worker ranges read through the open cursor are those the per-worker query reads, whatever
/// order workers are asked in: ascending (steps), a few rows on or far on (steps, then a search
/// anew), back (a search anew), repeated, unknown, and pernr texts whose byte order is not their
/// numeric order.
struct WorkerCursorTests {
    @Test func rangesAreThoseOfThePerWorkerQuery() throws {
        let queue = try DatabaseQueue()
        var g = SeededGenerator(seed: 2026_12_01)
        var pernrs: [String] = []
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE workers (pernr TEXT, valid_from TEXT, valid_to TEXT, region TEXT, practice TEXT, job_code TEXT, billable_role TEXT, std_hours_week TEXT, PRIMARY KEY (pernr, valid_from))")
            for i in 0..<300 {
                // Every third worker missing; lengths that sort apart from their numbers.
                guard i % 3 != 1 else { continue }
                let pernr = i % 7 == 0 ? String(i) : String(10_000_000 + i * 3)
                pernrs.append(pernr)
                for r in 0..<Int.random(in: 1...3, using: &g) {
                    try db.execute(sql: "INSERT INTO workers VALUES (?, ?, ?, ?, 'DATA', 'CONS', 'Y', ?)",
                                   arguments: [pernr, "202\(r)-01-01", r == 2 ? "9999-12-31" : "202\(r)-12-31", ["EMEA", "AMER"][r % 2], ["40.00", "37.50"][i % 2]])
                }
            }
        }
        let asked = (0..<400).map { i -> String in String(i) }.sorted() + pernrs.sorted() + pernrs.sorted().reversed()
            + (0..<2000).map { _ in Bool.random(using: &g) ? pernrs.randomElement(using: &g)! : String(Int.random(in: 0..<11_000_000, using: &g)) }
            + stride(from: 0, to: pernrs.count, by: 20).map { pernrs.sorted()[$0] }
        try queue.read { db in
            let cursor = TimePostingStage.WorkerCursor(try RawStatement(db, TimePostingStage.WorkerCursor.sql))
            let direct = try RawStatement(db, "SELECT valid_from, valid_to, region, practice, job_code, billable_role, std_hours_week FROM workers WHERE pernr = ? ORDER BY valid_from")
            var found = 0
            for pernr in asked {
                direct.bind(pernr)
                var expected: [WorkerRange] = []
                while try direct.step() { if let r = TimePostingStage.workerRange(direct, from: 0) { expected.append(r) } }
                direct.reset()
                let ranges = try cursor.ranges(of: pernr)
                #expect(ranges == expected, "\(pernr)")
                if !ranges.isEmpty { found += 1 }
            }
            #expect(found > 1000)
            cursor.close()

            // Asked in order, the statement is stepped in runs of workers, not once per worker
            // (in a dry run each run takes the writer's connection).
            var runs = 0
            for pernr in pernrs.sorted() {
                _ = try cursor.ranges(of: pernr) { step in
                    runs += 1
                    try step()
                }
            }
            #expect(runs <= pernrs.count / TimePostingStage.WorkerCursor.readAhead + 2, "\(runs) runs for \(pernrs.count) workers")
            cursor.close()
        }
    }

    /// A row's dates and weekly hours as the warehouse stores them; a row whose dates or hours
    /// do not parse gives no range (the entry then finds no worker, as with no row at all).
    @Test func aRowReadsAsItsRange() throws {
        let queue = try DatabaseQueue()
        func range(_ from: String?, _ to: String?, _ hours: String?) throws -> WorkerRange? {
            try queue.read { db in
                let s = try RawStatement(db, "SELECT 0, ?, ?, 'EMEA', 'DATA', 'CONS', 'Y', ?")
                s.bind(from, to, hours)
                #expect(try s.step())
                return TimePostingStage.workerRange(s, from: 1)
            }
        }
        let r = try #require(try range("2026-01-05", "9999-12-31", "37.50"))
        #expect(r == WorkerRange(from: BusinessDate(year: 2026, month: 1, day: 5)!, to: BusinessDate(year: 9999, month: 12, day: 31)!, region: "EMEA", practice: "DATA", jobCode: "CONS", billableRole: "Y", stdHoursWeek: Decimal(string: "37.5")!))
        #expect(try range("2026-01-05", "2026-12-31", "40")?.stdHoursWeek == 40)
        // More digits than the byte path takes: read from the text, to the last digit.
        #expect(try range("2026-01-05", "2026-12-31", "40.0000000000000000001")?.stdHoursWeek == Decimal(string: "40.0000000000000000001")!)
        for (from, to, hours) in [("2026-1-05", "2026-12-31", "40"), ("2026-01-05", "2026-12-32", "40"), ("2026-01-05", "2026-12-31", "40,5"),
                                  (nil, "2026-12-31", "40"), ("2026-01-05", nil, "40"), ("2026-01-05", "2026-12-31", nil), ("2026-01-05 ", "2026-12-31", "40")] {
            #expect(try range(from, to, hours) == nil, "\(from ?? "NULL") \(to ?? "NULL") \(hours ?? "NULL")")
        }
    }
}
