@testable import DroplineCore
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

    /// Values of every storage class, written from the row as `Row` gave them before: text and
    /// integers as they are, a real as Swift prints it, NULL and blobs as nothing (an XML
    /// attribute that is one such field left out), run values and formats through the template.
    @Test func rowsAreWrittenFromTheirStoredValues() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER, Name TEXT, amount REAL, data BLOB, day TEXT)")
            try db.execute(sql: "INSERT INTO t VALUES (1, 'Smith, Jr. \"Bob\"', 1.5, NULL, '2026-11-30'), (2, 'a&b<c>\td\ne\rf', NULL, x'00ff', NULL), (-3, NULL, 2.0, NULL, '2026-12-01'), (4, 'José\r\nMüller', NULL, NULL, 'not a date')")
        }
        let run: (String) -> Value? = { $0 == "company" ? .string("1000") : nil }
        let csv = SnapshotFileLoad(target: "x", name: template("T.csv"), table: "t", filter: [], orderBy: ["id"],
                                   format: .csv(columns: ["id", "name,x", "both", "amount", "data", "day", "none", "company"].enumerated().map { i, h in
                                       SnapshotFileLoad.CSVColumn(header: h, source: template(["{ID}", "{name}", "{id}-{name}", "{amount}", "{data}", "{day:yyyyMMdd}", "{nothing}", "{company}"][i]))
                                   }), checksum: false, whenEmpty: true)
        var text = ""
        #expect(try db.read { db in try SnapshotWriter.write(csv, from: db, run: run) { text += $0 } } == 4)
        #expect(text == """
            id,"name,x",both,amount,data,day,none,company
            -3,,-3-,2.0,,20261201,,1000
            1,"Smith, Jr. ""Bob""\",\"1-Smith, Jr. ""Bob""\",1.5,,20261130,,1000
            2,"a&b<c>\td\ne\rf","2-a&b<c>\td\ne\rf",,,,,1000
            4,"José\r\nMüller","4-José\r\nMüller",,,not a date,,1000

            """)
        let xml = SnapshotFileLoad(target: "x", name: template("T.xml"), table: "t", filter: [("day", nil)], orderBy: [],
                                   format: .xml(.init(namespace: nil, root: "R", rootAttributes: [], record: "Row",
                                                      recordAttributes: [("id", template("{id}")), ("name", template("{name}")), ("amount", template("{amount}")), ("data", template("{data}")), ("both", template("{data}/{name}"))],
                                                      control: "C", controlAttributes: [("n", template("{count}"))])),
                                   checksum: false, whenEmpty: true)
        text = ""
        #expect(try db.read { db in try SnapshotWriter.write(xml, from: db, run: run) { text += $0 } } == 1)
        #expect(text == """
            <?xml version="1.0" encoding="UTF-8"?>
            <R>
              <Row id="2" name="a&amp;b&lt;c&gt;&#9;d&#10;e&#13;f" both="/a&amp;b&lt;c&gt;&#9;d&#10;e&#13;f"/>
              <C n="1"/>
            </R>

            """)
        #expect(try db.read { db in try SnapshotWriter.isEmpty(xml, in: db) } == false)
        let none = SnapshotFileLoad(target: "x", name: template("T.xml"), table: "t", filter: [("day", "2026-01-01")], orderBy: [], format: xml.format, checksum: false, whenEmpty: false)
        #expect(try db.read { db in try SnapshotWriter.isEmpty(none, in: db) } == true)
    }

    /// A large snapshot reaches the sink in several pieces, each ending with a whole line.
    @Test func aLargeSnapshotIsHandedOnInWholeLines() throws {
        let db = try DatabaseQueue()
        let rows = 5000
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            for i in 1...rows { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [i, "worker number \(i) of the night, Ünïcode"]) }
        }
        let csv = SnapshotFileLoad(target: "x", name: template("T.csv"), table: "t", filter: [], orderBy: ["id"],
                                   format: .csv(columns: [.init(header: "id", source: template("{id}")), .init(header: "name", source: template("{name}"))]), checksum: false, whenEmpty: true)
        var pieces: [String] = []
        #expect(try db.read { db in try SnapshotWriter.write(csv, from: db, run: { _ in nil }) { pieces.append($0) } } == rows)
        #expect(pieces.count > 2)
        #expect(pieces.allSatisfy { $0.hasSuffix("\n") })
        let expected = "id,name\n" + (1...rows).map { "\($0),\"worker number \($0) of the night, Ünïcode\"\n" }.joined()
        #expect(pieces.joined() == expected)
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
