import DroplineCore
import DroplineRuntime
import DroplineTesting
import DroplineXML
import Foundation
import GRDB
import Testing

/// Contract §8: two nightly runs over `examples/inbound/` reproduce `examples/outbound/` byte
/// for byte (the clock is fixed to the example's createdAt instants).
@Suite(.serialized)
struct WorkedExampleTests {
    static let run1 = ["HR_WORKERS_HRIS01_20261127_001.xml", "PSA_PROJECTS_PSA01_20261127_001.xml", "ERP_PERIODS_ERP01_20261127_001.xml", "ERP_RATES_ERP01_20261127_001.xml", "PSA_TIMESHEETS_PSA01_20261127_001.xml"]
    static let run2 = ["HR_WORKERS_HRIS01_20261128_001.xml", "ERP_PROJECT_ACK_ERP01_20261128_001.xml", "PSA_TIMESHEETS_PSA01_20261128_001.xml"]

    func expectSame(_ zone: TemporaryDropZone, _ written: String, _ example: String) throws {
        let got = try zone.read(written)
        let want = try Data(contentsOf: URL(fileURLWithPath: TestPaths.examples + "/outbound/" + example))
        #expect(got == want, "\(written) differs from examples/outbound/\(example):\n\(String(decoding: got, as: UTF8.self))")
    }

    func night1(_ zone: TemporaryDropZone) throws -> RunSummary {
        for name in Self.run1 { try zone.drop(TestPaths.examples + "/inbound/" + name) }
        return try zone.run(asOf: "2026-11-28", at: "2026-11-28T01:14:07Z")
    }

    @Test func runOneProducesTheExamplePostingsAndRequests() throws {
        let zone = try TemporaryDropZone()
        let summary = try night1(zone)
        let ts = try #require(summary.files.first { $0.pipeline == "time_entries" })
        #expect(ts.records == ["loaded": 5, "held": 1, "rejected": 1, "skipped": 1])
        #expect(ts.reasons == ["no_erp_project_number": 1, "date_outside_week": 1])
        try expectSame(zone, "outbound/erp/ERP_LABOR_1000_20261128_001.xml", "ERP_LABOR_1000_20261128_001.xml")
        try expectSame(zone, "outbound/erp/ERP_LABOR_1000_20261128_001.xml.sha256", "ERP_LABOR_1000_20261128_001.xml.sha256")
        try expectSame(zone, "outbound/erp/ERP_PROJECT_CREATE_1000_20261128_001.xml", "ERP_PROJECT_CREATE_1000_20261128_001.xml")
        try expectSame(zone, "outbound/erp/ERP_PROJECT_CREATE_1000_20261128_001.xml.sha256", "ERP_PROJECT_CREATE_1000_20261128_001.xml.sha256")
        try expectSame(zone, "outbound/psa/PSA_RESOURCES_20261127_001.csv", "PSA_RESOURCES_20261127_001.csv")
        #expect(FileManager.default.fileExists(atPath: zone.root + "/outbound/erp/ERP_LABOR_1000_20261128_001.xml.done"))
        // Utilization after run 1 (contract §8.2).
        let csv = String(decoding: try zone.read("outbound/analytics/UTILIZATION_FACTS_2026-W48.csv"), as: UTF8.self)
        #expect(csv.contains("2026-W48,2026-11-23,EMEA,DATA,CONS,Y,1,19.20,0.00,19.20,14.50,0.00,0.00,0.00,0.00,0.00,14.50,0.7552,0.7552\n"))
        #expect(csv.contains("2026-W48,2026-11-23,EMEA,DATA,SCON,Y,1,40.00,0.00,40.00,15.25,4.00,0.00,0.00,0.00,0.00,19.25,0.3813,0.4813\n"))
        // TE-00000004: primary date_outside_week, all reasons in order.
        let rejects = try #require(zone.files(in: "rejected").first { $0.hasSuffix("PSA_TIMESHEETS_PSA01_20261127_001.xml.rejects.jsonl") })
        let line = try String(contentsOfFile: zone.root + "/rejected/" + rejects, encoding: .utf8)
        #expect(line.contains("\"key\":\"TE-00000004\""))
        #expect(line.contains("\"primary_reason\":\"date_outside_week\""))
        #expect(line.range(of: "date_outside_week")!.lowerBound < line.range(of: "unmapped_category")!.lowerBound)
    }

    @Test func runTwoCorrectsReleasesAndReproducesUtilization() throws {
        let zone = try TemporaryDropZone()
        _ = try night1(zone)
        for name in Self.run2 { try zone.drop(TestPaths.examples + "/inbound/" + name, marker: name != "PSA_TIMESHEETS_PSA01_20261128_001.xml") }
        let summary = try zone.run(asOf: "2026-11-29", at: "2026-11-29T01:13:52Z")
        let ts = try #require(summary.files.first { $0.pipeline == "time_entries" })
        #expect(ts.records == ["loaded": 2, "held": 0, "rejected": 0, "skipped": 2])
        #expect(ts.superseded == 1)
        try expectSame(zone, "outbound/erp/ERP_LABOR_1000_20261129_001.xml", "ERP_LABOR_1000_20261129_001.xml")
        try expectSame(zone, "outbound/erp/ERP_LABOR_1000_20261129_001.xml.sha256", "ERP_LABOR_1000_20261129_001.xml.sha256")
        try expectSame(zone, "outbound/psa/PSA_RESOURCES_20261128_001.csv", "PSA_RESOURCES_20261128_001.csv")
        try expectSame(zone, "outbound/analytics/UTILIZATION_FACTS_2026-W48.csv", "UTILIZATION_FACTS_2026-W48.csv")
        // What Dropline wrote is valid against the interface schemas (the repo's own copies).
        for (file, xsd) in [("outbound/erp/ERP_LABOR_1000_20261128_001.xml", "erp-labor-postings.xsd"), ("outbound/erp/ERP_LABOR_1000_20261129_001.xml", "erp-labor-postings.xsd"), ("outbound/erp/ERP_PROJECT_CREATE_1000_20261128_001.xml", "erp-project-create.xsd")] {
            #expect(try XMLSchema(path: TestPaths.pipelines + "/schemas/" + xsd).validate(file: zone.root + "/" + file) == [], "\(file)")
        }
        // No new project request: PRJ-10078 failed and did not change; PRJ-10077 got its number.
        #expect(!FileManager.default.fileExists(atPath: zone.root + "/outbound/erp/ERP_PROJECT_CREATE_1000_20261129_001.xml"))
        let rows = try DatabaseQueue(path: zone.root + "/warehouse.sqlite").read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM utilization_weekly ORDER BY job_code")
        }
        #expect(rows.count == 2)
        #expect(rows.last?["billable_utilization"] as String? == "0.5375")
        // A third run with the same exports again changes nothing.
        let again = try zone.run(asOf: "2026-11-30", at: "2026-11-30T01:00:00Z")
        #expect(again.outputs.isEmpty)
    }
}
