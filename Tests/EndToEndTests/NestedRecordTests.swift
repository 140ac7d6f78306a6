import DroplineCore
import DroplineExtract
import DroplineTesting
import Foundation
import Testing

/// Fields of a nested record read from its ancestor (`../@worker`) are cast once per ancestor
/// element and shared by the records inside it: each record must still see its own ancestor's
/// values and faults.
struct NestedRecordTests {
    @Test func entriesTakeTheirOwnTimesheetsAttributesAndFaults() throws {
        let scratch = try TemporaryDropZone()
        func sheet(_ id: Int, worker: String, week: String, entries: Int) -> String {
            "  <Timesheet id=\"TS-\(id)\" worker=\"\(worker)\" weekStart=\"\(week)\" status=\"approved\">\n"
                + (0..<entries).map { "    <Entry id=\"TE-\(id)-\($0)\" date=\"2026-11-24\" project=\"PRJ-10042\" hours=\"1.00\" category=\"billable\"/>\n" }.joined()
                + "  </Timesheet>\n"
        }
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="X-1" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">
            \(sheet(1, worker: "00012345", week: "2026-11-23", entries: 2))\(sheet(2, worker: "00077777", week: "2026-11-32", entries: 2))\(sheet(3, worker: "00012345", week: "2026-11-23", entries: 1))\(sheet(4, worker: "00012346", week: "2026-11-16", entries: 1))  <Control timesheetCount="4" entryCount="6" totalHours="6.00"/>
            </TimesheetExport>

            """
        let path = scratch.zone.root + "/PSA_TIMESHEETS_PSA01_20261127_001.xml"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        let d = try PipelineLoader().load(file: TestPaths.pipelines + "/time_entries.yaml")
        var seen: [String] = []
        _ = try XMLRecordExtractor(definition: d.extract, schema: nil).run(path: path, header: { _ in }, record: { r in
            guard r.type == "entry" else { return }
            seen.append("\(r["entry_id"].text ?? "-") \(r["timesheet_id"].text ?? "-") \(r["worker"].text ?? "-") \(r["week_start"].date?.iso ?? "-") \(r.issues.map { "\($0.code.rawValue):\($0.field ?? "")" })")
        })
        #expect(seen == [
            "TE-1-0 TS-1 00012345 2026-11-23 []",
            "TE-1-1 TS-1 00012345 2026-11-23 []",
            "TE-2-0 TS-2 00077777 - [\"invalid_field:week_start\"]",
            "TE-2-1 TS-2 00077777 - [\"invalid_field:week_start\"]",
            "TE-3-0 TS-3 00012345 2026-11-23 []",
            "TE-4-0 TS-4 00012346 2026-11-16 []",
        ])
    }
}
