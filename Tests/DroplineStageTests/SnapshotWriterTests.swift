import DroplineCore
import DroplineLoad
import DroplineTesting
import Foundation
import GRDB
import Testing

struct SnapshotWriterTests {
    func template(_ s: String) -> Template { Template.parse(s)! }

    func projects() throws -> DatabaseQueue {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE projects (code TEXT PRIMARY KEY, name TEXT, customer_id TEXT, engagement_type TEXT, billing_type TEXT, practice TEXT, region TEXT, start_date TEXT, end_date TEXT, currency TEXT, status TEXT, erp_project_number TEXT)")
            try db.execute(sql: """
                INSERT INTO projects VALUES
                ('PRJ-10078', 'Internal data academy', NULL, 'internal', 'non_billable', 'DATA', 'EMEA', '2026-12-01', NULL, 'EUR', 'active', NULL),
                ('PRJ-10042', 'Data platform migration', 'C-0042', 'client', 'time_and_materials', 'DATA', 'EMEA', '2026-01-05', '2026-12-31', 'EUR', 'active', '4000123'),
                ('PRJ-10077', 'Customer analytics pilot', 'C-0107', 'client', 'time_and_materials', 'DATA', 'EMEA', '2026-11-16', '2027-02-26', 'EUR', 'active', NULL)
                """)
        }
        return db
    }

    @Test func xmlSnapshotReproducesTheProjectCreateExample() throws {
        let layout = SnapshotFileLoad.XMLLayout(
            namespace: "urn:example:erp:projects:1", root: "ProjectCreateRequest",
            rootAttributes: [("batchId", template("PC-{company}-{run_date:yyyyMMdd}-{seq:03}")), ("company", template("{company}")), ("createdAt", template("{created_at}"))],
            record: "Project",
            recordAttributes: [("psaCode", template("{code}")), ("name", template("{name}")), ("customerId", template("{customer_id}")), ("engagementType", template("{engagement_type}")), ("billingType", template("{billing_type}")), ("practice", template("{practice}")), ("region", template("{region}")), ("start", template("{start_date}")), ("end", template("{end_date}")), ("currency", template("{currency}"))],
            control: "Control", controlAttributes: [("recordCount", template("{count}"))])
        let load = SnapshotFileLoad(target: "erp", name: template("ERP_PROJECT_CREATE_{company}_{run_date:yyyyMMdd}_{seq:03}.xml"), table: "projects",
                                    filter: [("status", "active"), ("erp_project_number", nil)], orderBy: ["code"], format: .xml(layout), checksum: true, whenEmpty: false)
        let run: (String) -> Value? = { name in
            switch name {
            case "company": .string("1000")
            case "run_date": .date(BusinessDate(iso: "2026-11-28")!)
            case "seq": .integer(1)
            case "created_at": .string("2026-11-28T02:14:07+01:00")
            default: nil
            }
        }
        var text = ""
        let n = try projects().read { db in try SnapshotWriter.write(load, from: db, run: run) { text += $0 } }
        #expect(n == 2)
        let expected = try String(contentsOfFile: TestPaths.examples + "/outbound/ERP_PROJECT_CREATE_1000_20261128_001.xml", encoding: .utf8)
        #expect(text == expected)
        #expect(load.name.render { run($0) ?? .null } == "ERP_PROJECT_CREATE_1000_20261128_001.xml")
    }

    @Test func csvQuotesOnlyWhereNeeded() {
        #expect(SnapshotWriter.csvField("José Müller") == "José Müller")
        #expect(SnapshotWriter.csvField("Smith, Jr.") == "\"Smith, Jr.\"")
        #expect(SnapshotWriter.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(SnapshotWriter.csvField("a\nb") == "\"a\nb\"")
        // CR LF is one Character, equal to neither CR nor LF: found by its bytes.
        #expect(SnapshotWriter.csvField("a\r\nb") == "\"a\r\nb\"")
        #expect(SnapshotWriter.csvField("a\rb") == "\"a\rb\"")
        #expect(SnapshotWriter.escape("a&b<\"c\">\t") == "a&amp;b&lt;&quot;c&quot;&gt;&#9;")
    }
}
