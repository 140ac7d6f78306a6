@testable import DroplineRuntime
import DroplineCore
import DroplineTesting
import Foundation
import GRDB
import Testing

/// An entry's rate is the first rate of its role, region and project effective on its date (in
/// the rate table's order), else the first effective rate of its role and region for any
/// project: checked on seeded rate cards against that rule read over the whole table.
struct RateLookupTests {
    @Test func ratesAreTheFirstEffectiveProjectRateElseTheFirstGeneralOne() throws {
        var g = SeededGenerator(seed: 2026_12_01)
        let roles = ["CONS", "SCON"], regions = ["EMEA", "AMER"], projects = ["", "PRJ-1", "PRJ-2", "PRJ-3"]
        for _ in 0..<20 {
            let queue = try DatabaseQueue()
            var table: [(role: String, region: String, project: String, from: Int, to: Int, bill: String)] = []
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE rates (role TEXT, region TEXT, project_key TEXT, valid_from TEXT, valid_to TEXT, bill_rate TEXT, cost_rate TEXT, currency TEXT)")
                for i in 0..<Int.random(in: 1...40, using: &g) {
                    let from = Int.random(in: 0..<300, using: &g), to = from + Int.random(in: 0..<200, using: &g)
                    let row = (roles.randomElement(using: &g)!, regions.randomElement(using: &g)!, projects.randomElement(using: &g)!, from, to, "\(100 + i).00")
                    table.append(row)
                    try db.execute(sql: "INSERT INTO rates VALUES (?, ?, ?, ?, ?, ?, '50.00', 'EUR')",
                                   arguments: [row.0, row.1, row.2.isEmpty ? nil : row.2, BusinessDate(dayNumber: 20_000 + from).iso, BusinessDate(dayNumber: 20_000 + to).iso, row.5])
                }
            }
            let rates = try queue.read { try TimePostingStage.loadRates($0) }
            for role in roles {
                for region in regions {
                    for project in projects {
                        for day in stride(from: 0, to: 520, by: 7) {
                            let effective = table.filter { $0.role == role && $0.region == region && $0.from <= day && day <= $0.to }
                            let expected = effective.first { !project.isEmpty && $0.project == project } ?? effective.first { $0.project.isEmpty }
                            let got = TimePostingStage.rate(rates[role + "\u{1}" + region] ?? TimePostingStage.RoleRates([:]), project: project, on: BusinessDate(dayNumber: 20_000 + day))
                            #expect(got.map { DecimalText.format($0.bill, scale: 2) } == expected?.bill, "\(role) \(region) \(project) day \(day)")
                        }
                    }
                }
            }
        }
    }
}
