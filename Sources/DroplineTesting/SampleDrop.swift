import DroplineCore
import Foundation

/// Generated, deterministic drops for tests that need volume.
public enum SampleDrop {
    /// A PSA_TIMESHEETS export for the workers of `samples/night-1`: every week of 2026, one
    /// approved timesheet per worker, two entries per weekday, with correct control totals.
    /// Many entries fall into unknown or closed periods (rejects), November posts.
    public static func timesheets(exportID: String = "PSA-T-GEN-001", businessDate: String = "2026-11-27", weeks: Int = 52) -> String {
        let workers = ["00012345", "00012346", "00012347", "00012348", "00020001", "00020002", "00030001", "00088888"]
        let projects = ["PRJ-10042", "CLD-20011", "PRJ-10077", "INT-00001"]
        let categories = ["billable", "client_nonbillable", "billable", "internal"]
        var body = ""
        var sheets = 0, entries = 0
        var total: Decimal = 0
        let first = BusinessDate(iso: "2026-01-05")!
        for w in 0..<weeks {
            let monday = first.adding(days: 7 * w)
            for (i, worker) in workers.enumerated() {
                sheets += 1
                body += "  <Timesheet id=\"TS-\(zeroPad(1_000_000 + sheets, 7))\" worker=\"\(worker)\" weekStart=\"\(monday.iso)\" status=\"approved\">\n"
                for d in 0..<5 {
                    for k in 0..<2 {
                        entries += 1
                        let p = (i + d + k) % projects.count
                        let hours = k == 0 ? "4.50" : "3.25"
                        total += DecimalText.parse(hours)!
                        body += "    <Entry id=\"TE-\(zeroPad(50_000_000 + entries, 8))\" date=\"\(monday.adding(days: d).iso)\" project=\"\(projects[p])\" hours=\"\(hours)\" category=\"\(categories[p])\"/>\n"
                    }
                }
                body += "  </Timesheet>\n"
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <TimesheetExport xmlns="urn:example:psa:time:2" exportId="\(exportID)" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="\(businessDate)" schemaVersion="2">
            \(body)  <Control timesheetCount="\(sheets)" entryCount="\(entries)" totalHours="\(DecimalText.canonical(total))"/>
            </TimesheetExport>

            """
    }
}
